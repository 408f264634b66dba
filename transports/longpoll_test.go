package transports_test

// The long poll (CONTRACT.md, "Long polling"): held until a message exists
// or the timeout passes.

import (
	"bufio"
	"context"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLongPollWakesOnPublish(t *testing.T) {
	ts := transportstest.Start(t, nil)
	got := make(chan wire.Page, 1)
	go func() {
		a, err := ts.Page(context.Background(), "/api/longpoll?since=0&timeout=60")
		if err != nil {
			t.Error(err)
		}
		got <- a
	}()
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "wake up")
	select {
	case a := <-got:
		if len(a.Messages) != 1 || a.Next != 1 || a.Epoch == "" || a.More {
			t.Fatalf("answer %+v, want message 1 with the epoch, and no more", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll was not answered after a publish")
	}
}

func TestLongPollTimesOutWithAnEmptyAnswer(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.LongPollTimeout = time.Second })
	ts.Post(t, "", "one")
	for _, q := range []string{"since=1&timeout=1", "since=1"} { // named timeout, then the server's
		start := time.Now()
		a, err := ts.Page(context.Background(), "/api/longpoll?"+q)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Messages) != 0 || a.Next != 1 {
			t.Fatalf("%s: answer %+v, want empty with next 1", q, a)
		}
		if time.Since(start) < time.Second {
			t.Fatalf("%s: answered after %v, before the 1 s hold", q, time.Since(start))
		}
	}
	if e := ts.Stats(t).Transports["longpoll"].Empty; e != 2 {
		t.Fatalf("empty answers %d, want 2", e)
	}
}

func TestLongPollFreesItsWaiterWhenTheClientLeaves(t *testing.T) {
	ts := transportstest.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/longpoll?timeout=120", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	cancel()
	<-done
	transportstest.WaitFor(t, "the waiter to be freed", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 0
	})
}

// TestLongPollClientGoneGetsNoAnswer: when the client of a held long poll
// goes away, the server writes nothing, rather than an empty 200 that is
// not a page (and that would be counted as bytes sent).
func TestLongPollClientGoneGetsNoAnswer(t *testing.T) {
	transportstest.SkipOverTLS(t, "sends its request and hangs up")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/longpoll?since=0&timeout=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	c.(*net.TCPConn).CloseWrite() // the client is gone, as far as the server can tell
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if len(got) > 0 {
		t.Fatalf("the server answered a client that had left: %q", got)
	}
}

// TestLongPollConnectionServesWhatFollows: the connection of a held long
// poll serves, once it is answered, the requests that follow on it, long
// polls or not, in order, even sent before the answer (pipelined), and
// keeps counting their bytes.
func TestLongPollConnectionServesWhatFollows(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.1 on a raw socket")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(transportstest.Wait))
	br := bufio.NewReader(c)
	get := func(target string) string { return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }
	read := func(what string, wantStatus int) []byte {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != wantStatus {
			t.Fatalf("%s: %d %q %v, want %d", what, resp.StatusCode, body, err, wantStatus)
		}
		// Every answer has the API's headers, the ones of the connection's
		// later requests too (the direct writer answers them itself).
		h := resp.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" ||
			h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: headers %v, want the API's, and JSON", what, h)
		}
		if strings.Contains(what, "poll") && h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: Cache-Control %q, want no-store", what, h.Get("Cache-Control"))
		}
		return body
	}
	// A held poll, and behind it, sent before its answer, a request that
	// is not a long poll, then a long poll again.
	fmt.Fprint(c, get("/api/longpoll?since=0&timeout=60"))
	transportstest.WaitFor(t, "the long poll to be held", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	fmt.Fprint(c, get("/api/config")+get("/api/longpoll?since=1&timeout=60"))
	ts.Post(t, "", "one")
	if b := read("the held poll", http.StatusOK); !strings.Contains(string(b), `"next":1`) {
		t.Fatalf("the held poll got %s, want message 1", b)
	}
	if b := read("the config, after it", http.StatusOK); !strings.Contains(string(b), `"longpoll"`) {
		t.Fatalf("GET /api/config got %s", b)
	}
	transportstest.WaitFor(t, "the second long poll to be held", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "two")
	if b := read("the second poll", http.StatusOK); !strings.Contains(string(b), `"next":2`) {
		t.Fatalf("the second poll got %s, want message 2", b)
	}
	// And a long poll answered at once, on the same connection.
	fmt.Fprint(c, get("/api/longpoll?since=0"))
	if b := read("a poll behind the feed", http.StatusOK); !strings.Contains(string(b), `"next":2`) {
		t.Fatalf("a poll behind the feed got %s, want messages 1 and 2", b)
	}
	if st := ts.Stats(t).Transports["longpoll"]; st.Requests != 3 || st.Clients != 0 {
		t.Fatalf("long-poll stats %+v, want 3 requests and no client held", st)
	}
}

