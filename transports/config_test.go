package transports

import (
	"strings"
	"testing"
	"time"

	"fourway/feed"
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
