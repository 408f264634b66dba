package main

// The protocol a row is measured over (-proto). The same transports run
// over plain HTTP/1.1 (h1, what the transports are taught on), HTTP/1.1
// inside TLS (h1tls), HTTP/2 inside TLS (h2: polls, long polls and SSE
// are streams of one HTTP/2 connection per subscriber; the WebSocket
// stays on HTTP/1.1 inside TLS, wss://), and cleartext HTTP/2 with prior
// knowledge (h2c; the WebSocket stays on plain HTTP/1.1). Each subscriber
// still has a connection of its own, so the bytes on its socket are its
// own: under TLS they include the TLS records' headers and tags.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// knownProtos are the names -proto takes.
var knownProtos = []string{"h1", "h1tls", "h2", "h2c"}

// protoTitle says what a protocol name means, for the legend.
func protoTitle(p string) string {
	switch p {
	case "h1":
		return "HTTP/1.1, cleartext"
	case "h1tls":
		return "HTTP/1.1 over TLS (HTTP/2 not offered)"
	case "h2":
		return "HTTP/2 over TLS for polls, long polls and SSE; WebSocket on HTTP/1.1 over TLS"
	case "h2c":
		return "cleartext HTTP/2, prior knowledge, for polls, long polls and SSE; WebSocket on plain HTTP/1.1"
	}
	return ""
}

// checkProto accepts a -proto name.
func checkProto(p string) error {
	if !contains(knownProtos, p) {
		return fmt.Errorf("-proto: %q is not one of %s", p, strings.Join(knownProtos, ", "))
	}
	return nil
}

// http2Proto reports whether polls and SSE run over HTTP/2 under p.
func http2Proto(p string) bool { return p == "h2" || p == "h2c" }

// protoTLS reports whether a protocol runs inside TLS.
func protoTLS(p string) bool { return p == "h1tls" || p == "h2" }

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
	if resp.TLS == nil && protoTLS(proto) {
		got += " without TLS"
	}
	return permanentError{fmt.Errorf("%s: asked for %s (%s) but the answer came over %s: the bench does not measure a fallback", what, proto, wantHTTPProto(proto), got)}
}

// refusedProto makes a TLS handshake that found no protocol in common
// (an h2 client, which offers HTTP/2 alone, and a server without it) a
// permanent error that says so; any other error is returned as it is.
func refusedProto(proto string, err error) error {
	if protoTLS(proto) && strings.Contains(err.Error(), "no application protocol") {
		return permanentError{fmt.Errorf("asked for %s but the server's TLS offers no protocol the client does (ALPN; under h2 the client offers HTTP/2 alone): %w", proto, err)}
	}
	return err
}

// checkResponseProto says whether resp came over the protocol asked for.
func checkResponseProto(what, proto string, resp *http.Response) error {
	if proto == "" {
		return nil // a report from before -proto; plain HTTP/1.1
	}
	if resp.Proto != wantHTTPProto(proto) || (resp.TLS != nil) != protoTLS(proto) {
		return protoError(what, proto, resp)
	}
	return nil
}

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

// publisherClient is how the publisher and the bench's own requests
// (/api/config) reach the server: HTTP/1.1, inside TLS when the row's
// protocol has it. The publisher's requests are the same under every
// protocol, so a change in the server's CPU per delivery is the
// subscribers'.
func publisherClient(p string, conns int) *http.Client {
	pp := "h1"
	if protoTLS(p) {
		pp = "h1tls"
	}
	t := httpTransport(pp, nil, 0)
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: t}
}

// schemeFor is the URL scheme of a server speaking p.
func schemeFor(p string) string {
	if protoTLS(p) {
		return "https"
	}
	return "http"
}

var errNoProto = errors.New("-proto needs at least one value")

// wsDialer is a subscriber's WebSocket dialer: through its counting dial,
// inside TLS (wss://, HTTP/1.1: no ALPN offered) when the row has TLS.
// gorilla/websocket runs the TLS handshake over the counting connection,
// so its records count as an HTTP client's do.
func wsDialer(s *sub, subprotocols ...string) websocket.Dialer {
	d := websocket.Dialer{NetDialContext: s.w.dial, HandshakeTimeout: 10 * time.Second, Subprotocols: subprotocols}
	if protoTLS(s.proto) {
		d.TLSClientConfig = insecureLoopbackTLS()
	}
	return d
}

// checkWSProto says whether an upgraded WebSocket came over what the row
// asks: HTTP/1.1 always, inside TLS under h1tls and h2.
func checkWSProto(s *sub, conn *websocket.Conn, resp *http.Response) error {
	if s.proto == "" {
		return nil
	}
	_, isTLS := conn.NetConn().(*tls.Conn)
	if resp.Proto != "HTTP/1.1" || isTLS != protoTLS(s.proto) {
		got := resp.Proto
		if isTLS {
			got += " over TLS"
		}
		return permanentError{fmt.Errorf("ws: asked for %s (the WebSocket on HTTP/1.1%s) but it came over %s: the bench does not measure a fallback",
			s.proto, map[bool]string{true: " over TLS", false: ""}[protoTLS(s.proto)], got)}
	}
	s.negotiated = negotiated(resp.Proto, isTLS)
	return nil
}

// negotiated names what an answer came over: "HTTP/2.0 over TLS".
func negotiated(proto string, isTLS bool) string {
	if isTLS {
		return proto + " over TLS"
	}
	return proto
}

// protoLegend says what the rows' protocols are, that bytes under TLS are
// TLS records, and, for the poll and long-poll rows, what one poller's
// first request wrote against its hundredth (HPACK at work over HTTP/2).
func protoLegend(results []Result) []string {
	var out, seen []string
	tls := false
	for _, r := range results {
		if r.Proto != "" && !contains(seen, r.Proto) {
			seen = append(seen, r.Proto)
			out = append(out, fmt.Sprintf("[%s]: %s", r.Proto, protoTitle(r.Proto)))
		}
		tls = tls || protoTLS(r.Proto)
	}
	out = append(out, directProtoLegend(results)...)
	if tls {
		out = append(out, "under TLS (h1tls, h2) the bytes are counted on the socket below TLS: each record's header and tag (5 + 16 bytes, plus 1 under TLS 1.3) are in the overhead, and the TLS handshake in the handshake bytes")
	}
	for _, r := range results {
		if r.Wire.ReqHeaderN > 0 {
			out = append(out, fmt.Sprintf("%s %s request headers, one subscriber: request 1 wrote %d B, request %d wrote %d B", r.Target, r.label(), r.Wire.ReqHeaderFirst, r.Wire.ReqHeaderN, r.Wire.ReqHeaderLater))
		}
	}
	return out
}
