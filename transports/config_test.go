package transports

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fourway/feed"
	"fourway/transports/wiremeter"
)

// newServer is New on a feed of history messages with the defaults, the
// ticker off, and what set changes.
func newServer(t testing.TB, history int, set func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Ticker, cfg.History = 0, history
	if set != nil {
		set(&cfg)
	}
	s, err := New(feed.NewMemory(history), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRefusesASettingOutOfRange(t *testing.T) {
	cases := []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.History = 0 }, "--history must be from 1 to 1000000, not 0"},
		{func(c *Config) { c.MaxMessage = -1 }, "--max-message must be from"},
		{func(c *Config) { c.Heartbeat = 0 }, "--heartbeat must be from 10ms to 1h0m0s, not 0s"},
		{func(c *Config) { c.LongPollTimeout = 121 * time.Second }, "--longpoll-timeout must be from 10ms to 2m0s"},
		{func(c *Config) { c.Ticker = time.Millisecond }, "--ticker must be 0 (off) or from 10ms to 24h0m0s, not 1ms"},
		{func(c *Config) { c.PublishRate = 1e-6 }, "--publish-rate must be 0 (off) or from"},
		{func(c *Config) { c.SendTimeout = c.WriteTimeout }, "--send-timeout (10s) must be under --write-timeout (10s)"},
		{func(c *Config) { c.SendBuffer = 100 }, "--send-buffer must be from 4096"},
		{func(c *Config) { c.SSEWriter = "fast" }, `--sse-writer must be one of r3labs, direct, not "fast"`},
		{func(c *Config) { c.Compress, c.SSEWriter = true, "direct" }, "--compress works with --sse-writer r3labs and --longpoll-writer nethttp only: the direct writers do not compress"},
		{func(c *Config) { c.Compress, c.LongPollWriter = true, "direct" }, "--compress works with"},
		{func(c *Config) { c.Node = `a"b` }, `--node must be at most 64 letters, digits, dots, dashes or underscores, not "a\"b"`},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.set(&cfg)
		_, err := New(feed.NewMemory(1), cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: %v; want an error with %q", err, c.want)
		}
	}
	if _, err := New(feed.NewMemory(1), DefaultConfig()); err != nil {
		t.Errorf("New with the defaults: %v", err)
	}
}

// TestConfigSaysTheHeartbeatsAndTheTicker: GET /api/config says what one
// heartbeat period costs a client on the wire, by the frames the server
// writes (so the page keeps no copy of the rule), and the built-in
// ticker's period as it is now, after POST /api/ticker too.
func TestConfigSaysTheHeartbeatsAndTheTicker(t *testing.T) {
	s := newServer(t, 10, func(c *Config) { c.Ticker, c.AdminToken = 2*time.Second, "t0ken" })
	defer s.ticker.set(0)
	config := func() (c clientConfig) {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/config", nil)
		req.Host = "127.0.0.1"
		s.Handler().ServeHTTP(rec, req)
		if err := json.Unmarshal(rec.Body.Bytes(), &c); rec.Code != http.StatusOK || err != nil {
			t.Fatalf("GET /api/config: %d %v %s", rec.Code, err, rec.Body)
		}
		return c
	}
	s.ticker.set(s.cfg.Ticker) // as Run starts it
	c := config()
	// ": ping\n\n" in its chunk "8\r\n…\r\n"; a ping of 2 bytes and its
	// masked pong of 6, {"type":"ping"} masked (6 + 15) and {"type":"pong"} (2 + 15).
	if c.Heartbeats.SSE != 3+8+2 || c.Heartbeats.WS != 2+6+21+17 {
		t.Errorf("heartbeats = %+v, want sse_bytes 13 and ws_bytes 46", c.Heartbeats)
	}
	if pong, _ := (&wsConn{}).handleFrame([]byte(`{"type":"ping"}`)); !wiremeter.IsHeartbeat(pong) {
		t.Errorf("the answer to a JSON ping, %s, is not a heartbeat by the server's rule", pong)
	}
	if c.TickerMS != 2000 {
		t.Errorf("ticker_ms = %d at start, want 2000 (--ticker 2s)", c.TickerMS)
	}
	for _, set := range []struct {
		every string
		ms    int64
	}{{"250ms", 250}, {"0", 0}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/ticker?every="+set.every, nil)
		req.Host = "127.0.0.1"
		req.Header.Set("Authorization", "Bearer t0ken")
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("POST /api/ticker?every=%s: %d %s", set.every, rec.Code, rec.Body)
		}
		if got := config().TickerMS; got != set.ms {
			t.Errorf("ticker_ms = %d after POST /api/ticker?every=%s, want %d", got, set.every, set.ms)
		}
	}
}
