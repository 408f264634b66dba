package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDropThenResumeLosesNothing cuts every streaming connection through
// /api/drop in the middle of a feed; clients that reconnect with their
// cursor must still get every message once.
func TestDropThenResumeLosesNothing(t *testing.T) {
	const before, after = 100, 100
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	results := make(chan *follower, 3)
	for _, tr := range []string{"longpoll", "sse", "ws"} {
		go func() { results <- follow(ctx, tr, ts.URL, "", 0, before+after) }()
	}
	publishN(t, ts.URL, before)
	waitFor(t, "every follower to have the first messages and be waiting", 20*time.Second, func() bool {
		s := getStats(t, ts.URL).Transports
		return s["longpoll"].Clients == 1 && s["sse"].Clients == 1 && s["ws"].Clients == 1 &&
			s["longpoll"].Messages >= before && s["sse"].Messages >= before && s["ws"].Messages >= before
	})

	if n := dropConns(t, ts.URL, "all"); n != 3 {
		t.Fatalf("drop cut %d connections, want 3", n)
	}

	publishN(t, ts.URL, after)
	for range 3 {
		f := <-results
		if err := f.check(1, before+after); err != nil {
			t.Error(err)
		}
		// Go's HTTP client retries a GET whose reused connection closed
		// before any answer, so a cut long poll may not show as a resume.
		if f.resumes < 1 && f.transport != "longpoll" {
			t.Errorf("%s: never reconnected, so the drop did not cut it", f.transport)
		}
	}
}

