package main

// The promises of the README held against a hostile client (issue 7): each
// test here failed on the server before its fix.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawConn is a TCP connection that speaks HTTP/1.1 by hand, for requests
// no well-behaved client sends.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func rawDial(t testing.TB, ts *testServer) *rawConn {
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
	c.SetWriteDeadline(time.Now().Add(streamWait))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// response reads one response and its body within streamWait.
func (c *rawConn) response(t testing.TB) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(streamWait))
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
	c.SetReadDeadline(time.Now().Add(streamWait))
	if b, err := io.ReadAll(c.r); err != nil && !isReset(err) {
		t.Fatalf("the connection stayed open (%v) after %q", err, b)
	} else if len(b) > 0 {
		t.Fatalf("more bytes after the answer: %q", b)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset by peer") }

func host(ts *testServer) string { return strings.TrimPrefix(ts.URL, "http://") }

// ---- 1. publishing over WebSocket keeps the token and the rate ----

func TestWSPublishNeedsTheTokenAndKeepsTheRate(t *testing.T) {
	ts := startServer(t, "--publish-token", "s3cret", "--publish-rate", "1")
	publish := `{"type":"publish","data":"hi","ref":"r"}`

	anon := wsDial(t, ts, "")
	anon.Hello(t)
	anon.Send(t, publish)
	if b := anon.ReadText(t); !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), "token") {
		t.Fatalf("a publish without the token got %s, want an error frame about the token", b)
	}
	if _, resp, err := wsTryDial(t, ts, "token=wrong"); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("a wrong ?token: err %v, response %v; want 401 before the upgrade", err, resp)
	}

	byQuery := wsDial(t, ts, "token=s3cret")
	byQuery.Hello(t)
	byQuery.Send(t, publish)
	for { // the ack and the message itself, in either order
		if b := byQuery.ReadText(t); strings.Contains(string(b), `"type":"published"`) {
			break
		} else if strings.Contains(string(b), `"type":"error"`) {
			t.Fatalf("a publish with ?token= got %s", b)
		}
	}

	// The same address, another path: the rate is the client's, not the socket's.
	byHeader := wsDial(t, ts, "", "Authorization", "bearer s3cret")
	byHeader.Hello(t)
	byHeader.Send(t, publish)
	var refusal struct {
		Type, Error  string
		RetryAfterMS int64 `json:"retry_after_ms"`
	}
	for {
		b := byHeader.ReadText(t)
		if json.Unmarshal(b, &refusal) == nil && refusal.Type == "error" {
			break
		}
	}
	if refusal.RetryAfterMS <= 0 || refusal.RetryAfterMS > 1000 {
		t.Fatalf("over the rate: %+v, want retry_after_ms in (0, 1000]", refusal)
	}
	if code, body := postMessage(t, ts.URL, "", "hi", "Authorization", "Bearer s3cret"); code != 429 {
		t.Fatalf("HTTP publish right after a WebSocket one: %d %s, want 429", code, body)
	}
	for range 10 { // a client that keeps going is closed
		byHeader.Send(t, publish)
	}
	byHeader.ClosedWith(t, websocket.ClosePolicyViolation)
	if last := getStats(t, ts.URL).Feed.LastID; last != 1 {
		t.Fatalf("the feed holds %d messages, want the 1 publish that was allowed", last)
	}
}

// ---- 2. answers that are never read are cut, and bounded ----

func TestPollThatIsNeverReadIsCutAtTheWriteTimeout(t *testing.T) {
	ts := startServer(t, "--write-timeout", "1s", "--send-timeout", "500ms")
	big := `"` + strings.Repeat("x", 60_000) + `"`
	for range 100 { // 6 MB retained
		publishData(t, ts.URL, big)
	}
	c := rawDial(t, ts)
	c.send(t, "GET /api/poll?since=0&limit=1000 HTTP/1.1\r\nHost: "+host(ts)+"\r\n\r\n")
	// The client reads nothing until well past the server's write deadline
	// (1 MiB is more than the sockets' buffers take from a client that does
	// not read), then reads as fast as it can.
	time.Sleep(3 * time.Second)
	c.SetReadDeadline(time.Now().Add(streamWait))
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
		t.Fatalf("the answer was still coming after %v: %v; want it cut by the server", streamWait, err)
	}
}

