package transports_test

// The Server-Sent Events contract (CONTRACT.md, "Server-Sent Events"), over
// real HTTP on loopback, and the r3labs/sse traps pinned where they bite.

import (
	"bytes"
	"context"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSSEHeaders(t *testing.T) {
	ts := transportstest.Start(t, nil)
	s := ts.OpenSSE(t, nil, "/api/sse")
	for name, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no", // so nginx does not buffer the stream
	} {
		if got := s.Resp.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestSSEOverHTTP10IsNotChunked: an HTTP/1.0 client cannot read chunks
// (RFC 9112, section 6.1: no chunked coding unless the request is
// HTTP/1.1), so its stream is answered in HTTP/1.0, the events bare, the
// body ended by the connection's close.
func TestSSEOverHTTP10IsNotChunked(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.0")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(transportstest.Wait))
	fmt.Fprintf(c, "GET /api/sse?since=0 HTTP/1.0\r\nHost: %s\r\n\r\n", ts.Addr())
	var got []byte
	for !bytes.Contains(got, []byte("\n\n")) { // the head, and the hello event
		b := make([]byte, 4096)
		n, err := c.Read(b)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, b[:n]...)
	}
	head, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
	if !bytes.HasPrefix(head, []byte("HTTP/1.0 200 OK\r\n")) || bytes.Contains(head, []byte("Transfer-Encoding")) ||
		!bytes.HasPrefix(body, []byte("id: ")) {
		t.Fatalf("an HTTP/1.0 request's stream began %q, want HTTP/1.0 200 OK, no Transfer-Encoding, and the events bare", got)
	}
}

func TestSSEHelloIsTheFirstEvent(t *testing.T) {
	cases := []struct {
		name      string
		published int
		query     string
		id        string
	}{
		{"empty feed, no cursor", 0, "", "0"},
		{"no cursor starts at the last id", 3, "", "3"},
		{"the client's cursor", 3, "?since=1", "1"},
		{"the client's cursor of this epoch", 3, "?since=2&epoch={E}", "2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := transportstest.Start(t, nil)
			ts.PublishN(t, tc.published)
			epoch := ts.Epoch(t)
			ev := ts.OpenSSE(t, nil, "/api/sse"+strings.ReplaceAll(tc.query, "{E}", epoch)).Next(t)
			proto := "HTTP/1.1"
			if transportstest.OverTLS() {
				proto = "HTTP/2.0"
			}
			want := `{"next":` + tc.id + `,"epoch":"` + epoch + `","retry_ms":2000,"keepalive_ms":15000,"proto":"` + proto + `"}`
			if ev.Event != "hello" || ev.ID != epoch+":"+tc.id || string(ev.Data) != want {
				t.Errorf("first event %q, want hello with id %s:%s and data %s", ev.Raw, epoch, tc.id, want)
			}
			if ev.Retry != "2000" {
				t.Errorf("hello %q has no retry: 2000 (the retry_ms of its data)", ev.Raw)
			}
		})
	}
}

func TestSSECursor(t *testing.T) {
	// The feed holds 1..5 when each client connects; each then gets the
	// messages after its cursor, and after them message 6, published once
	// the client is connected.
	cases := []struct {
		name     string
		query    string
		hello    string
		firstIDs []uint64
	}{
		{"absent starts now", "", "5", nil},
		{"0 is everything retained", "?since=0", "0", []uint64{1, 2, 3, 4, 5}},
		{"N is everything after N", "?since=3", "3", []uint64{4, 5}},
		{"the last id gets only what is new", "?since=5", "5", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := transportstest.Start(t, nil)
			ts.PublishN(t, 5)
			epoch := ts.Epoch(t)
			s := ts.OpenSSE(t, nil, "/api/sse"+tc.query)
			if ev := s.NextEvent(t); ev.Event != "hello" || ev.ID != epoch+":"+tc.hello {
				t.Fatalf("got %q, want hello with id %s:%s", ev.Raw, epoch, tc.hello)
			}
			for _, id := range tc.firstIDs {
				if ev, m := s.NextMessage(t); m.ID != id {
					t.Fatalf("got %q, want message %d", ev.Raw, id)
				}
			}
			ts.Publish(t, `"six"`)
			if ev, m := s.NextMessage(t); m.ID != 6 {
				t.Fatalf("after the backlog got %q, want message 6", ev.Raw)
			}
		})
	}
}

