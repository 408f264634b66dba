package transports_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// nodeLostFeed is the goodbye of a node cut from its feed's broker.
const nodeLostFeed = "this node cannot reach the feed: reconnect now, to another node, with your cursor"

// TestANodeCutFromItsBrokerSendsItsClientsElsewhere: while the feed's
// broker is unreachable, /healthz, the reads and the publishes answer 503,
// and the streams open on the node are told goodbye, each in its
// transport's words, so their clients resume at once on another node: a
// WebSocket gets close 1012 with the reason, a held long poll a 503 with
// the JSON error and Retry-After: 0 (SSE: the next test). Once the broker
// is back, the node serves again.
func TestANodeCutFromItsBrokerSendsItsClientsElsewhere(t *testing.T) {
	f := transportstest.NewBrokerFeed(100)
	ts := transportstest.StartFeed(t, f, nil)
	ts.Publish(t, `"before"`)
	ws, _ := ts.DialWSHello(t, "since=1")
	held := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get(ts.URL + "/api/longpoll?since=1&timeout=60")
		if err != nil {
			t.Errorf("held long poll: %v", err)
		}
		held <- resp
	}()
	transportstest.Await(t, "the long poll held", func() bool { return ts.Stats(t).Transports["longpoll"].Clients == 1 })

	f.Down.Store(true)
	for _, path := range []string{"/healthz", "/api/poll", "/api/longpoll?timeout=1", "/api/sse", "/api/ws"} {
		if code, body, _ := ts.Get(t, path); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the broker gone: %d %s, want 503", path, code, body)
		}
	}
	if code, body := ts.Post(t, "application/json", `"lost"`); code != http.StatusServiceUnavailable {
		t.Errorf("publish with the broker gone: %d %s, want 503", code, body)
	}

	_, _, err := ws.TryRead()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart || ce.Text != nodeLostFeed {
		t.Errorf("the WebSocket ended with %v, want close 1012 %q", err, nodeLostFeed)
	}

	var resp *http.Response
	select {
	case resp = <-held:
	case <-time.After(transportstest.Wait):
		t.Fatal("the held long poll was not answered")
	}
	if resp != nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		transportstest.JSONError(t, resp, body, http.StatusServiceUnavailable)
		var e struct{ Error string }
		if json.Unmarshal(body, &e); e.Error != nodeLostFeed || resp.Header.Get("Retry-After") != "0" {
			t.Errorf("the held long poll got %s, Retry-After %q; want the error %q, Retry-After 0", body, resp.Header.Get("Retry-After"), nodeLostFeed)
		}
	}

	f.Down.Store(false)
	if code, body, _ := ts.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz with the broker back: %d %s", code, body)
	}
	ts.Publish(t, `"after"`)
	ws, _ = ts.DialWSHello(t, "since=1")
	if _, m := ws.Message(t); m.ID != 2 {
		t.Fatalf("after the broker came back the WebSocket got message %d, want 2", m.ID)
	}
}

// TestSSEStreamOfANodeCutFromItsBrokerEndsWithAGoodbye: the stream gets
// what the feed has, then an end event whose id is the position to resume
// from and whose data says why and to reconnect now; then the response
// ends, cleanly.
func TestSSEStreamOfANodeCutFromItsBrokerEndsWithAGoodbye(t *testing.T) {
	f := transportstest.NewBrokerFeed(100)
	ts := transportstest.StartFeed(t, f, nil)
	ts.Publish(t, `"before"`)
	sse := ts.OpenSSE(t, nil, "/api/sse?since=0")
	sse.Hello(t)
	epoch := ts.Epoch(t)

	f.Down.Store(true)
	events, err := sse.Ended(t)
	if err != io.EOF {
		t.Errorf("the stream ended with %v, want a clean end", err)
	}
	var names []string
	for _, ev := range events {
		if !ev.IsComment() {
			names = append(names, cmp.Or(ev.Event, "message"))
		}
	}
	if len(names) != 2 || names[0] != "message" || names[1] != "end" {
		t.Fatalf("events %v, want the message, then end", names)
	}
	end := events[len(events)-1]
	var data struct{ Reason, Reconnect string }
	if end.ID != epoch+":1" || json.Unmarshal(end.Data, &data) != nil || data.Reason != nodeLostFeed || data.Reconnect != "now" {
		t.Fatalf("end event %q, want id %s:1 and the reason %q, reconnect now", end.Raw, epoch, nodeLostFeed)
	}
}

var _ transports.Feed = (*transportstest.BrokerFeed)(nil)
