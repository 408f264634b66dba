package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestIsReadyWhenHealthy: a node's address is taken from its "fourway
// listening" line, which may come in pieces, and it is ready once GET
// /healthz answers 200: a node on JetStream listens before its feed is
// ready, and answers 503 {"status":"starting"} meanwhile.
func TestIsReadyWhenHealthy(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	asked := 0
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/healthz" {
			t.Errorf("asked %s, want /healthz", r.URL)
		}
		if asked++; asked <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"starting"}`)
		}
	}))
	defer fake.Close()
	n := &Node{out: newOutput(), exited: make(chan struct{})}
	fmt.Fprint(n.out, "time=2026-12-07T12:52:05.144Z level=INFO msg=\"feed on JetStream\" url=nats://127.0.0.1:4222\ntime=2026-12-07T12:52:05.144Z level=INFO msg=\"fourway list")
	fmt.Fprintf(n.out, "ening\" url=%s history=10 ticker=0s\n", fake.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base, err := n.WaitListening(ctx, 20*time.Second)
	if err != nil || base != fake.URL {
		t.Fatalf("WaitListening = %q, %v; want %s", base, err, fake.URL)
	}
	if err := n.WaitHealthy(ctx, http.DefaultClient, base, 20*time.Second); err != nil {
		t.Fatalf("WaitHealthy: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 3 {
		t.Errorf("GET /healthz %d times, want 3: until it answered 200", asked)
	}
}