func TestSSEMissedAndReset(t *testing.T) {
	// History 5 after 12 publishes: 8..12 are retained, so the stream
	// continues from cursor 7. A reset reads as from 0 of the server's
	// epoch, so it comes with what is gone since, after the reset.
	ts := transportstest.Start(t, func(c *transports.Config) { c.History = 5 })
	ts.PublishN(t, 12)
	epoch := ts.Epoch(t)
	type edge struct{ event, id, data string }
	reset := edge{"reset", epoch + ":7", `{"reset":true,"epoch":"` + epoch + `"}`}
	missed7 := edge{"missed", epoch + ":7", `{"missed":7}`}
	cases := []struct {
		name  string
		query string
		hello string // the hello's id: the client's cursor, in its epoch
		edges []edge // the events before the messages
		first uint64
	}{
		{"cursor older than the history", "since=3", epoch + ":3", []edge{{"missed", epoch + ":7", `{"missed":4}`}}, 8},
		{"cursor just before the oldest retained", "since=7", epoch + ":7", nil, 8},
		{"cursor 0 is told what is gone", "since=0", epoch + ":0", []edge{missed7}, 8},
		{"cursor ahead of the feed", "since=100", epoch + ":100", []edge{reset, missed7}, 8},
		{"cursor just ahead of the feed", "since=13", epoch + ":13", []edge{reset, missed7}, 8},
		{"cursor of this epoch", "since=10&epoch=" + epoch, epoch + ":10", nil, 11},
		{"cursor of another epoch", "since=10&epoch=other", "other:10", []edge{reset, missed7}, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ts.OpenSSE(t, nil, "/api/sse?"+tc.query)
			if ev := s.NextEvent(t); ev.Event != "hello" || ev.ID != tc.hello {
				t.Fatalf("got %q, want hello with id %s", ev.Raw, tc.hello)
			}
			for _, want := range tc.edges {
				ev := s.NextEvent(t)
				if ev.Event != want.event || string(ev.Data) != want.data || ev.ID != want.id {
					t.Fatalf("got %q, want event %s, id %s, data %s", ev.Raw, want.event, want.id, want.data)
				}
			}
			for id := tc.first; id <= 12; id++ {
				if ev, m := s.NextMessage(t); m.ID != id || ev.ID != epoch+":"+strconv.FormatUint(id, 10) {
					t.Fatalf("got %q, want message %d with id %s:%d", ev.Raw, id, epoch, id)
				}
			}
		})
	}
}

