package transports_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// h2Spec names the contract's tests of polls, long polls, SSE and
// WebSocket, and the ones that hold all transports to the same promise.
const h2Spec = `^(TestPoll.*|TestLongPoll.*|TestSSE.*|TestWS.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|` +
	`TestCursorZeroIsToldWhatWasMissed|TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestDropThenResumeLosesNothing|TestThePassSpeaksItsProtocol)$`

// TestContractOverHTTP2AndTLS runs the contract a second time with every
// server on HTTPS: polls, long polls and SSE over HTTP/2, WebSockets over
// HTTP/1.1 with TLS (wss://), in a second run of this test binary. Tests
// that speak HTTP/1.1 on a raw socket skip there, saying so.
func TestContractOverHTTP2AndTLS(t *testing.T) {
	secondPass(t, "over HTTP/2 and TLS", transportstest.ProtoEnv+"=h2", h2Spec, 45)
}

// secondPass runs the tests of spec again in a second run of this test
// binary, with env set, and fails unless all pass and at least atLeast
// ran (a pattern that stopped matching would pass vacuously). A pass does
// not start passes of its own.
func secondPass(t *testing.T, what, env, spec string, atLeast int) {
	if transportstest.OverTLS() || os.Getenv(transportstest.SSEWriterEnv) != "" || transportstest.Compressing() {
		t.Skip("this is a second pass itself")
	}
	if testing.Short() {
		t.Skip("-short: the pass " + what + " is skipped")
	}
	cmd := exec.Command(os.Args[0], "-test.run", spec, "-test.count=1", "-test.v", "-test.timeout=8m")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests failed %s: %v\n%s", what, err, out)
	}
	passed := len(regexp.MustCompile(`(?m)^--- PASS: Test`).FindAll(out, -1))
	if passed < atLeast {
		t.Fatalf("only %d tests passed %s, want at least %d:\n%s", passed, what, atLeast, out)
	}
	t.Logf("%d tests passed %s", passed, what)
}

// TestThePassSpeaksItsProtocol checks that a pass runs on the protocol it
// means to: HTTP/2 for a poll and an SSE stream over TLS, HTTP/1.1 without.
func TestThePassSpeaksItsProtocol(t *testing.T) {
	ts := transportstest.Start(t, nil)
	want := "HTTP/1.1"
	if transportstest.OverTLS() {
		want = "HTTP/2.0"
	}
	_, _, poll := ts.Get(t, "/api/poll")
	sse, err := http.Get(ts.URL + "/api/sse")
	if err != nil {
		t.Fatal(err)
	}
	sse.Body.Close()
	if poll.Proto != want || sse.Proto != want {
		t.Fatalf("a poll was answered over %s and an SSE stream over %s, want %s", poll.Proto, sse.Proto, want)
	}
}

// TestCuttingAnHTTP2StreamLeavesTheOthers: under HTTP/2 a browser's polls,
// streams and page requests share one connection, so /api/drop must end
// the one stream it cuts (a reset), not the socket: the drop's own answer,
// a long poll held on the same connection, and new requests all go on.
func TestCuttingAnHTTP2StreamLeavesTheOthers(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	ts := transportstest.Start(t, func(c *transports.Config) { c.TLS = cert })
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true, MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), transportstest.Wait)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/sse", nil)
	sse, err := client.Do(req)
	if err != nil || sse.Proto != "HTTP/2.0" {
		t.Fatalf("SSE over %v: %v", sse, err)
	}
	defer sse.Body.Close()
	events := bufio.NewReader(sse.Body)
	if _, err := events.ReadString('\n'); err != nil { // the hello has begun: the stream is up
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/longpoll?timeout=30", nil)
		resp, err := client.Do(req)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && !strings.Contains(string(b), `"id":1`) {
				err = io.ErrUnexpectedEOF
			}
		}
		held <- err
	}()
	transportstest.Await(t, "the long poll to wait", func() bool { return ts.Stats(t).Transports["longpoll"].Clients == 1 })

	req, _ = http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/drop?transport=sse", nil)
	drop, err := client.Do(req)
	if err != nil || drop.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/drop on the connection of the stream it cuts: %v %v", drop, err)
	}
	drop.Body.Close()
	if _, err := io.Copy(io.Discard, events); err == nil {
		t.Fatal("the SSE stream ended cleanly; want it reset by the cut")
	}
	ts.Publish(t, `"after the cut"`)
	select {
	case err := <-held:
		if err != nil {
			t.Fatalf("the long poll held on the same connection: %v", err)
		}
	case <-time.After(transportstest.Wait):
		t.Fatal("the long poll held on the same connection never got its answer")
	}
	if st := ts.Stats(t).Transports["sse"]; st.Clients != 0 {
		t.Fatalf("%d SSE clients after the cut, want 0", st.Clients)
	}
}

