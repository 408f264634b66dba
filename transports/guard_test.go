package transports_test

// The guards every request passes (CONTRACT.md, "Security"), held against a
// hostile client: Host, Origin, the page headers, and the deadlines on
// reading a body and writing an answer.

import (
	"bufio"
	"fourway/transports"
	"fourway/transports/transportstest"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// rawConn is a TCP connection that speaks HTTP/1.1 by hand, for requests
// no well-behaved client sends.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func rawDial(t testing.TB, ts *transportstest.Server) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(t testing.TB, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(transportstest.Wait))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// response reads one response and its body within transportstest.Wait.
func (c *rawConn) response(t testing.TB) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(transportstest.Wait))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

// closedByServer checks that the server closes the connection: a read
// ends, with nothing more than what was already answered.
func (c *rawConn) closedByServer(t testing.TB) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(transportstest.Wait))
	if b, err := io.ReadAll(c.r); err != nil && !isReset(err) {
		t.Fatalf("the connection stayed open (%v) after %q", err, b)
	} else if len(b) > 0 {
		t.Fatalf("more bytes after the answer: %q", b)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset by peer") }

func TestForeignPagesCannotActHere(t *testing.T) {
	ts := transportstest.Start(t, nil)
	evil := []string{"Origin", "http://evil.example"}
	if code, body := ts.Post(t, "text/plain", "hi", evil...); code != 403 {
		t.Fatalf("a text/plain publish from a foreign page: %d %s, want 403", code, body)
	}
	for _, path := range []string{"/api/drop?transport=all", "/api/ticker?every=1s", "/api/tunnel?link=3g&for=1s"} {
		req, _ := http.NewRequest("POST", ts.URL+path, nil)
		req.Header.Set("Origin", "http://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("POST %s from a foreign page: %d, want 403", path, resp.StatusCode)
		}
	}
	if code, _ := ts.Post(t, "text/plain", "hi", "Origin", ts.URL); code != 201 {
		t.Fatalf("a publish from the page itself: %d, want 201", code)
	}
	if code, _ := ts.Post(t, "text/plain", "hi"); code != 201 {
		t.Fatalf("a publish with no Origin (curl): %d, want 201", code)
	}
	// The scheme is part of the origin.
	if _, resp, err := ts.TryDialWS(t, "", "Origin", "foo://"+ts.Addr()); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("Origin foo://%s: %v %v, want 403", ts.Addr(), err, resp)
	}
}

func TestRebindingHostsAreRefused(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.AllowedHosts = []string{"fourway.test"} })
	port := ts.Addr()[strings.LastIndex(ts.Addr(), ":"):]
	for _, c := range []struct {
		host string
		code int
	}{
		{"rebind.evil.example" + port, 421},
		{"rebind.evil.example", 421},
		{"127.0.0.1" + port, 200},
		{"localhost" + port, 200},
		{"[::1]" + port, 200},
		{"fourway.test" + port, 200},
		{"FOURWAY.test.", 200},
	} {
		for _, path := range []string{"/api/stats", "/healthz"} {
			conn := rawDial(t, ts)
			conn.send(t, "GET "+path+" HTTP/1.1\r\nHost: "+c.host+"\r\n\r\n")
			if resp, body := conn.response(t); resp.StatusCode != c.code {
				t.Errorf("GET %s with Host %s: %d %s, want %d", path, c.host, resp.StatusCode, body, c.code)
			}
		}
	}
	// A rebinding page's WebSocket: its Origin matches its own Host, and
	// the old check compared exactly those two.
	conn := rawDial(t, ts)
	conn.send(t, "GET /api/ws HTTP/1.1\r\nHost: rebind.evil.example"+port+"\r\nOrigin: http://rebind.evil.example"+port+
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if resp, _ := conn.response(t); resp.StatusCode != 421 {
		t.Fatalf("a rebinding page's WebSocket: %d, want 421", resp.StatusCode)
	}
}

// aPage stands for the page (public.Files in main): what the server does
// with the files it serves does not depend on them.
var aPage = fstest.MapFS{
	"index.html": {Data: []byte("<!doctype html><title>fourway</title><script type=module src=app.js></script>")},
	"app.js":     {Data: []byte("console.log('hi')\n")},
}