func TestSSELastEventIDBeatsSince(t *testing.T) {
	// Last-Event-ID is epoch:cursor, as the server wrote it (the epoch is
	// checked), or a bare cursor, as curl users type it (no check). It wins
	// over ?since= and ?epoch=. {E} is the server's epoch.
	cases := []struct {
		name        string
		query       string
		lastEventID string // "" sends no header
		hello       string
		reset       bool   // a reset, to cursor 0 of {E}, before the messages
		first       uint64 // first message, 0 for none before 6
	}{
		{"header alone", "", "{E}:4", "{E}:4", false, 5},
		{"a bare cursor in the header", "", "4", "{E}:4", false, 5},
		{"header over since", "?since=1", "{E}:4", "{E}:4", false, 5},
		{"header over a later since", "?since=5", "{E}:2", "{E}:2", false, 3},
		{"header over since and its epoch", "?since=1&epoch=other", "{E}:4", "{E}:4", false, 5},
		{"since alone", "?since=3", "", "{E}:3", false, 4},
		{"since and epoch", "?since=3&epoch={E}", "", "{E}:3", false, 4},
		{"header 0 over since", "?since=4", "{E}:0", "{E}:0", false, 1},
		{"header of another epoch", "?since=4&epoch={E}", "other:4", "other:4", true, 1},
	}
	ts := transportstest.Start(t, nil)
	ts.PublishN(t, 5)
	epoch := ts.Epoch(t)
	e := func(s string) string { return strings.ReplaceAll(s, "{E}", epoch) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.lastEventID != "" {
				header = []string{"Last-Event-ID", e(tc.lastEventID)}
			}
			s := ts.OpenSSE(t, nil, "/api/sse"+e(tc.query), header...)
			if ev := s.NextEvent(t); ev.Event != "hello" || ev.ID != e(tc.hello) {
				t.Fatalf("got %q, want hello with id %s", ev.Raw, e(tc.hello))
			}
			if tc.reset {
				if ev := s.NextEvent(t); ev.Event != "reset" || ev.ID != epoch+":0" || string(ev.Data) != `{"reset":true,"epoch":"`+epoch+`"}` {
					t.Fatalf("got %q, want a reset to %s:0", ev.Raw, epoch)
				}
			}
			// Not >= (r3labs #2): the message the client has is
			// not sent again.
			if ev, m := s.NextMessage(t); m.ID != tc.first {
				t.Fatalf("first message %q, want id %d", ev.Raw, tc.first)
			}
		})
	}
}

// TestSSEMalformedCursorIsRefusedBeforeTheStream pins r3labs #2: the
// library must never answer with its own 400 (text) or 500; the server
// refuses with its JSON 400 before any stream starts.
func TestSSEMalformedCursorIsRefusedBeforeTheStream(t *testing.T) {
	ts := transportstest.Start(t, nil)
	bad := []string{"-1", "1.5", "abc", "1e3", "0x10", "+1", "99999999999999999999999"}
	badEpochs := []string{"a.b", "a:b", "a%20b", strings.Repeat("e", 33)}
	var badIDs []string // Last-Event-ID: epoch:cursor or a bare cursor
	for _, v := range bad {
		badIDs = append(badIDs, v, "abc:"+v)
	}
	badIDs = append(badIDs, ":4", "abc:", "a.b:4", "a b:4", strings.Repeat("e", 33)+":4", "a:b:4")
	for _, where := range []string{"Last-Event-ID", "since", "epoch"} {
		values := map[string][]string{"Last-Event-ID": badIDs, "since": bad, "epoch": badEpochs}[where]
		for _, v := range values {
			t.Run(where+"="+v, func(t *testing.T) {
				path, header := "/api/sse", []string{"Last-Event-ID", v}
				switch where {
				case "since":
					path, header = path+"?since="+v, nil
				case "epoch":
					path, header = path+"?since=1&epoch="+v, nil
				}
				resp, _ := ts.GetSSE(t, nil, path, header...)
				body, err := io.ReadAll(resp.Body) // must end: no stream
				if err != nil {
					t.Fatal(err)
				}
				transportstest.JSONError(t, resp, body, http.StatusBadRequest)
			})
		}
	}
}

