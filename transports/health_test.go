package transports_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed"
	"fourway/feed/natstest"
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

// TestAStartingNodeSaysSoUntilItsFeedIsOpen: a node whose JetStream feed
// is still opening (NATS not ready when it started) listens all the same:
// /healthz answers 503 {"status":"starting","reason":...}, the reads and
// the publishes 503 with the reason, and the settings and figures 200. The
// built-in ticker waits without a warning. Once the feed is open, the node
// serves it, and the ticker's first message is tick 1.
func TestAStartingNodeSaysSoUntilItsFeedIsOpen(t *testing.T) {
	nats := natstest.Start(t)
	cfg := feed.JetStreamConfig{URL: nats.ClientURL(), Stream: "STARTING", History: 100, Replicas: 1, Node: "a"}
	p := feed.NewPending(cfg)
	ts := transportstest.StartUnready(t, p, func(c *transports.Config) { c.Ticker, c.Node = 20*time.Millisecond, "a" })
	reason := "waiting for NATS at " + nats.ClientURL()

	code, body, resp := ts.Get(t, "/healthz")
	var health struct{ Status, Reason string }
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal([]byte(body), &health) != nil || health.Status != "starting" || health.Reason != reason {
		t.Fatalf("healthz while starting: %d %s, want 503 {\"status\":\"starting\",\"reason\":%q}", code, body, reason)
	}
	refused := func(what string, resp *http.Response, body string) {
		t.Helper()
		transportstest.JSONError(t, resp, []byte(body), http.StatusServiceUnavailable)
		var e struct{ Error, Status, Reason string }
		if json.Unmarshal([]byte(body), &e); e.Status != "starting" || e.Reason != reason || !strings.Contains(e.Error, "this node is starting ("+reason+")") {
			t.Errorf("%s while starting: %s, want the error with status starting and the reason", what, body)
		}
	}
	for _, path := range []string{"/api/poll", "/api/longpoll?timeout=1", "/api/sse", "/api/ws"} {
		_, body, resp := ts.Get(t, path)
		refused("GET "+path, resp, body)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/messages", strings.NewReader(`"early"`))
	req.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pbody, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	refused("a publish", presp, string(pbody))
	if code, body, _ := ts.Get(t, "/api/config"); code != http.StatusOK || !strings.Contains(body, `"node":"a"`) {
		t.Errorf("config while starting: %d %s, want 200", code, body)
	}
	if st := ts.Stats(t); st.Feed.JetStream == nil || st.Feed.JetStream.Error != "starting: "+reason {
		t.Errorf("stats while starting: %+v, want the jetstream error starting: %s", st.Feed.JetStream, reason)
	}
	f, err := feed.OpenJetStream(context.Background(), cfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Stop(); f.Disconnect() }) // the feed after the server, as main does
	if code, body, _ := ts.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz once open: %d %s", code, body)
	}
	ws, _ := ts.DialWSHello(t, "since=0")
	if _, m := ws.Message(t); m.ID != 1 || !strings.Contains(string(m.Data), `"tick 1"`) {
		t.Fatalf("the first message once open: %d %s, want the ticker's tick 1", m.ID, m.Data)
	}
	if strings.Contains(ts.Log(), "level=WARN") {
		t.Errorf("warnings while starting:\n%s", ts.Log())
	}
}
