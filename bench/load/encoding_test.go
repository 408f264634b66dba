package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/bench/record"
)

// gzipSSE starts a gzip-encoded event stream on w: it returns a function
// that writes events and flushes them through gzip and the connection.
func gzipSSE(w http.ResponseWriter) func(events string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(w)
	return func(events string) {
		fmt.Fprint(zw, events)
		zw.Flush()
		w.(http.Flusher).Flush()
	}
}

// TestGzipSSEEventsArriveOneByOne: an SSE stream that comes gzip-encoded
// is decoded as it arrives: the server flushes one event (the hello,
// then a message) and sends the next only once the subscriber has read it. A reader that waited for a
// buffer to fill would never read the first, and the server would wait.
func TestGzipSSEEventsArriveOneByOne(t *testing.T) {
	t.Parallel()
	var s *sub
	readFirst := make(chan bool, 1)
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept-Encoding"); got != "gzip" {
			t.Errorf("Accept-Encoding %q, want gzip", got)
		}
		send := gzipSSE(w)
		send("id: E1:1\nevent: hello\ndata: {\"next\":1,\"epoch\":\"E1\"}\n\n")
		select { // the hello read: the subscriber is connected
		case <-s.ready:
		case <-time.After(20 * time.Second):
			t.Error("the hello was not read")
		}
		send("id: E1:2\ndata: " + testMsg(2, 0) + "\n\n")
		<-waitFor(func() bool { return s.distinct.Load() == 1 })
		readFirst <- s.distinct.Load() == 1
		send("id: E1:3\ndata: " + testMsg(3, 1) + "\n\n")
		<-r.Context().Done()
	})
	s = testSub(srv.URL, time.Hour)
	s.compress = true
	if runSub(t, s, fourwaySSE, waitFor(func() bool { return s.distinct.Load() == 2 })) {
		t.Fatalf("the SSE client stopped by itself: %s", s.gaveUp)
	}
	if !<-readFirst {
		t.Fatal("the first event was not read before the second was sent")
	}
	wantDecoded := len("id: E1:2\ndata: "+testMsg(2, 0)+"\n\n") + len("id: E1:3\ndata: "+testMsg(3, 1)+"\n\n")
	if s.msgs != 2 || s.anomalies != 0 || s.encodings["gzip"] != 2 {
		t.Errorf("got %d messages, %d anomalies, encodings %v; want 2, 0, 2 in gzip", s.msgs, s.anomalies, s.encodings)
	}
	if d := s.span().Decoded; d != int64(wantDecoded) {
		t.Errorf("the two events decode to %d bytes, the subscriber counted %d", wantDecoded, d)
	}
}

// TestUndecodableBodiesEndTheSubscriber: a body that says gzip but does
// not decode (a bad header, deflate data that is not deflate), or an
// encoding the subscriber did not offer, ends the subscriber with an
// error that says so, and the row's notes give it; nothing panics.
func TestUndecodableBodiesEndTheSubscriber(t *testing.T) {
	t.Parallel()
	var goodHeader bytes.Buffer
	zw := gzip.NewWriter(&goodHeader)
	zw.Flush() // the gzip header and an empty deflate block
	for _, c := range []struct {
		name     string
		compress bool
		run      func(context.Context, *sub)
		serve    func(w http.ResponseWriter)
		want     string
	}{
		{"fourway poll, not gzip", true, fourwayPoll, func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			fmt.Fprint(w, `{"messages":[],"next":1,"epoch":"E1"}`)
		}, "the gzip body does not decode: gzip: invalid header"},
		{"nchan long poll, not gzip", true, nchanLongPoll, func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			fmt.Fprint(w, "\x1f\x8b but no more")
		}, "the gzip body does not decode"},
		{"fourway SSE, bad deflate", true, fourwaySSE, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(goodHeader.Bytes()[:10]) // the header alone
			w.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}, "the gzip body does not decode: flate: corrupt input"},
		{"nchan SSE, not offered", false, nchanSSE, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(goodHeader.Bytes())
		}, "the answer came with Content-Encoding: gzip, and the subscriber offered nothing (no Accept-Encoding)"},
		{"fourway long poll, brotli", true, fourwayLongPoll, func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "br")
			fmt.Fprint(w, "whatever")
		}, "the answer came with Content-Encoding: br, and the subscriber offered Accept-Encoding: gzip"},
	} {
		srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
			if step > 0 {
				t.Errorf("%s: request %d: asked again after an answer that cannot change", c.name, step)
			}
			c.serve(w)
		})
		s := testSub(srv.URL, time.Millisecond)
		s.cursor = map[bool]string{true: "1", false: "0:0"}[strings.HasPrefix(c.name, "fourway")]
		s.compress = c.compress
		if !runSub(t, s, c.run, make(chan struct{})) {
			t.Errorf("%s: the subscriber did not stop by itself", c.name)
			continue
		}
		if !strings.Contains(s.gaveUp, c.want) {
			t.Errorf("%s: gave up saying %q, want %q", c.name, s.gaveUp, c.want)
		}
		r := record.Result{}
		r.Compress = c.compress
		collect(&r, []*sub{s}, &publisher{}, NewHistSet(1), 0)
		if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "gave up") || !strings.Contains(r.Notes[0], c.want) {
			t.Errorf("%s: the row's notes %q do not say why the subscriber gave up", c.name, r.Notes)
		}
	}
}

