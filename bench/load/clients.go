package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"fourway/bench/plan"
)

// The protocol a row is measured over (-proto). The same transports run
// over plain HTTP/1.1 (h1, what the transports are taught on), HTTP/1.1
// inside TLS (h1tls), HTTP/2 inside TLS (h2: polls, long polls and SSE
// are streams of one HTTP/2 connection per subscriber; the WebSocket
// stays on HTTP/1.1 inside TLS, wss://), and cleartext HTTP/2 with prior
// knowledge (h2c; the WebSocket stays on plain HTTP/1.1). Each subscriber
// still has a connection of its own, so the bytes on its socket are its
// own: under TLS they include the TLS records' headers and tags.

// insecureLoopbackTLS is the subscribers' TLS configuration. The bench's
// servers (the fourway child, nginx) use a self-signed certificate made
// for the run, on loopback only; the bench does not verify it, because
// it is measuring the protocol, not a chain of trust.
func insecureLoopbackTLS(nextProtos ...string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: nextProtos} //nolint:gosec // loopback, the bench's own certificate
}

// dialFunc is an http.Transport's DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// httpTransport is an http.Transport for protocol p, dialing through dial
// (nil for the default). maxConns bounds its connections per host (0: no
// bound). Under h2 and h2c the only protocol offered is HTTP/2: a server
// that does not speak it fails the request instead of answering over
// HTTP/1.1.
func httpTransport(p string, dial dialFunc, maxConns int) *http.Transport {
	t := &http.Transport{
		DialContext:         dial,
		MaxIdleConnsPerHost: max(maxConns, 2),
		MaxConnsPerHost:     maxConns,
		DisableCompression:  true,
		IdleConnTimeout:     5 * time.Minute,
		Protocols:           new(http.Protocols),
	}
	switch p {
	case "h1tls":
		t.TLSClientConfig = insecureLoopbackTLS("http/1.1")
		t.Protocols.SetHTTP1(true)
	case "h2":
		t.TLSClientConfig = insecureLoopbackTLS()
		t.Protocols.SetHTTP2(true)
	case "h2c":
		t.Protocols.SetUnencryptedHTTP2(true)
	default:
		t.Protocols.SetHTTP1(true)
	}
	return t
}

// PublisherClient is how the publisher and the bench's own requests
// (/api/config) reach the server: HTTP/1.1, inside TLS when the row's
// protocol has it. The publisher's requests are the same under every
// protocol, so a change in the server's CPU per delivery is the
// subscribers'.
func PublisherClient(p string, conns int) *http.Client {
	pp := "h1"
	if plan.ProtoTLS(p) {
		pp = "h1tls"
	}
	t := httpTransport(pp, nil, 0)
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: t}
}

// negotiated names what an answer came over: "HTTP/2.0 over TLS".
func negotiated(proto string, isTLS bool) string {
	if isTLS {
		return proto + " over TLS"
	}
	return proto
}

// http2Proto reports whether polls and SSE run over HTTP/2 under p.
func http2Proto(p string) bool { return p == "h2" || p == "h2c" }

// wantHTTPProto is the resp.Proto an HTTP request (poll, long poll, SSE)
// must come back with over p. A WebSocket is HTTP/1.1 under every p.
func wantHTTPProto(p string) string {
	if http2Proto(p) {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
}

// protoError is an answer over another protocol than the row is named
// after. It is permanent: the bench never measures a fallback quietly.
func protoError(what, proto string, resp *http.Response) error {
	got := resp.Proto
	if resp.TLS == nil && plan.ProtoTLS(proto) {
		got += " without TLS"
	}
	return permanentError{fmt.Errorf("%s: asked for %s (%s) but the answer came over %s: the bench does not measure a fallback", what, proto, wantHTTPProto(proto), got)}
}

// refusedProto makes a TLS handshake that found no protocol in common
// (an h2 client, which offers HTTP/2 alone, and a server without it) a
// permanent error that says so; any other error is returned as it is.
func refusedProto(proto string, err error) error {
	if plan.ProtoTLS(proto) && strings.Contains(err.Error(), "no application protocol") {
		return permanentError{fmt.Errorf("asked for %s but the server's TLS offers no protocol the client does (ALPN; under h2 the client offers HTTP/2 alone): %w", proto, err)}
	}
	return err
}

// checkResponseProto says whether resp came over the protocol asked for.
func checkResponseProto(what, proto string, resp *http.Response) error {
	if proto == "" {
		return nil // a report from before -proto; plain HTTP/1.1
	}
	if resp.Proto != wantHTTPProto(proto) || (resp.TLS != nil) != plan.ProtoTLS(proto) {
		return protoError(what, proto, resp)
	}
	return nil
}

// the contract's largest page

// permanentError is an answer that asking again cannot change: a page that
// does not decode, or a request the server refuses as malformed. The
// subscriber stops and says why, instead of repeating the same request for
// the rest of the run.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }

func (e permanentError) Unwrap() error { return e.err }

// isPermanent reports whether err is an answer asking again cannot change.
func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// statusError is a non-200 answer: a 4xx (but a timeout or a "too many")
// is the same for the same request, so it is permanent; a 5xx (at the
// connection limit, shutting down) is worth asking again.
func statusError(what, status string, code int, body []byte) error {
	err := fmt.Errorf("%s: %s: %s", what, status, bytes.TrimSpace(body))
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return permanentError{err}
	}
	return err
}

// BrowserHeaders are what a desktop browser sends with a same-origin fetch,
// less cookies: the setting of the 2010 article's 871 bytes.
func BrowserHeaders() http.Header {
	h := http.Header{}
	h.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-US,en;q=0.9")
	h.Set("Referer", "http://127.0.0.1/")
	h.Set("Sec-Ch-Ua", `"Chromium";v="131", "Not_A Brand";v="24"`)
	h.Set("Sec-Ch-Ua-Mobile", "?0")
	h.Set("Sec-Ch-Ua-Platform", `"Linux"`)
	h.Set("Sec-Fetch-Dest", "empty")
	h.Set("Sec-Fetch-Mode", "cors")
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	return h
}