func TestThePageCannotBeFramedOrSniffed(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.Static = aPage })
	code, _, resp := ts.Get(t, "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d, want the page", code)
	}
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'self' and frame-ancestors 'none'", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Content-Type-Options %q, X-Frame-Options %q; want nosniff, DENY", h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
	}
}

// TestAPIAnswersCarryOnlyTheHeadersAnAPINeeds: a poll pays its headers
// once per message, so the API's answers carry what protects JSON (no
// sniffing, nothing loaded or framed when one is opened as a page) and not
// the page's longer policy.
func TestAPIAnswersCarryOnlyTheHeadersAnAPINeeds(t *testing.T) {
	ts := transportstest.Start(t, nil)
	for _, path := range []string{"/api/poll", "/api/longpoll?timeout=1", "/api/stats", "/api/config"} {
		code, _, resp := ts.Get(t, path)
		h := resp.Header
		if code != http.StatusOK || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("GET %s: %d, X-Content-Type-Options %q, Content-Security-Policy %q; want 200, nosniff and default-src 'none'; frame-ancestors 'none'",
				path, code, h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
		}
		for _, page := range []string{"X-Frame-Options", "Referrer-Policy"} {
			if v := h.Get(page); v != "" {
				t.Errorf("GET %s has the page's header %s: %q", path, page, v)
			}
		}
	}
}

func TestHeadAnswersLikeGet(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.Static = aPage })
	for _, path := range []string{"/", "/healthz", "/app.js"} {
		resp, err := http.Head(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("HEAD %s: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestABodyThatDoesNotArriveGets408(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.ReadTimeout = 300 * time.Millisecond })
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+ts.Addr()+"\r\nContent-Length: 10\r\n\r\nh")
	resp, body := c.response(t)
	if resp.StatusCode != 408 || !strings.Contains(body, "read-timeout") {
		t.Fatalf("a body that never came: %d %s, want 408 naming --read-timeout", resp.StatusCode, body)
	}
	c.closedByServer(t)
}

func TestRefusedPublishIsAnsweredWithoutReadingTheBody(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.PublishToken = "s3cret" })
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+ts.Addr()+"\r\nAuthorization: Bearer nope\r\nContent-Length: 100000\r\n\r\n")
	resp, _ := c.response(t) // before a single byte of the body was sent
	if resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d, want 401", resp.StatusCode)
	}
	c.closedByServer(t)
}

func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	ts := transportstest.Start(t, nil)
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+ts.Addr()+"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
	if resp, body := c.response(t); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	c.closedByServer(t) // what follows could be a smuggled request
}

func TestPollThatIsNeverReadIsCutAtTheWriteTimeout(t *testing.T) {
	transportstest.SkipOverTLS(t, "sends a poll it never reads")
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.WriteTimeout = time.Second
		c.SendTimeout = 500 * time.Millisecond
	})
	big := `"` + strings.Repeat("x", 60_000) + `"`
	for range 100 { // 6 MB retained
		ts.Publish(t, big)
	}
	c := rawDial(t, ts)
	c.send(t, "GET /api/poll?since=0&limit=1000 HTTP/1.1\r\nHost: "+ts.Addr()+"\r\n\r\n")
	// The client reads nothing until well past the server's write deadline
	// (1 MiB is more than the sockets' buffers take from a client that does
	// not read), then reads as fast as it can.
	time.Sleep(3 * time.Second)
	c.SetReadDeadline(time.Now().Add(transportstest.Wait))
	resp, err := http.ReadResponse(c.r, nil)
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		if err == nil {
			t.Fatalf("a client that read nothing for 3 s still got its whole answer (%d bytes): no write deadline", n)
		}
		if resp.ContentLength > 1<<20+4096 {
			t.Fatalf("one answer is %d bytes, want at most 1 MiB of messages", resp.ContentLength)
		}
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the answer was still coming after %v: %v; want it cut by the server", transportstest.Wait, err)
	}
}