// TestSSEValidCursorsTheLibraryWouldRefuse pins r3labs #2 from the other
// side: cursors the library cannot parse (it uses a signed int) and a
// ?stream= it does not know must not reach it.
func TestSSEValidCursorsTheLibraryWouldRefuse(t *testing.T) {
	ts := transportstest.Start(t, nil)
	ts.PublishN(t, 2)
	epoch := ts.Epoch(t)
	cases := []struct {
		name   string
		query  string
		header []string
		hello  string
		next   string // the event after hello: "reset" or "message"
	}{
		{"Last-Event-ID above the int range", "", []string{"Last-Event-ID", "9223372036854775808"}, "9223372036854775808", "reset"},
		{"Last-Event-ID of this epoch above the int range", "", []string{"Last-Event-ID", epoch + ":9223372036854775808"}, "9223372036854775808", "reset"},
		{"since at the top of the range", "?since=18446744073709551615", nil, "18446744073709551615", "reset"},
		{"an unknown stream", "?stream=nope&since=1", nil, "1", "message"},
		{"a stream of someone else's", "?stream=c1&since=1", nil, "1", "message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ts.OpenSSE(t, nil, "/api/sse"+tc.query, tc.header...)
			if ev := s.NextEvent(t); ev.Event != "hello" || ev.ID != epoch+":"+tc.hello {
				t.Fatalf("got %q, want hello with id %s:%s", ev.Raw, epoch, tc.hello)
			}
			ev := s.NextEvent(t)
			if tc.next == "reset" && ev.Event != "reset" {
				t.Fatalf("got %q, want a reset", ev.Raw)
			}
			if tc.next == "message" && (ev.Event != "" || transportstest.DecodeMessage(t, ev.Data).ID != 2) {
				t.Fatalf("got %q, want message 2", ev.Raw)
			}
		})
	}
}

// TestSSEMessageEventBytes: a message is an unnamed event, its id the
// epoch and our message id, its data the message JSON on one line, the
// same bytes as the poll answer's: exactly "id: E:N\ndata: <json>\n\n"
// (r3labs #4).
func TestSSEMessageEventBytes(t *testing.T) {
	ts := transportstest.Start(t, nil)
	epoch := ts.Epoch(t)
	s := ts.OpenSSE(t, nil, "/api/sse?since=0")
	s.NextEvent(t) // hello
	bodies := []struct{ contentType, body string }{
		{"application/json", `{"user":"ana","text":"hi"}`},
		{"application/json", "{\n  \"text\": \"pretty\",\n  \"n\": [1,\n 2]\n}"},
		{"text/plain", "two\nlines\r\nand a CR\r"},
		{"text/plain", ": looks like a comment"},
		{"text/plain", "data: looks like a field\n\nid: 99"},
		{"application/json", `"\u2028 and \u2029, <b>&</b>"`},
	}
	for _, b := range bodies {
		resp, err := http.Post(ts.URL+"/api/messages", b.contentType, strings.NewReader(b.body))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("publish %q: %v %v", b.body, resp.Status, err)
		}
		resp.Body.Close()
	}
	polled := ts.PollRaw(t)
	for id := uint64(1); id <= uint64(len(bodies)); id++ {
		ev, _ := s.NextMessage(t)
		want := fmt.Sprintf("id: %s:%d\ndata: %s\n\n", epoch, id, polled[id])
		if string(ev.Raw) != want {
			t.Errorf("message %d:\n got  %q\n want %q", id, ev.Raw, want)
		}
	}
}

// TestSSEEveryEventHasOurEpochAndDecimalID pins r3labs #2 and #3: no event
// goes out with an empty id: line (it would wipe the browser's last event
// id); every id is the epoch and a decimal cursor, so the browser's own
// reconnect carries both; and a message's id is its message id, not a
// position in a library log.
func TestSSEEveryEventHasOurEpochAndDecimalID(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.History = 10
		c.SSEKeepalive = 50 * time.Millisecond
	})
	ts.PublishN(t, 30)
	epoch := ts.Epoch(t)
	eventID := regexp.MustCompile(`^` + regexp.QuoteMeta(epoch) + `:(0|[1-9][0-9]*)$`)
	// hello, missed, messages; hello, messages; hello, reset, missed,
	// messages; hello, messages: each stream runs until two pings went by too.
	for _, query := range []string{"?since=5", "?since=25", "?since=99", ""} {
		t.Run(query, func(t *testing.T) {
			s := ts.OpenSSE(t, nil, "/api/sse"+query)
			last := ts.PublishN(t, 2)
			pings, sawLast := 0, false
			for pings < 2 || !sawLast {
				ev := s.Next(t)
				if ev.IsComment() {
					pings++
					continue
				}
				if !ev.HasID || !eventID.MatchString(ev.ID) {
					t.Fatalf("event %q: id %q, want %s: and a decimal id", ev.Raw, ev.ID, epoch)
				}
				if ev.Event == "" {
					m := transportstest.DecodeMessage(t, ev.Data)
					if epoch+":"+strconv.FormatUint(m.ID, 10) != ev.ID {
						t.Fatalf("event %q: id %s, want %s:%d, the message id", ev.Raw, ev.ID, epoch, m.ID)
					}
					sawLast = m.ID == last
				}
			}
		})
	}
}