// TestTheClientLimitUnderHTTP2RefusesOneStream: at --max-clients, a
// stream opened over HTTP/2 is refused with a 503 on its own stream, and
// the stream already open on the same connection goes on.
func TestTheClientLimitUnderHTTP2RefusesOneStream(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	ts := transportstest.Start(t, func(c *transports.Config) { c.TLS, c.MaxClients = cert, 1 })
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true, MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	open := ts.OpenSSE(t, client, "/api/sse?since=0")
	open.Hello(t)
	resp, err := client.Get(ts.URL + "/api/sse?since=0")
	if err != nil {
		t.Fatalf("a second stream at the limit: %v, want a 503", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second stream at the limit: %s %d %s, want HTTP/2 and 503", resp.Proto, resp.StatusCode, body)
	}
	ts.Publish(t, `"after the refusal"`)
	if _, m := open.NextMessage(t); string(m.Data) != `"after the refusal"` {
		t.Fatalf("the open stream got %s", m.Data)
	}
}

// TestPlainHTTPToTheTLSPortGetsAClearError: a client that speaks plain
// HTTP to the HTTPS port is told so, and one that abandons its handshake
// leaves the server serving. (A client that stalls in its handshake is
// TestAStalledHandshakeIsCutAtTheHeaderTimeout's.)
func TestPlainHTTPToTheTLSPortGetsAClearError(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	ts := transportstest.Start(t, func(c *transports.Config) { c.TLS = cert })
	plain := "http://" + strings.TrimPrefix(ts.URL, "https://")
	resp, err := http.Get(plain + "/api/poll")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Fatalf("plain HTTP to the TLS port: %d %q, want 400 saying HTTPS", resp.StatusCode, body)
	}
	// A handshake begun (a few bytes of a ClientHello) and abandoned.
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x80})
	c.Close()
	if code, _, _ := ts.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("after an abandoned handshake /healthz answers %d", code)
	}
}

// TestAStalledHandshakeIsCutAtTheHeaderTimeout: a client that sends the
// start of a ClientHello and then nothing is cut once --header-timeout
// has passed, and leaves no goroutine behind.
func TestAStalledHandshakeIsCutAtTheHeaderTimeout(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	ts := transportstest.Start(t, func(c *transports.Config) { c.TLS, c.HeaderTimeout = cert, 200*time.Millisecond })
	before := runtime.NumGoroutine()
	c, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x80, 0x01}); err != nil { // a record header, one byte of its 128
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(transportstest.Wait))
	n, err := c.Read(make([]byte, 64))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a stalled handshake: read %d bytes, %v; want the server to close the connection", n, err)
	}
	transportstest.Await(t, "the stalled connection's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if code, _, _ := ts.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("after a stalled handshake /healthz answers %d", code)
	}
}

// startH2 starts a server that speaks proto, "h2c" (cleartext HTTP/2 beside
// HTTP/1.1) or "h2 over TLS", configured by set as well.
func startH2(t *testing.T, proto string, set func(*transports.Config)) *transportstest.Server {
	t.Helper()
	return transportstest.Start(t, func(c *transports.Config) {
		c.TLS, c.H2C = nil, proto == "h2c"
		if proto != "h2c" {
			cfg, _, err := transports.SelfSignedTLS()
			if err != nil {
				t.Fatal(err)
			}
			c.TLS = cfg
		}
		set(c)
	})
}