func TestPollAnswersAreBoundedInBytes(t *testing.T) {
	ts := startServer(t)
	big := `"` + strings.Repeat("y", 60_000) + `"`
	for range 40 { // 2.4 MB
		publishData(t, ts.URL, big)
	}
	cursor, pages := uint64(0), 0
	for cursor < 40 {
		_, body, _ := getRaw(t, ts.URL+"/api/poll?limit=1000&since="+strconv.FormatUint(cursor, 10))
		var p struct {
			Messages []json.RawMessage
			Next     uint64
			More     bool
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if len(body) > 1<<20+4096 {
			t.Fatalf("an answer of %d bytes, want at most 1 MiB of messages", len(body))
		}
		if p.More != (p.Next < 40) {
			t.Fatalf("answer up to %d says more=%v", p.Next, p.More)
		}
		cursor, pages = p.Next, pages+1
	}
	if pages < 3 {
		t.Fatalf("2.4 MB came in %d answers, want at least 3", pages)
	}
}

// ---- 3. request bodies have a read deadline ----

func TestABodyThatDoesNotArriveGets408(t *testing.T) {
	ts := startServer(t, "--read-timeout", "300ms")
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+host(ts)+"\r\nContent-Length: 10\r\n\r\nh")
	resp, body := c.response(t)
	if resp.StatusCode != 408 || !strings.Contains(body, "read-timeout") {
		t.Fatalf("a body that never came: %d %s, want 408 naming --read-timeout", resp.StatusCode, body)
	}
	c.closedByServer(t)
}

func TestRefusedPublishIsAnsweredWithoutReadingTheBody(t *testing.T) {
	ts := startServer(t, "--publish-token", "s3cret")
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+host(ts)+"\r\nAuthorization: Bearer nope\r\nContent-Length: 100000\r\n\r\n")
	resp, _ := c.response(t) // before a single byte of the body was sent
	if resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d, want 401", resp.StatusCode)
	}
	c.closedByServer(t)
}

// ---- 4. bursts do not drop healthy subscribers ----

func TestABurstDropsNoHealthySubscriber(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		publish int
	}{
		{"a burst of the whole history", []string{"--history", "50"}, 50},
		{"1,000 at once with the defaults", nil, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, c.args...)
			var streams []*sseStream
			var sockets []*wsClient
			for range 10 {
				ws, _ := wsDialHello(t, ts, "since=0")
				sockets = append(sockets, ws)
				sse := sseOpen(t, nil, ts.URL+"/api/sse?since=0")
				sse.NextEvent(t) // hello
				streams = append(streams, sse)
			}
			// One write of every publish, pipelined: the head moves as fast
			// as the server can take them, before any writer runs.
			var burst strings.Builder
			for i := range c.publish {
				body := strconv.Itoa(i)
				fmt.Fprintf(&burst, "POST /api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host(ts), len(body), body)
			}
			pub := rawDial(t, ts)
			pub.send(t, burst.String())
			go io.Copy(io.Discard, pub) // the acks
			for i, ws := range sockets {
				for want := uint64(1); want <= uint64(c.publish); want++ {
					if _, m := ws.Message(t); m.ID != want {
						t.Fatalf("ws %d: id %d, want %d", i, m.ID, want)
					}
				}
			}
			for i, s := range streams {
				for want := uint64(1); want <= uint64(c.publish); want++ {
					if _, m := s.NextMessage(t); m.ID != want {
						t.Fatalf("sse %d: id %d, want %d", i, m.ID, want)
					}
				}
			}
			st := getStats(t, ts.URL).Transports
			if st["ws"].Dropped+st["sse"].Dropped != 0 || st["ws"].Clients != 10 || st["sse"].Clients != 10 {
				t.Fatalf("after the burst: ws %+v, sse %+v; want 10 each, none dropped", st["ws"], st["sse"])
			}
		})
	}
}

// ---- 5. a restart is a reset, not a silent skip ----