// TestSSEKeepaliveComments pins r3labs #6: the library sends no heartbeat,
// so the server writes a ": ping" comment every --sse-keepalive.
func TestSSEKeepaliveComments(t *testing.T) {
	const period = 100 * time.Millisecond
	ts := transportstest.Start(t, func(c *transports.Config) { c.SSEKeepalive = period })
	s := ts.OpenSSE(t, nil, "/api/sse")
	s.NextEvent(t) // hello
	var at []time.Time
	for i := range 4 {
		ev := s.Next(t)
		if string(ev.Raw) != ": ping\n\n" {
			t.Fatalf("event %d on an idle stream: %q, want \": ping\\n\\n\"", i, ev.Raw)
		}
		at = append(at, time.Now())
	}
	if d := at[3].Sub(at[0]); d < period*3/2 {
		t.Errorf("4 pings within %v, want one every %v", d, period)
	}
}

// TestSSEHasNoReplayLog pins r3labs #1 and #2: the feed's ring is the only
// history. However many messages went by, a new subscriber gets only what
// its cursor asks for, once.
func TestSSEHasNoReplayLog(t *testing.T) {
	ts := transportstest.Start(t, nil)
	old := ts.OpenSSE(t, nil, "/api/sse")
	old.NextEvent(t)
	const n = 300
	ts.PublishN(t, n)
	for id := uint64(1); id <= n; id++ {
		if ev, m := old.NextMessage(t); m.ID != id {
			t.Fatalf("got %q, want message %d", ev.Raw, id)
		}
	}
	cases := []struct {
		name, query string
		first       uint64
	}{
		{"no cursor", "", n + 1},
		{"since N", "?since=290", 291},
		{"since 0", "?since=0", 1},
		{"since 0 again", "?since=0", 1},
	}
	var streams []*transportstest.SSEStream
	for _, tc := range cases {
		s := ts.OpenSSE(t, nil, "/api/sse"+tc.query)
		s.NextEvent(t) // hello
		streams = append(streams, s)
	}
	ts.Publish(t, `"new"`)
	streams = append(streams, old)
	cases = append(cases, struct {
		name, query string
		first       uint64
	}{"the first subscriber", "", n + 1})
	for i, s := range streams {
		t.Run(cases[i].name, func(t *testing.T) {
			for want := cases[i].first; want <= n+1; want++ {
				if ev, m := s.NextMessage(t); m.ID != want {
					t.Fatalf("got %q, want message %d", ev.Raw, want)
				}
			}
		})
	}
	// Nothing more: the next thing on every stream is the next message.
	ts.Publish(t, `"newer"`)
	for i, s := range streams {
		if ev, m := s.NextMessage(t); m.ID != n+2 {
			t.Errorf("%s: got %q, want message %d", cases[i].name, ev.Raw, n+2)
		}
	}
}