func TestDropRefusesUnknownTransports(t *testing.T) {
	ts := startServer(t)
	for _, q := range []string{"", "transport=poll", "transport=WS;all"} {
		resp, err := http.Post(ts.URL+"/api/drop?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("drop?%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

func TestDemoControlsNeedTheAdminTokenWhenOneIsSet(t *testing.T) {
	ts := startServer(t, "--admin-token", "adm")
	for _, c := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer adm", 200}} {
		req, _ := http.NewRequest("POST", ts.URL+"/api/ticker?every=0", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("ticker with %q: %d, want %d", c.auth, resp.StatusCode, c.code)
		}
	}
}

func TestTickerPublishes(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Post(ts.URL+"/api/ticker?every=20ms", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("start ticker: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, "three ticks", 10*time.Second, func() bool { return getStats(t, ts.URL).Feed.LastID >= 3 })
	_, body, _ := getRaw(t, ts.URL+"/api/poll?since=0&limit=1")
	if !strings.Contains(body, `"data":{"user":"ticker","text":"tick 1"}`) {
		t.Fatalf("first tick: %s", body)
	}
	for _, bad := range []string{"every=-1s", "every=1ms", "every=soon"} {
		resp, _ := http.Post(ts.URL+"/api/ticker?"+bad, "", nil)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("ticker?%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// TestStuckSubscriberIsDroppedWithoutDelayingOthers opens a WebSocket that
// never reads while another reads normally, and publishes far more than
// the socket buffers hold. The reader gets everything, never reconnecting;
// the stuck one is cut once its socket has taken no bytes for
// --send-timeout, or a write to it misses --write-timeout, whichever comes
// first.
func TestStuckSubscriberIsDroppedWithoutDelayingOthers(t *testing.T) {
	const messages = 600 // of 32 KB: some 19 MB, beyond loopback's buffers
	ts := startServer(t, "--send-timeout", "1s", "--write-timeout", "2s")
	stuck, _, err := websocket.DefaultDialer.Dial(ts.WS()+"/api/ws?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	healthy := make(chan *follower, 1)
	go func() { healthy <- follow(ctx, "ws", ts.URL, "", 0, messages) }()
	waitFor(t, "both WebSockets open", 10*time.Second, func() bool { return getStats(t, ts.URL).Transports["ws"].Clients == 2 })

	pad := strings.Repeat("x", 32<<10)
	for i := range messages {
		if code, body := postMessage(t, ts.URL, "text/plain", fmt.Sprint(i, pad)); code != 201 {
			t.Fatalf("publish: %d %s", code, body)
		}
	}
	f := <-healthy
	if err := f.check(1, messages); err != nil {
		t.Fatal(err)
	}
	if f.resumes != 0 {
		t.Fatalf("the healthy reader had to reconnect %d times", f.resumes)
	}
	waitFor(t, "the stuck WebSocket to be dropped", 30*time.Second, func() bool {
		s := getStats(t, ts.URL).Transports["ws"]
		return s.Clients == 0 && s.Dropped == 1 // the healthy one left when done
	})
}

// TestSlowSubscriberIsClosedWith4001 makes a WebSocket client stop reading
// while the feed goes on. Being behind is no fault; a socket that takes no
// bytes for --send-timeout is: the server counts the client dropped. The
// client, reading again at once, gets the messages already on their way,
// then close 4001, and resuming from its cursor and epoch loses nothing.
func TestSlowSubscriberIsClosedWith4001(t *testing.T) {
	ts := startServer(t, "--history", "2000", "--send-buffer", "4096", "--send-timeout", "500ms", "--write-timeout", "10s")
	// The client's receive buffer stays as the kernel makes it: one far
	// under loopback's 64 KB segments would make TCP wait on its persist
	// timer (200 ms, doubling) before it takes bytes again, longer than the
	// second the close frame is given once the client reads again.
	conn, _, err := wsDialer.Dial(ts.WS()+"/api/ws?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(streamWait))
	var hello wsHello
	if _, b, err := conn.ReadMessage(); err != nil || json.Unmarshal(b, &hello) != nil || hello.Type != "hello" || hello.Epoch == "" {
		t.Fatalf("hello: %s %v", b, err)
	}

	// The client reads nothing while messages far larger than its socket's
	// buffers are published, until the server says it dropped it.
	stop, published := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var last uint64
		defer func() { published <- last }()
		pad := strings.Repeat("z", 32<<10)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Post(ts.URL+"/api/messages", "text/plain", strings.NewReader(fmt.Sprint(i, pad)))
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
			var ack struct{ ID uint64 }
			err = json.NewDecoder(resp.Body).Decode(&ack)
			resp.Body.Close()
			if resp.StatusCode != 201 || err != nil {
				t.Errorf("publish %d: %d %v", i, resp.StatusCode, err)
				return
			}
			last = ack.ID
		}
	}()
	awaitCond(t, "the client that stopped reading to be dropped", func() bool { return fetchStats(t, ts.URL, "ws").Dropped == 1 })
	close(stop)
	total := <-published

	// Reading again within a second of the drop: what was on its way, then 4001.
	var last uint64
	for {
		conn.SetReadDeadline(time.Now().Add(streamWait))
		_, data, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 4001 {
				t.Fatalf("closed with %d %q after id %d, want 4001", ce.Code, ce.Text, last)
			}
			break
		}
		if err != nil {
			t.Fatalf("read: %v (last id %d), want close 4001", err, last)
		}
		var m struct{ ID uint64 }
		json.Unmarshal(data, &m)
		if m.ID != last+1 {
			t.Fatalf("frame %.60q after id %d, want message %d", data, last, last+1)
		}
		last = m.ID
	}
	if last >= total {
		t.Fatalf("got all %d messages before the 4001: the reader was not behind", last)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := follow(ctx, "ws", ts.URL, hello.Epoch, last, total)
	if err := f.check(last+1, total); err != nil {
		t.Fatal(err)
	}
	if d := getStats(t, ts.URL).Transports["ws"].Dropped; d != 1 {
		t.Fatalf("dropped %d, want 1", d)
	}
}

// TestShutdownDeliversEveryAcknowledgedMessage stops the server right after
// a burst of publishes: the WebSocket gets them all, then close 1001; the
// SSE stream gets them all, then ends; a held long poll is answered at once.
func TestShutdownDeliversEveryAcknowledgedMessage(t *testing.T) {
	const messages = 500
	ts := startServer(t)
	ws, _, err := websocket.DefaultDialer.Dial(ts.WS()+"/api/ws?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sseResp, err := http.Get(ts.URL + "/api/sse?since=0")
	if err != nil {
		t.Fatal(err)
	}
	defer sseResp.Body.Close()
	waitFor(t, "both streams open", 10*time.Second, func() bool {
		s := getStats(t, ts.URL).Transports
		return s["ws"].Clients == 1 && s["sse"].Clients == 1
	})
	epoch := serverEpoch(t, ts.URL)
	pad := strings.Repeat("y", 4096) // large enough that delivery lags the acks
	for i := range messages {
		if code, _ := postMessage(t, ts.URL, "text/plain", fmt.Sprint(i, pad)); code != 201 {
			t.Fatalf("publish %d: %d", i, code)
		}
	}
	longpoll := make(chan error, 1)
	go func() {
		a, err := getPage(context.Background(), fmt.Sprintf("%s/api/longpoll?since=%d&timeout=60", ts.URL, messages))
		if err == nil && len(a.Messages) != 0 {
			err = fmt.Errorf("answer %+v, want empty", a)
		}
		longpoll <- err
	}()
	waitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["longpoll"].Clients == 1
	})

	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // WebSocket: every message, then 1001
		defer wg.Done()
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var last uint64
		for {
			_, data, err := ws.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				if ce.Code != 1001 || last != messages {
					t.Errorf("ws: closed with %d after id %d, want 1001 after %d", ce.Code, last, messages)
				}
				return
			}
			if err != nil {
				t.Errorf("ws: %v after id %d", err, last)
				return
			}
			if !strings.HasPrefix(string(data), `{"type"`) {
				var m struct{ ID uint64 }
				json.Unmarshal(data, &m)
				last = m.ID
			}
		}
	}()
	go func() { // SSE: every message, then the end of the stream
		defer wg.Done()
		var last string
		sc := bufio.NewScanner(sseResp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				last = id
			}
		}
		if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("sse: %v", err)
		}
		if last != epoch+":"+fmt.Sprint(messages) {
			t.Errorf("sse: stream ended after id %s, want %s:%d", last, epoch, messages)
		}
	}()
	select {
	case err := <-longpoll:
		if err != nil {
			t.Errorf("long poll: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("the held long poll was not answered at shutdown")
	}
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v, want nil after a graceful shutdown", err)
	}
	// Publishing after shutdown is refused: the listener is gone.
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.URL, "http://"), time.Second); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}
