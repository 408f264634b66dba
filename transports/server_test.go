package transports_test

// What holds on all four transports at once: every subscriber gets every
// message, the same bytes; cursor 0 and a restart are said, never hidden;
// a shutdown delivers what was acknowledged.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestEverySubscriberGetsEveryMessageOnAllFourTransports publishes 2,000
// messages while 20 subscribers on each transport read. Each must get every
// message once, in order, and the bytes of a message must be the same on
// all four transports.
func TestEverySubscriberGetsEveryMessageOnAllFourTransports(t *testing.T) {
	const messages, perTransport = 2000, 20
	ts := transportstest.Start(t, func(c *transports.Config) { c.History = 5000 })
	// The followers have until 90 s after the last publish: a deadline on
	// delivery, not on publishing, which a loaded machine slows for every
	// transport alike (under -race -count=3 beside other work, load 15-18,
	// 1,614 of the 2,000 were published in 90 s, and every follower had
	// each of them).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		mu        sync.Mutex
		followers []*follower
		wg        sync.WaitGroup
	)
	for _, tr := range followTransports {
		for i := 0; i < perTransport; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := follow(ctx, tr, ts.URL, "", 0, messages)
				mu.Lock()
				followers = append(followers, f)
				mu.Unlock()
			}()
		}
	}
	ts.PublishN(t, messages)
	deadline := time.AfterFunc(90*time.Second, cancel)
	defer deadline.Stop()
	wg.Wait()

	var reference map[uint64][]byte
	resumes := map[string]int{}
	for _, f := range followers {
		if err := f.check(1, messages); err != nil {
			t.Error(err)
			continue
		}
		resumes[f.transport] += f.resumes
		if reference == nil {
			reference = f.raw
			continue
		}
		for id, b := range f.raw {
			if !bytes.Equal(b, reference[id]) {
				t.Errorf("%s: message %d is %s, other transports got %s", f.transport, id, b, reference[id])
				break
			}
		}
	}
	if len(followers) != 4*perTransport {
		t.Fatalf("%d followers finished, want %d", len(followers), 4*perTransport)
	}
	t.Logf("resumes after a dropped connection, per transport: %v", resumes)
}

func TestCursorZeroIsToldWhatWasMissed(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.History = 3 })
	ts.PublishN(t, 5) // retains 3..5
	for _, tr := range []string{"poll", "longpoll"} {
		_, body, _ := ts.Get(t, "/api/"+tr+"?since=0")
		if !strings.Contains(body, `"missed":2`) {
			t.Fatalf("%s since=0: %s, want missed 2", tr, body)
		}
	}
	ws, _ := ts.DialWSHello(t, "since=0")
	if b := ws.ReadText(t); string(b) != `{"type":"missed","missed":2}` {
		t.Fatalf("ws since=0: %s, want missed 2", b)
	}
	s := ts.OpenSSE(t, nil, "/api/sse?since=0")
	s.NextEvent(t)
	if ev := s.NextEvent(t); ev.Event != "missed" || string(ev.Data) != `{"missed":2}` {
		t.Fatalf("sse since=0: %q, want missed 2", ev.Raw)
	}
}

func TestARestartedServerIsAResetOnEveryTransport(t *testing.T) {
	old := transportstest.Start(t, nil)
	old.PublishN(t, 10)
	var before struct{ Epoch string }
	_, body, _ := old.Get(t, "/api/poll?since=10")
	if json.Unmarshal([]byte(body), &before) != nil || before.Epoch == "" {
		t.Fatalf("poll answer %s has no epoch", body)
	}
	old.Stop()

	ts := transportstest.Start(t, nil) // the restart: ids start over at 1
	ts.PublishN(t, 12)
	q := "since=10&epoch=" + before.Epoch
	for _, tr := range []string{"poll", "longpoll"} {
		var p struct {
			Epoch    string
			Messages []wire.Message
			Reset    bool
		}
		_, body, _ := ts.Get(t, "/api/"+tr+"?"+q)
		if json.Unmarshal([]byte(body), &p) != nil || !p.Reset || len(p.Messages) != 12 || p.Messages[0].ID != 1 || p.Epoch == before.Epoch {
			t.Fatalf("%s with the old epoch's cursor 10: %s; want reset, a new epoch and ids 1..12", tr, body)
		}
	}
	ws, _ := ts.DialWSHello(t, q)
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
		path := "/api/sse"
		if header == nil {
			path += "?" + q
		}
		s := ts.OpenSSE(t, nil, path, header...)
		s.NextEvent(t) // hello
		if ev := s.NextEvent(t); ev.Event != "reset" || !strings.Contains(string(ev.Data), `"epoch"`) {
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

// TestShutdownDeliversEveryAcknowledgedMessage stops the server right after
// a burst of publishes: the WebSocket gets them all, then close 1001; the
// SSE stream gets them all, then ends; a held long poll is answered at once.
func TestShutdownDeliversEveryAcknowledgedMessage(t *testing.T) {
	transportstest.SkipOverTLS(t, "reads a stream")
	const messages = 500
	// The two streams read nothing until the shutdown begins, so their
	// sockets stay full from the first publishes to then; a subscriber
	// whose socket takes nothing for --send-timeout is dropped (4001), by
	// the dispatchers' sweep even with no publish. Their send and write
	// timeouts are far longer than this test, so that only the shutdown is
	// tested here, however slowly a loaded machine gets to it (with the
	// defaults, a load of 10 took over 2 s: dropped after id 161).
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendTimeout, c.WriteTimeout = time.Minute, 2*time.Minute
	})
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
	transportstest.WaitFor(t, "both streams open", 10*time.Second, func() bool {
		s := ts.Stats(t).Transports
		return s["ws"].Clients == 1 && s["sse"].Clients == 1
	})
	epoch := ts.Epoch(t)
	pad := strings.Repeat("y", 4096) // large enough that delivery lags the acks
	for i := range messages {
		if code, _ := ts.Post(t, "text/plain", fmt.Sprint(i, pad)); code != 201 {
			t.Fatalf("publish %d: %d", i, code)
		}
	}
	longpoll := make(chan error, 1)
	go func() {
		a, err := ts.Page(context.Background(), fmt.Sprintf("/api/longpoll?since=%d&timeout=60", messages))
		if err == nil && len(a.Messages) != 0 {
			err = fmt.Errorf("answer %+v, want empty", a)
		}
		longpoll <- err
	}()
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
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

// TestTheNodeIsNamedWhenSeveralServeTheFeed: with --node, each stream's
// hello says which node serves it, and every answer says it in
// Fourway-Node, so a page behind a proxy can show which node each panel
// reached; a server alone names none.
func TestTheNodeIsNamedWhenSeveralServeTheFeed(t *testing.T) {
	for _, node := range []string{"", "node-b.2"} {
		ts := transportstest.Start(t, func(c *transports.Config) { c.Node = node })
		ws, hello := ts.DialWSHello(t, "")
		ws.Close()
		sse := ts.OpenSSE(t, nil, "/api/sse").Hello(t)
		_, _, resp := ts.Get(t, "/api/poll")
		if hello.Node != node || sse.Node != node || resp.Header.Get("Fourway-Node") != node {
			t.Errorf("--node %q: the WebSocket hello names %q, the SSE hello %q, a poll's Fourway-Node %q", node, hello.Node, sse.Node, resp.Header.Get("Fourway-Node"))
		}
		if _, named := resp.Header["Fourway-Node"]; node == "" && named {
			t.Errorf("a node alone sends Fourway-Node %q", resp.Header.Get("Fourway-Node"))
		}
	}
}