// TestLongPollOverHTTP10IsAnsweredInHTTP10: a held poll of an HTTP/1.0
// client is answered as net/http answers it, in HTTP/1.0, and the
// connection closes after it (the client asked for no keep-alive).
func TestLongPollOverHTTP10IsAnsweredInHTTP10(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.0")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(transportstest.Wait))
	fmt.Fprintf(c, "GET /api/longpoll?since=0&timeout=60 HTTP/1.0\r\nHost: %s\r\n\r\n", ts.Addr())
	transportstest.WaitFor(t, "the long poll to be held", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "one")
	got, err := io.ReadAll(c) // to the connection's end
	if err != nil {
		t.Fatalf("after %q: %v", got, err)
	}
	head, body, _ := strings.Cut(string(got), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.0 200 OK\r\n") || !strings.Contains(head, "\r\nContent-Length: ") || !strings.Contains(body, `"next":1`) {
		t.Fatalf("an HTTP/1.0 long poll got %q, want HTTP/1.0 200 OK with a Content-Length and message 1, then the end", got)
	}
}

// countingReader counts what a client read of its socket.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestLongPollConnectionIsCountedAcrossOtherRequests keeps one connection
// going from held long polls to other requests and back, three times over:
// every long poll is held and answered, every other request answered, and
// the long poll's counters hold exactly the bytes of its requests and
// answers, heads apart, as the client sent and read them. (With
// --longpoll-writer direct a held poll takes its connection from net/http
// and gives it back for the other requests: the third time around, the
// connection had been given back twice.)
func TestLongPollConnectionIsCountedAcrossOtherRequests(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.1 on a raw socket")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * transportstest.Wait))
	in := &countingReader{r: c}
	br := bufio.NewReader(in)
	var sent, read, headIn, headOut int64
	exchange := func(req string, poll bool, publish func()) string {
		t.Helper()
		before := in.n
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		if publish != nil {
			publish()
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: %d %q %v", req, resp.StatusCode, body, err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("%q: %d bytes past the answer", req, br.Buffered())
		}
		if poll {
			sent += int64(len(req))
			headIn += int64(len(req))
			read += in.n - before
			headOut += in.n - before - int64(len(body))
		}
		return string(body)
	}
	for i := 1; i <= 3; i++ {
		poll := fmt.Sprintf("GET /api/longpoll?since=%d&timeout=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i-1)
		body := exchange(poll, true, func() {
			transportstest.WaitFor(t, "the long poll to be held", transportstest.Wait, func() bool {
				return ts.Stats(t).Transports["longpoll"].Clients == 1
			})
			ts.Post(t, "", fmt.Sprint("message ", i))
		})
		if !strings.Contains(body, fmt.Sprintf(`"next":%d`, i)) {
			t.Fatalf("long poll %d got %s, want message %d", i, body, i)
		}
		if body := exchange("GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false, nil); !strings.Contains(body, `"longpoll"`) {
			t.Fatalf("GET /api/config got %s", body)
		}
	}
	st := ts.Stats(t).Transports["longpoll"]
	if st.Requests != 3 || st.BytesIn != sent || st.BytesOut != read || st.HeadsIn != headIn || st.HeadsOut != headOut {
		t.Fatalf("long-poll counters: %d requests, %d B in (%d heads), %d B out (%d heads); the client sent 3 polls, %d B (%d heads), and read %d B (%d heads)",
			st.Requests, st.BytesIn, st.HeadsIn, st.BytesOut, st.HeadsOut, sent, headIn, read, headOut)
	}
}

// TestAShutdownEndsALongPollConnectionIdleAfterItsAnswer: a connection
// whose long poll was answered, kept open by its client, is idle; a
// shutdown closes it at once, as net/http closes its idle connections,
// rather than waiting out its grace.
func TestAShutdownEndsALongPollConnectionIdleAfterItsAnswer(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.1 on a raw socket")
	ts := transportstest.Start(t, func(c *transports.Config) { c.ShutdownTimeout = time.Minute })
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(transportstest.Wait))
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET /api/longpoll?since=0&timeout=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	transportstest.WaitFor(t, "the long poll to be held", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "one")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the idle connection, at the shutdown: read %d bytes, %v; want its end (EOF) before the minute of grace", n, err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(transportstest.Wait):
		t.Fatal("the server did not stop with only an idle connection left")
	}
}

