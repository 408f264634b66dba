package load

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNoSilentFallback: an answer over another protocol than the row's
// ends the subscriber, saying so, rather than being measured.
func TestNoSilentFallback(t *testing.T) {
	t.Parallel()
	// A TLS server that speaks HTTP/1.1 only, asked by an h2 subscriber.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"messages":[],"next":1,"epoch":"e"}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := newSub(0)
	s.proto = "h2"
	c := s.meter.httpClient("h2")
	defer c.CloseIdleConnections()
	_, err := fourwayGetPage(ctx, s, c, srv.URL+"/api/poll?since=0", nil)
	if !isPermanent(err) || !strings.Contains(err.Error(), "asked for h2") {
		t.Fatalf("an h2 subscriber against an HTTP/1.1-only server: %v, want a permanent error saying h2 was asked for", err)
	}
	// The answer as a client that offers both would see it.
	for _, c := range []struct {
		proto string
		resp  *http.Response
	}{
		{"h2", &http.Response{Proto: "HTTP/1.1", TLS: &tls.ConnectionState{}}},
		{"h2", &http.Response{Proto: "HTTP/2.0"}},
		{"h1tls", &http.Response{Proto: "HTTP/1.1"}},
		{"h2c", &http.Response{Proto: "HTTP/1.1"}},
	} {
		err := checkResponseProto("/api/poll", c.proto, c.resp)
		if !isPermanent(err) || !strings.Contains(err.Error(), "asked for "+c.proto) || !strings.Contains(err.Error(), "does not measure a fallback") {
			t.Errorf("%s answered by %s (TLS %v): %v, want a permanent error naming both", c.proto, c.resp.Proto, c.resp.TLS != nil, err)
		}
	}
}