func TestARestartedServerIsAResetOnEveryTransport(t *testing.T) {
	old := startServer(t)
	publishN(t, old.URL, 10)
	var before struct{ Epoch string }
	_, body, _ := getRaw(t, old.URL+"/api/poll?since=10")
	if json.Unmarshal([]byte(body), &before) != nil || before.Epoch == "" {
		t.Fatalf("poll answer %s has no epoch", body)
	}
	old.Stop()

	ts := startServer(t) // the restart: ids start over at 1
	publishN(t, ts.URL, 12)
	q := "since=10&epoch=" + before.Epoch
	for _, tr := range []string{"poll", "longpoll"} {
		var p struct {
			Epoch    string
			Messages []wireMessage
			Reset    bool
		}
		_, body, _ := getRaw(t, ts.URL+"/api/"+tr+"?"+q)
		if json.Unmarshal([]byte(body), &p) != nil || !p.Reset || len(p.Messages) != 12 || p.Messages[0].ID != 1 || p.Epoch == before.Epoch {
			t.Fatalf("%s with the old epoch's cursor 10: %s; want reset, a new epoch and ids 1..12", tr, body)
		}
	}
	ws, _ := wsDialHello(t, ts, q)
	if b := ws.ReadText(t); !strings.HasPrefix(string(b), `{"type":"reset","epoch":"`) {
		t.Fatalf("ws: %s after the hello, want a reset with the new epoch", b)
	}
	for want := uint64(1); want <= 12; want++ {
		if _, m := ws.Message(t); m.ID != want {
			t.Fatalf("ws after the reset: id %d, want %d", m.ID, want)
		}
	}
	// SSE, as the browser reconnects by itself: the old id in Last-Event-ID.
	for _, header := range [][]string{{"Last-Event-ID", before.Epoch + ":10"}, nil} {
		url := ts.URL + "/api/sse"
		if header == nil {
			url += "?" + q
		}
		s := sseOpen(t, nil, url, header...)
		s.NextEvent(t) // hello
		if ev := s.NextEvent(t); ev.Event != "reset" || !strings.Contains(ev.Data, `"epoch"`) {
			t.Fatalf("sse (%v): %q after the hello, want a reset", header, ev.Raw)
		}
		for want := uint64(1); want <= 12; want++ {
			if _, m := s.NextMessage(t); m.ID != want {
				t.Fatalf("sse after the reset: id %d, want %d", m.ID, want)
			}
		}
		s.Close()
	}
}

// ---- 6. cursor 0 is "after id 0" ----

func TestCursorZeroIsToldWhatWasMissed(t *testing.T) {
	ts := startServer(t, "--history", "3")
	publishN(t, ts.URL, 5) // retains 3..5
	for _, tr := range []string{"poll", "longpoll"} {
		_, body, _ := getRaw(t, ts.URL+"/api/"+tr+"?since=0")
		if !strings.Contains(body, `"missed":2`) {
			t.Fatalf("%s since=0: %s, want missed 2", tr, body)
		}
	}
	ws, _ := wsDialHello(t, ts, "since=0")
	if b := ws.ReadText(t); string(b) != `{"type":"missed","missed":2}` {
		t.Fatalf("ws since=0: %s, want missed 2", b)
	}
	s := sseOpen(t, nil, ts.URL+"/api/sse?since=0")
	s.NextEvent(t)
	if ev := s.NextEvent(t); ev.Event != "missed" || ev.Data != `{"missed":2}` {
		t.Fatalf("sse since=0: %q, want missed 2", ev.Raw)
	}
}

// ---- 7. cross-site requests and DNS rebinding ----

func TestForeignPagesCannotActHere(t *testing.T) {
	ts := startServer(t)
	evil := []string{"Origin", "http://evil.example"}
	if code, body := postMessage(t, ts.URL, "text/plain", "hi", evil...); code != 403 {
		t.Fatalf("a text/plain publish from a foreign page: %d %s, want 403", code, body)
	}
	for _, path := range []string{"/api/drop?transport=all", "/api/ticker?every=1s"} {
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
	if code, _ := postMessage(t, ts.URL, "text/plain", "hi", "Origin", ts.URL); code != 201 {
		t.Fatalf("a publish from the page itself: %d, want 201", code)
	}
	if code, _ := postMessage(t, ts.URL, "text/plain", "hi"); code != 201 {
		t.Fatalf("a publish with no Origin (curl): %d, want 201", code)
	}
	// The scheme is part of the origin.
	if _, resp, err := wsTryDial(t, ts, "", "Origin", "foo://"+host(ts)); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("Origin foo://%s: %v %v, want 403", host(ts), err, resp)
	}
}