// TestSSESlowReaderCannotStallOthers pins r3labs #7: a client that stops
// reading fills its socket; the others still get every message, and the
// stuck one is cut once its socket has taken no bytes for --send-timeout,
// to resume later from its Last-Event-ID.
func TestSSESlowReaderCannotStallOthers(t *testing.T) {
	t.Parallel()
	transportstest.SkipOverTLS(t, "opens a reader that never reads")
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendBuffer = 4096
		c.SendTimeout = time.Second
		c.WriteTimeout = 10 * time.Second
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	stuck, err := transportstest.DialSmallReadBuffer(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	fmt.Fprintf(stuck, "GET /api/sse HTTP/1.1\r\nHost: %s\r\n\r\n", addr) // and never read
	healthy := ts.OpenSSE(t, nil, "/api/sse")
	healthy.NextEvent(t)
	transportstest.Await(t, "both subscribers", func() bool { return ts.Stats(t).Transports["sse"].Clients == 2 })

	last, failed := readsInOrder(func() ([]byte, error) {
		for {
			ev, err := healthy.TryNext()
			if err != nil {
				return nil, err
			}
			if ev.IsComment() {
				continue
			}
			if ev.Event != "" {
				return nil, fmt.Errorf("event %q, want a message", ev.Raw)
			}
			return ev.Data, nil
		}
	})
	stuckReaderIsDropped(t, ts, "sse", last, failed)

	// The stuck one's socket was cut: read now, with room to take what is
	// on its way at once, it ends.
	stuck.(*net.TCPConn).SetReadBuffer(1 << 20)
	stuck.SetReadDeadline(time.Now().Add(transportstest.Wait))
	if _, err := io.Copy(io.Discard, stuck); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the dropped reader's socket is still open: %v", err)
		}
	}
}