// TestLongPollConnectionRefusesBadRequestsAsNetHTTPDoes follows a held
// poll, on its connection, with long polls net/http's server (or the
// guard) refuses: each gets that refusal, and the connection ends. (With
// --longpoll-writer direct the long polls that follow a held one are read
// by fourway, not net/http.)
func TestLongPollConnectionRefusesBadRequestsAsNetHTTPDoes(t *testing.T) {
	transportstest.SkipOverTLS(t, "speaks HTTP/1.1 on a raw socket")
	ts := transportstest.Start(t, nil)
	const poll = "GET /api/longpoll?since=1&timeout=60 HTTP/1.1\r\n"
	cases := []struct {
		name, req string
		status    int
		body      string
	}{
		{"a header line without a colon", poll + "Host: 127.0.0.1\r\nno colon here\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"an invalid header value", poll + "Host: 127.0.0.1\r\nX-A: a\x01b\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"no Host", poll + "Accept: */*\r\n\r\n", http.StatusBadRequest, "400 Bad Request: missing required Host header"},
		{"a malformed Host", poll + "Host: 127.0.0.1/x\r\n\r\n", http.StatusBadRequest, "400 Bad Request: malformed Host header"},
		// net/http allows a kept-alive connection's next request a little
		// more than MaxHeaderBytes (64 KiB): a mebibyte is over the limit
		// for both.
		{"a header block of a mebibyte", poll + "Host: 127.0.0.1\r\nX-A: " + strings.Repeat("a", 1<<20) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"},
		// A Transfer-Encoding other than one "chunked": net/http answers
		// 501, naming no encoding.
		{"Transfer-Encoding: identity", poll + "Host: 127.0.0.1\r\nTransfer-Encoding: identity\r\n\r\n",
			http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"Transfer-Encoding: chunked, chunked", poll + "Host: 127.0.0.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
			http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"two Transfer-Encoding lines", poll + "Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
			http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"a body, whose bytes are a request", fmt.Sprintf("%sHost: 127.0.0.1\r\nContent-Length: 48\r\n\r\n%-48s", poll, "GET /api/poll HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
			http.StatusBadRequest, `{"error":"a GET carries no body here"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, br := heldThenAnswered(t, ts)
			defer c.Close()
			go io.WriteString(c, tc.req) // a refused client may not be read to its end
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if got := strings.TrimSpace(string(body)); resp.StatusCode != tc.status || got != tc.body || !resp.Close {
				t.Fatalf("got %d %q (close %v), want %d %q and the connection closed", resp.StatusCode, got, resp.Close, tc.status, tc.body)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the refusal: %v, want the connection's end", err)
			}
		})
	}
}

// heldThenAnswered opens a connection whose long poll was held, then
// answered: what it sends next follows a held poll.
func heldThenAnswered(t *testing.T, ts *transportstest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(transportstest.Wait))
	br := bufio.NewReader(c)
	last := ts.Stats(t).Feed.LastID
	fmt.Fprintf(c, "GET /api/longpoll?since=%d&timeout=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", last)
	transportstest.WaitFor(t, "the long poll to be held", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "wake")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The answer may reach the client before the server has let the poll
	// go: wait for that, or a client counted against --max-clients next
	// could still meet it there.
	transportstest.WaitFor(t, "the answered poll to be let go", transportstest.Wait, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 0
	})
	return c, br
}