func TestRebindingHostsAreRefused(t *testing.T) {
	ts := startServer(t, "--allowed-hosts", "fourway.test")
	port := host(ts)[strings.LastIndex(host(ts), ":"):]
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

// ---- 9. poison messages ----

func TestPoisonDataIsRefused(t *testing.T) {
	ts := startServer(t)
	for _, c := range []struct{ name, data, want string }{
		{"nested 9,999 deep", strings.Repeat("[", 9999) + strings.Repeat("]", 9999), "nested"},
		{"nested 65 deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), "nested"},
		{"a number no float64 holds", `[1e999]`, "float"},
		{"a negative one", `{"n":-1e400}`, "float"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, body := postMessage(t, ts.URL, "application/json", c.data); code != 400 || !strings.Contains(body, c.want) {
				t.Fatalf("HTTP: %d %s, want 400 mentioning %q", code, body, c.want)
			}
			ws, _ := wsDialHello(t, ts, "")
			ws.Send(t, `{"type":"publish","data":`+c.data+`}`)
			if b := ws.ReadText(t); !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), c.want) {
				t.Fatalf("WebSocket: %.200s, want an error mentioning %q", b, c.want)
			}
		})
	}
	if code, body := postMessage(t, ts.URL, "application/json", strings.Repeat("[", 64)+strings.Repeat("]", 64)); code != 201 {
		t.Fatalf("64 deep: %d %s, want 201", code, body)
	}
	if last := getStats(t, ts.URL).Feed.LastID; last != 1 {
		t.Fatalf("the feed has %d messages, want only the 64-deep one", last)
	}
}

// ---- 10. the smaller ones ----

func TestPipelinedBytesBelongToTheirOwnRequest(t *testing.T) {
	ts := startServer(t)
	before := getStats(t, ts.URL).Transports
	poll := "GET /api/poll HTTP/1.1\r\nHost: " + host(ts) + "\r\n\r\n"
	publish := "POST /api/messages HTTP/1.1\r\nHost: " + host(ts) + "\r\nContent-Length: 2\r\n\r\nhi"
	c := rawDial(t, ts)
	c.send(t, poll+publish) // one write: the server reads both at once
	c.response(t)
	if resp, _ := c.response(t); resp.StatusCode != 201 {
		t.Fatalf("pipelined publish: %d", resp.StatusCode)
	}
	if d := getStats(t, ts.URL).Transports["poll"].BytesIn - before["poll"].BytesIn; d != int64(len(poll)) {
		t.Fatalf("poll bytes_in grew by %d, want %d: the poll's own request", d, len(poll))
	}
}

func TestHeadAnswersLikeGet(t *testing.T) {
	ts := startServer(t)
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

func TestThePageCannotBeFramedOrSniffed(t *testing.T) {
	ts := startServer(t)
	_, _, resp := getRaw(t, ts.URL+"/")
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'self' and frame-ancestors 'none'", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Content-Type-Options %q, X-Frame-Options %q; want nosniff, DENY", h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := startServer(t, "--publish-token", "s3cret")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		if code, body := postMessage(t, ts.URL, "", "hi", "Authorization", scheme+" s3cret"); code != 201 {
			t.Errorf("Authorization: %s s3cret: %d %s, want 201", scheme, code, body)
		}
	}
}

func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	ts := startServer(t)
	c := rawDial(t, ts)
	c.send(t, "POST /api/messages HTTP/1.1\r\nHost: "+host(ts)+"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
	if resp, body := c.response(t); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	c.closedByServer(t) // what follows could be a smuggled request
}

func TestTextIsNotHTMLEscaped(t *testing.T) {
	ts := startServer(t, "--max-message", "30000")
	text := strings.Repeat("<&>", 7000) // 21 KB of text, 126 KB if escaped
	if code, body := postMessage(t, ts.URL, "text/plain", text); code != 201 {
		t.Fatalf("21 KB of text: %d %.200s, want 201", code, body)
	}
	_, body, _ := getRaw(t, ts.URL+"/api/poll?since=0")
	if !strings.Contains(body, `"data":"<&><&>`) {
		t.Fatalf("the message is %.100s..., want the text as it was", body)
	}
}
