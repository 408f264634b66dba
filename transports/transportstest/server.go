// Package transportstest starts fourway's server in-process for tests, on a
// free loopback port, as main starts it: transports.New on an in-memory
// feed, a listener, Serve. It also has the small clients the tests share,
// built on package wire, and every wait in it is bounded by Wait, so a
// broken server fails a test instead of hanging it. Its files, from the
// top down:
//
//	ws.go      a WebSocket client: hello, messages, frames, how it was closed
//	sse.go     an SSE stream read event by event
//	http.go    publishing, polls, stats, drops, and the bounded waits (Await, WaitFor)
//	server.go  Start, Restart, Stop: a real server on loopback, its settings from the environment
//	tls.go     the pass over HTTPS and HTTP/2: certificates the test clients trust
//	feed.go    a feed that can be cut from its broker, for the health tests
//	layers.go  go list, and a package's files in its doc's order: what the
//	           tests that keep packages in layers read (here and in bench)
package transportstest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fourway/feed"
	"fourway/transports"
)

// SSEWriterEnv, when set ("direct"), makes every server Start starts
// write its SSE streams with that writer (--sse-writer): the SSE spec's
// second pass (transports/sse_writers_test.go) runs the same tests so.
const SSEWriterEnv = "FOURWAY_TEST_SSE_WRITER"

// LongPollWriterEnv, when set ("direct"), makes every server Start starts
// hold its long polls with that writer (--longpoll-writer): the long-poll
// spec's second pass (transports/longpoll_writers_test.go) runs so.
const LongPollWriterEnv = "FOURWAY_TEST_LONGPOLL_WRITER"

// CompressEnv, when set ("1"), makes every server Start starts compress
// (--compress) and every WebSocket of DialWS offer permessage-deflate
// (net/http's clients offer gzip already, and decode it): the
// conformance's second pass (transports/compress_test.go) runs so.
const CompressEnv = "FOURWAY_TEST_COMPRESS"

// Compressing reports whether this is the pass with --compress.
func Compressing() bool { return os.Getenv(CompressEnv) != "" }

// Wait bounds every single wait: long enough for a busy 2-core machine
// running -race, short enough that a failure never hangs.
const Wait = 10 * time.Second

// probe asks a new server whether it is ready, over HTTP/1.1 as a load
// balancer would, and on a connection of its own: a test that counts a
// server's HTTP/2 connections finds none of the probe's among them.
var probe = &http.Client{Transport: &http.Transport{
	TLSClientConfig:   ClientTLS(),
	TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	DisableKeepAlives: true,
}}

// Server is a fourway server running in this process.
type Server struct {
	URL    string            // http://127.0.0.1:PORT
	Config transports.Config // as the server was started
	Feed   *feed.Memory

	addr   string
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Start starts a server with the defaults, the ticker off, and then what
// set changes (set may be nil), and waits until /healthz answers. The
// server stops when the test ends; the test fails if it stopped with an
// error. Its log is shown when the test fails.
func Start(t testing.TB, set func(*transports.Config)) *Server {
	t.Helper()
	return start(t, "127.0.0.1:0", nil, set)
}

// StartFeed is Start on the feed f instead of a fresh in-memory one; the
// server's Feed field is then nil.
func StartFeed(t testing.TB, f transports.Feed, set func(*transports.Config)) *Server {
	t.Helper()
	return start(t, "127.0.0.1:0", f, set)
}

// Restart stops s and starts a new server on the same address, with a
// fresh feed and so a new epoch, configured as Start does with set: what a
// client sees when its server restarts.
func (s *Server) Restart(t testing.TB, set func(*transports.Config)) *Server {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	return start(t, s.addr, nil, set)
}

// StartUnready starts a server on f as StartFeed does, but waits only
// until /healthz answers, whatever it answers: for a feed still starting
// (feed.Pending).
func StartUnready(t testing.TB, f transports.Feed, set func(*transports.Config)) *Server {
	t.Helper()
	return startOn(t, "127.0.0.1:0", f, set, false)
}

// RestartUnready stops s and starts a new server on the same address on
// f, as StartUnready does: a node restarted while its clients read, whose
// feed is still opening.
func (s *Server) RestartUnready(t testing.TB, f transports.Feed, set func(*transports.Config)) *Server {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	return startOn(t, s.addr, f, set, false)
}

func start(t testing.TB, addr string, f transports.Feed, set func(*transports.Config)) *Server {
	t.Helper()
	return startOn(t, addr, f, set, true)
}

// startOn starts the server on addr and f, and waits until /healthz
// answers: 200, if ready.
func startOn(t testing.TB, addr string, f transports.Feed, set func(*transports.Config), ready bool) *Server {
	t.Helper()
	cfg := transports.DefaultConfig()
	cfg.Ticker = 0
	if w := os.Getenv(SSEWriterEnv); w != "" {
		cfg.SSEWriter = w
	}
	if w := os.Getenv(LongPollWriterEnv); w != "" {
		cfg.LongPollWriter = w
	}
	cfg.Compress = Compressing()
	useTLS(t, &cfg) // tls.go: the pass over HTTP/2 and TLS
	if set != nil {
		set(&cfg)
	}
	s := &Server{Config: cfg, logs: &logBuffer{}, done: make(chan error, 1)}
	cfg.Logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if f == nil {
		s.Feed = feed.NewMemory(cfg.History)
		f = s.Feed
	}
	srv, err := transports.New(f, cfg)
	if err != nil {
		t.Fatalf("transports.New: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	if cfg.TLS != nil {
		s.URL = "https://" + s.addr
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	resp, err := probe.Get(s.URL + "/healthz")
	if err != nil || (ready && resp.StatusCode != http.StatusOK) {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	return s
}

// Stop shuts the server down gracefully and returns Serve's error. Later
// calls return the same.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(s.Config.ShutdownTimeout + Wait):
			s.err = errors.New("the server did not stop")
		}
	})
	return s.err
}

// Log is what the server has logged so far, at info and above.
func (s *Server) Log() string { return s.logs.String() }

// Addr is the server's host:port, the Host a client names.
func (s *Server) Addr() string { return s.addr }

// WS is the server's WebSocket base URL, ws://127.0.0.1:PORT.
func (s *Server) WS() string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// logBuffer collects the server's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