// TestAnHTTP2RequestsHeadersMustComeWithinTheHeaderTimeout: an HTTP/2
// connection whose client has not sent a request's header block whole
// within --header-timeout is closed, as HTTP/1.1's is: one that sent its
// preface and SETTINGS and then nothing, one whose first header block
// comes a byte at a time, and one whose header block after a request
// served does (its time counts from its first frame). The test waits for
// the close, bounded by transportstest.Wait (the idle timeout, 120 s,
// closed them before).
func TestAnHTTP2RequestsHeadersMustComeWithinTheHeaderTimeout(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	for _, proto := range []string{"h2c", "h2 over TLS"} {
		for _, how := range []string{"the preface alone", "a first header block trickled", "a header block trickled after a request"} {
			t.Run(proto+", "+how, func(t *testing.T) {
				srv := startH2(t, proto, func(c *transports.Config) { c.HeaderTimeout = headerTimeout })
				start := time.Now()
				c := dialH2(t, srv) // the preface and SETTINGS
				if how != "the preface alone" {
					// The server's SETTINGS acknowledged first: nothing may
					// come between the frames of a header block.
					settings := false
					c.until("the server's SETTINGS", func() bool {
						settings = settings || c.read[0] > 0
						return settings
					})
					id := uint32(1)
					if how == "a header block trickled after a request" {
						c.get(1, "/api/poll")
						c.until("the poll's answer", func() bool { return c.ended[1] })
						id, start = 3, time.Now()
					}
					c.block.Reset()
					for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", srv.Addr()}, {":path", "/api/poll"},
						{"x-pad", strings.Repeat("p", 1000)}} {
						_ = c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
					}
					block := c.block.Bytes()
					c.write(id, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:10], EndStream: true}))
					rest := block[10:]
					// A CONTINUATION frame's header, then its payload one byte at
					// a time, far slower than the header timeout allows.
					head := []byte{byte(len(rest) >> 16), byte(len(rest) >> 8), byte(len(rest)), 0x9, 0x4, 0, 0, 0, byte(id)}
					go func() {
						if _, err := c.conn.Write(head); err != nil {
							return
						}
						tick := time.NewTicker(50 * time.Millisecond)
						defer tick.Stop()
						for _, b := range rest {
							<-tick.C
							if _, err := c.conn.Write([]byte{b}); err != nil {
								return // closed: what the test waits for
							}
						}
					}()
				}
				_ = c.conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
				for {
					_, err := c.fr.ReadFrame()
					if errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("%s: the connection is still open after %v (--header-timeout %v)", how, time.Since(start).Round(time.Millisecond), headerTimeout)
					}
					if err != nil {
						break // closed by the server
					}
				}
				if took := time.Since(start); took < headerTimeout {
					t.Fatalf("%s: the connection was closed after %v, before the header timeout (%v): not for being slow", how, took, headerTimeout)
				}
				t.Logf("%s: closed %v after it opened, or after the later block began (--header-timeout %v)", how, time.Since(start).Round(time.Millisecond), headerTimeout)
			})
		}
	}
}

// TestAnHTTP2StreamOutlivesTheHeaderTimeout: the header timeout bounds a
// request's headers, not what follows them. An SSE stream over HTTP/2
// lives past it (its keepalive, sent after four header timeouts, comes),
// and the same connection serves a poll after that, then the stream the
// next message.
func TestAnHTTP2StreamOutlivesTheHeaderTimeout(t *testing.T) {
	for _, proto := range []string{"h2c", "h2 over TLS"} {
		t.Run(proto, func(t *testing.T) {
			srv := startH2(t, proto, func(c *transports.Config) {
				c.HeaderTimeout = 250 * time.Millisecond
				c.SSEKeepalive = time.Second
			})
			c := dialH2(t, srv)
			c.get(1, "/api/sse?since=0")
			c.until("the SSE hello", func() bool { return c.holds(1, "event: hello") })
			c.until("the keepalive, after four header timeouts", func() bool { return c.holds(1, ": ping") })
			c.get(3, "/api/poll?since=0")
			c.until("the poll's answer", func() bool { return c.ended[3] })
			h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: transportstest.ClientTLS(),
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
			resp, err := h1.Post(srv.URL+"/api/messages", "application/json", strings.NewReader(`"still here"`))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("publish: %v %v", resp, err)
			}
			resp.Body.Close()
			c.until("the message on the SSE stream", func() bool { return c.holds(1, `"data":"still here"`) })
		})
	}
}