// TestSSEStreamsLeakNoGoroutines pins r3labs #8: streams that end, by the
// client leaving or by /api/drop, leave no goroutine behind.
func TestSSEStreamsLeakNoGoroutines(t *testing.T) {
	transportstest.SkipOverTLS(t, "opens streams")
	ts := transportstest.Start(t, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	ts.PublishN(t, 1)
	transportstest.Await(t, "a settled server", func() bool { return ts.Stats(t).Transports["sse"].Clients == 0 })
	base := runtime.NumGoroutine()

	for round := range 3 {
		var left, dropped []*transportstest.SSEStream
		for i := range 20 {
			s := ts.OpenSSE(t, client, "/api/sse?since=0")
			s.NextEvent(t) // hello
			s.NextMessage(t)
			if i%2 == 0 {
				left = append(left, s)
			} else {
				dropped = append(dropped, s)
			}
		}
		for _, s := range left {
			s.Close()
		}
		transportstest.Await(t, "the left streams to end", func() bool { return ts.Stats(t).Transports["sse"].Clients == 10 })
		if n := ts.Drop(t, "sse"); n != 10 {
			t.Fatalf("round %d: dropped %d, want 10", round, n)
		}
		for _, s := range dropped {
			if _, err := s.Ended(t); err == nil || err == io.EOF {
				t.Fatalf("round %d: a dropped stream ended cleanly (%v), want it cut", round, err)
			}
		}
		transportstest.Await(t, "the dropped streams to end", func() bool { return ts.Stats(t).Transports["sse"].Clients == 0 })

		// Clients that hang up at once, before or around the hello.
		addr := strings.TrimPrefix(ts.URL, "http://")
		for range 20 {
			conn, err := net.DialTimeout("tcp", addr, transportstest.Wait)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /api/sse?since=0 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			conn.Close()
		}
		transportstest.Await(t, "the hung-up streams to end", func() bool {
			st := ts.Stats(t).Transports["sse"]
			return st.Clients == 0 && st.Requests >= int64(40*(round+1))
		})
	}
	deadline := time.Now().Add(transportstest.Wait)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before 120 streams came and went:\n%s",
				runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSSEDropThenResumeWithLastEventIDLosesNothing(t *testing.T) {
	ts := transportstest.Start(t, nil)
	s := ts.OpenSSE(t, nil, "/api/sse?since=0")
	s.NextEvent(t)
	ts.PublishN(t, 3)
	var last string
	for range 3 {
		ev, _ := s.NextMessage(t)
		last = ev.ID // what a browser's EventSource remembers
	}
	if n := ts.Drop(t, "sse"); n != 1 {
		t.Fatalf("dropped %d streams, want 1", n)
	}
	if _, err := s.Ended(t); err == io.EOF {
		t.Fatal("the dropped stream ended cleanly, want it cut")
	}
	ts.PublishN(t, 4) // published while away

	s = ts.OpenSSE(t, nil, "/api/sse?since=1", "Last-Event-ID", last)
	if ev := s.NextEvent(t); ev.Event != "hello" || ev.ID != last {
		t.Fatalf("got %q, want hello with id %s", ev.Raw, last)
	}
	ts.PublishN(t, 1)
	for want := uint64(4); want <= 8; want++ {
		if ev, m := s.NextMessage(t); m.ID != want {
			t.Fatalf("after the resume got %q, want message %d", ev.Raw, want)
		}
	}
}

func TestSSEShutdownEndsTheStreamAfterEveryAckedMessage(t *testing.T) {
	ts := transportstest.Start(t, nil)
	s := ts.OpenSSE(t, nil, "/api/sse")
	s.NextEvent(t)
	last := ts.PublishN(t, 50)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()
	events, err := s.Ended(t)
	if err != io.EOF {
		t.Errorf("stream ended with %v, want a clean end", err)
	}
	var ids []uint64
	for _, ev := range events {
		if !ev.IsComment() {
			ids = append(ids, transportstest.DecodeMessage(t, ev.Data).ID)
		}
	}
	if uint64(len(ids)) != last || ids[0] != 1 || ids[len(ids)-1] != last {
		t.Errorf("got %d messages (%v) before the end, want 1..%d", len(ids), ids, last)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(transportstest.Wait):
		t.Fatal("shutdown did not finish")
	}
}

func TestSSEConnectionLimitAnswers503(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxClients = 2 })
	a := ts.OpenSSE(t, nil, "/api/sse")
	a.NextEvent(t)
	ts.OpenSSE(t, nil, "/api/sse").NextEvent(t)
	resp, _ := ts.GetSSE(t, nil, "/api/sse")
	body, _ := io.ReadAll(resp.Body)
	transportstest.JSONError(t, resp, body, http.StatusServiceUnavailable)

	a.Close()
	transportstest.Await(t, "a free place", func() bool { return ts.Stats(t).Transports["sse"].Clients == 1 })
	ts.OpenSSE(t, nil, "/api/sse").NextEvent(t)
}

// TestSSEStatsCountTheResponseHeadApart: of a stream's bytes, /api/stats
// says which were its request's head and its response's, whichever writer
// serves it.
func TestSSEStatsCountTheResponseHeadApart(t *testing.T) {
	transportstest.SkipOverTLS(t, "reads an HTTP/1.1 head")
	ts := transportstest.Start(t, nil)
	before := ts.Stats(t).Transports["sse"]
	conn, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /api/sse?since=0 HTTP/1.1\r\nHost: " + ts.Addr() + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading the stream's head: %v (so far %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	head := int64(bytes.Index(got, []byte("\r\n\r\n")) + 4)
	var now transports.Snapshot
	transportstest.Await(t, "the stream's head to be counted", func() bool {
		now = ts.Stats(t)
		return now.Transports["sse"].HeadsOut-before.HeadsOut == head
	})
	if in := now.Transports["sse"].HeadsIn - before.HeadsIn; in != int64(len(req)) {
		t.Errorf("sse heads_in grew by %d, want %d (the request)", in, len(req))
	}
	if out := now.Transports["sse"].BytesOut - before.BytesOut; out < head {
		t.Errorf("sse bytes_out %d, less than its head's %d", out, head)
	}
}
