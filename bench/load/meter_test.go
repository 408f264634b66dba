package load

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestSourceAddr: subscriber i of n source addresses dials from
// 127.0.0.(2 + i mod n), and from the kernel's choice when n is 0.
func TestSourceAddr(t *testing.T) {
	if sourceAddr(0, 0) != nil || sourceAddr(4, 3).String() != "127.0.0.3:0" || sourceAddr(2, 3).String() != "127.0.0.4:0" {
		t.Errorf("sourceAddr: %v %v %v", sourceAddr(0, 0), sourceAddr(4, 3), sourceAddr(2, 3))
	}
}

// TestSubscribersDialFromTheirSourceAddress: three subscribers spread over
// two source addresses reach the server from two distinct addresses.
func TestSubscribersDialFromTheirSourceAddress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	from := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		from[host]++
		mu.Unlock()
	}))
	defer srv.Close()
	for i := range 3 {
		s := newSub(i)
		s.meter.from = sourceAddr(i, 2)
		c := s.meter.httpClient("h1")
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("subscriber %d from %s: %v", i, s.meter.from, err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		if s.meter.up.Load() == 0 || s.meter.down.Load() == 0 {
			t.Errorf("subscriber %d: its bytes were not counted", i)
		}
	}
	if len(from) != 2 || from["127.0.0.2"] != 2 || from["127.0.0.3"] != 1 {
		t.Errorf("the server saw requests from %v, want 127.0.0.2 twice and 127.0.0.3 once", from)
	}
}
