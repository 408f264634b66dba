package transports_test

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"fourway/feed"
	"fourway/transports"
	"fourway/transports/transportstest"
)

// brokerFeed is an in-memory feed that can be told its broker is gone, as
// feed.JetStream's Health says when it is cut from NATS.
type brokerFeed struct {
	*feed.Memory
	down atomic.Bool
}

func (f *brokerFeed) Health() error {
	if f.down.Load() {
		return errors.New("not connected to NATS")
	}
	return nil
}

// TestANodeCutFromItsBrokerSendsItsClientsElsewhere: while the feed's
// broker is unreachable, /healthz, the reads and the publishes answer 503,
// and the streams open on the node are hung up, so their clients resume on
// another node; once it is back, the node serves again.
func TestANodeCutFromItsBrokerSendsItsClientsElsewhere(t *testing.T) {
	f := &brokerFeed{Memory: feed.NewMemory(100)}
	ts := transportstest.StartFeed(t, f, nil)
	ts.Publish(t, `"before"`)
	ws, _ := ts.DialWSHello(t, "since=1")
	sse := ts.OpenSSE(t, nil, "/api/sse?since=1")
	sse.Hello(t)

	f.down.Store(true)
	for _, path := range []string{"/healthz", "/api/poll", "/api/longpoll?timeout=1", "/api/sse", "/api/ws"} {
		if code, body, _ := ts.Get(t, path); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the broker gone: %d %s, want 503", path, code, body)
		}
	}
	if code, body := ts.Post(t, "application/json", `"lost"`); code != http.StatusServiceUnavailable {
		t.Errorf("publish with the broker gone: %d %s, want 503", code, body)
	}
	var ne net.Error
	if _, _, err := ws.TryRead(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the WebSocket was not hung up: %v", err)
	}
	sse.Ended(t) // fails the test if the stream is still open

	f.down.Store(false)
	if code, body, _ := ts.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz with the broker back: %d %s", code, body)
	}
	ts.Publish(t, `"after"`)
}

var _ transports.Feed = (*brokerFeed)(nil)