// TestRequestsWithoutCompressAreAsBefore: without -compress every reader's
// request is what it was before -compress existed: no Accept-Encoding,
// no Sec-WebSocket-Extensions, so the default figures stay comparable;
// with it, the one header is all that is added.
func TestRequestsWithoutCompressAreAsBefore(t *testing.T) {
	t.Parallel()
	key := regexp.MustCompile(`Sec-WebSocket-Key: \S+\r\n`)
	for _, c := range []struct {
		name, cursor string
		run          func(context.Context, *sub)
		added        string // the header line -compress adds
		plain        string // the request without it, its Host line left out
	}{
		{"fourway poll", "1", fourwayPoll, "Accept-Encoding: gzip\r\n",
			"GET /api/poll?since=1&limit=1000 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"},
		// A long poll's first request asks a 1 s hold, as the page's does
		// after a start (rules.go), then the server's default.
		{"fourway long poll", "1", fourwayLongPoll, "Accept-Encoding: gzip\r\n",
			"GET /api/longpoll?since=1&limit=1000&timeout=1 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"},
		{"fourway SSE", "1", fourwaySSE, "Accept-Encoding: gzip\r\n",
			"GET /api/sse?since=1 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nAccept: text/event-stream\r\n\r\n"},
		{"fourway WebSocket", "1", fourwayWS, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n",
			"GET /api/ws?since=1 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"},
		{"nchan poll", "5:0", nchanPoll, "Accept-Encoding: gzip\r\n",
			"GET /sub/poll HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nIf-None-Match: 5:0\r\n\r\n"},
		{"nchan long poll", "5:0", nchanLongPoll, "Accept-Encoding: gzip\r\n",
			"GET /sub/longpoll HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nIf-None-Match: 5:0\r\n\r\n"},
		{"nchan SSE", "5:0", nchanSSE, "Accept-Encoding: gzip\r\n",
			"GET /sub/sse HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nAccept: text/event-stream\r\nLast-Event-Id: 5:0\r\n\r\n"},
		{"nchan WebSocket", "5:0", nchanWS, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n",
			"GET /sub/ws?last_event_id=5%3A0 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: ws+meta.nchan\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"},
	} {
		for _, compress := range []bool{false, true} {
			got := firstRequest(t, c.cursor, compress, c.run)
			got = key.ReplaceAllString(got, "")
			want := c.plain
			if compress {
				want = addHeader(c.plain, c.added)
			}
			if got != want {
				t.Errorf("%s, compress %v: the request is\n%q\nwant\n%q", c.name, compress, got, want)
			}
		}
	}
}

// addHeader puts line among the request's headers where Go writes it:
// sorted by name, after Host and User-Agent, which come first.
func addHeader(req, line string) string {
	head, _ := strings.CutSuffix(req, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	i := 2
	name, _, _ := strings.Cut(line, ":")
	for i < len(lines) && strings.Split(lines[i], ":")[0] < name {
		i++
	}
	lines = append(lines[:i], append([]string{strings.TrimSuffix(line, "\r\n")}, lines[i:]...)...)
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

// firstRequest runs a subscriber against a listener that reads its first
// request, byte for byte, and closes the connection; it returns the
// request without its Host line (the port differs from run to run).
func firstRequest(t *testing.T, cursor string, compress bool, run func(context.Context, *sub)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		var req strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				got <- "reading the request: " + err.Error()
				return
			}
			if !strings.HasPrefix(line, "Host: ") {
				req.WriteString(line)
			}
			if line == "\r\n" {
				break
			}
		}
		got <- req.String()
	}()
	s := testSub("http://"+ln.Addr().String(), time.Millisecond)
	s.cursor, s.compress = cursor, compress
	var req string
	runSub(t, s, run, waitFor(func() bool {
		select {
		case req = <-got:
			return true
		default:
			return false
		}
	}))
	return req
}

// TestWSDeflateNegotiatedAndCounted: a WebSocket subscriber with
// -compress takes the permessage-deflate a server answers, says so, and
// counts what each message inflates to beside the fewer bytes that
// travelled; against a server that does not compress it says none.
func TestWSDeflateNegotiatedAndCounted(t *testing.T) {
	t.Parallel()
	msg := fmt.Sprintf(`{"id":2,"time":1763773323456.789,"data":%s}`, payloadData("json4k", 0, 1, 4096))
	for _, serverCompresses := range []bool{true, false} {
		up := websocket.Upgrader{EnableCompression: serverCompresses}
		var s *sub
		srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				t.Errorf("connection %d: %v", step, err)
				return
			}
			defer conn.Close()
			wsSend(t, conn, step, wsHello(1, "E1"))
			select { // the hello read: the span starts there
			case <-s.ready:
			case <-time.After(20 * time.Second):
				t.Error("the hello was not read")
			}
			wsSend(t, conn, step, msg)
			_, _, _ = conn.ReadMessage() // until the client goes
		})
		s = testSub(srv.URL, time.Hour)
		s.compress = true
		if runSub(t, s, fourwayWS, waitFor(func() bool { return s.distinct.Load() == 1 })) {
			t.Fatalf("the WebSocket client stopped by itself: %s", s.gaveUp)
		}
		span := s.span()
		want, wire := noEncoding, span.Down > span.Decoded
		if serverCompresses {
			want, wire = "permessage-deflate; server_no_context_takeover; client_no_context_takeover", span.Down < span.Decoded/2
		}
		if s.encodings[want] != 1 || span.Decoded != int64(len(msg)) || !wire {
			t.Errorf("server compresses %v: encodings %v, %d B down for %d decoded (the message is %d B); want 1 in %q",
				serverCompresses, s.encodings, span.Down, span.Decoded, len(msg), want)
		}
	}
}
