package transports

// Making a server and running it: New checks the settings and wires the
// parts together; Serve accepts connections until its context is done,
// then shuts down gracefully.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"fourway/transports/direct"
	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

// DefaultConfig returns the defaults of the wire contract.
func DefaultConfig() Config {
	return Config{
		MaxMessage:      64 << 10,
		History:         1000,
		Heartbeat:       25 * time.Second,
		SSEKeepalive:    15 * time.Second,
		LongPollTimeout: 30 * time.Second,
		SendTimeout:     2 * time.Second,
		SendBuffer:      256 << 10,
		WriteTimeout:    10 * time.Second,
		ReadTimeout:     5 * time.Second,
		HeaderTimeout:   10 * time.Second,
		ShutdownTimeout: 15 * time.Second, // long enough for a stuck client's last write to time out
		Ticker:          time.Second,
		SSEWriter:       direct.SSELibrary,
		LongPollWriter:  direct.LongPollNetHTTP,
		HTTP2:           true,
	}
}

// New returns a server for f, or the error of the first setting of cfg out
// of its range. Call Serve to run it, or mount Handler on a server of
// your own.
func New(f Feed, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		feed:     f,
		log:      cfg.Logger,
		shutdown: make(chan struct{}),
	}
	if cfg.PublishRate > 0 {
		s.publishRate = newRateLimiter(cfg.PublishRate)
	}
	if cfg.Node != "" {
		s.nodeHeader = []string{cfg.Node}
	}
	s.ws = newWSClients(s.originAllowed, cfg.History, cfg.Compress)
	s.subs = fanout.NewDispatcher(f, cfg.SendTimeout, s.shutdown)
	s.ticker.feed = f
	s.ticker.log = s.log
	s.sseDeflate = newDeflateCache(cfg.MaxMessage)
	s.sse = s.newSSEServer()
	s.echo = s.routes()
	s.direct = s.newDirectHost() // direct.go
	return s, nil
}

// Validate checks every setting against its range, and names the first one
// out of it by its flag.
func (c Config) Validate() error {
	return errors.Join(
		inRange("history", c.History, 1, 1_000_000),
		inRange("max-message", c.MaxMessage, 1, 16<<20),
		inRange("max-clients", c.MaxClients, 0, 10_000_000),
		inRange("send-buffer", c.SendBuffer, 4<<10, 64<<20),
		inRange("heartbeat", c.Heartbeat, 10*time.Millisecond, time.Hour),
		inRange("sse-keepalive", c.SSEKeepalive, 10*time.Millisecond, time.Hour),
		inRange("longpoll-timeout", c.LongPollTimeout, 10*time.Millisecond, time.Duration(maxLongPollTimeout)*time.Second),
		inRange("send-timeout", c.SendTimeout, 10*time.Millisecond, time.Hour),
		inRange("write-timeout", c.WriteTimeout, 10*time.Millisecond, time.Hour),
		inRange("read-timeout", c.ReadTimeout, 10*time.Millisecond, time.Hour),
		inRange("header-timeout", c.HeaderTimeout, 10*time.Millisecond, time.Hour),
		inRange("shutdown-timeout", c.ShutdownTimeout, 10*time.Millisecond, time.Hour),
		orOff("ticker", c.Ticker, minTickerPeriod, 24*time.Hour),
		orOff("publish-rate", c.PublishRate, 1.0/3600, 1e6),
		c.sendUnderWrite(),
		oneOf("sse-writer", c.SSEWriter, direct.SSELibrary, direct.SSEDirect),
		oneOf("longpoll-writer", c.LongPollWriter, direct.LongPollNetHTTP, direct.LongPollDirect),
		c.nodeOK(),
		c.compressOK(),
		c.tlsOK(),
	)
}

// inRange checks that the setting name is within [lo, hi].
func inRange[T int | float64 | time.Duration](name string, v, lo, hi T) error {
	if v < lo || v > hi {
		return fmt.Errorf("--%s must be from %v to %v, not %v", name, lo, hi, v)
	}
	return nil
}

// orOff checks a setting for which 0 means off: any other value must be
// within [lo, hi].
func orOff[T float64 | time.Duration](name string, v, lo, hi T) error {
	if v != 0 && (v < lo || v > hi) {
		return fmt.Errorf("--%s must be 0 (off) or from %v to %v, not %v", name, lo, hi, v)
	}
	return nil
}

// nodeName is what a node may be called (Config.Node): a host name's
// characters, so it goes into JSON and headers as it is.
var nodeName = regexp.MustCompile(`^[A-Za-z0-9._-]{0,64}$`)

func (c Config) nodeOK() error {
	if !nodeName.MatchString(c.Node) {
		return fmt.Errorf("--node must be at most 64 letters, digits, dots, dashes or underscores, not %q", c.Node)
	}
	return nil
}

// oneOf checks that the setting name is one of the choices.
func oneOf(name, v string, choices ...string) error {
	if !slices.Contains(choices, v) {
		return fmt.Errorf("--%s must be one of %s, not %q", name, strings.Join(choices, ", "), v)
	}
	return nil
}

// compressOK refuses --compress with a direct writer: those write their
// bytes to the socket themselves, and compress none of them.
func (c Config) compressOK() error {
	if c.Compress && (c.SSEWriter == direct.SSEDirect || c.LongPollWriter == direct.LongPollDirect) {
		return fmt.Errorf("--compress works with --sse-writer %s and --longpoll-writer %s only: the direct writers do not compress", direct.SSELibrary, direct.LongPollNetHTTP)
	}
	return nil
}

func (c Config) sendUnderWrite() error {
	if c.SendTimeout >= c.WriteTimeout {
		return fmt.Errorf("--send-timeout (%v) must be under --write-timeout (%v): a slow subscriber is told to resume before its writes are cut", c.SendTimeout, c.WriteTimeout)
	}
	return nil
}

// Handler returns the server's HTTP handler, complete on its own: mounted
// on a server of your own it serves all four transports. What only Serve
// adds: the byte counts (they need its listener; a handler used elsewhere
// counts requests but no bytes), the bounded send buffers, the built-in
// publisher, the demo controls on loopback, and the graceful shutdown.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully: publishing stops, every subscriber is sent what was published
// up to then, WebSockets get close 1001, SSE streams end and held long polls
// are answered. It returns once every connection is done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.AdminToken == "" {
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
			s.adminOpen = true
		}
	}
	base, hardStop := context.WithCancel(context.Background())
	defer hardStop()
	srv, err := s.httpServer(base)
	if err != nil {
		return err
	}
	s.ticker.set(s.cfg.Ticker)
	go s.watchHealth() // health.go
	served := make(chan error, 1)
	go func() {
		cl := wiremeter.Listener{Listener: ln, SendBuffer: s.cfg.SendBuffer}
		if s.cfg.TLS == nil {
			served <- srv.Serve(cl)
			return
		}
		served <- srv.ServeTLS(cl, "", "") // the certificate is in TLSConfig
	}()

	select {
	case err := <-served:
		s.ticker.set(0)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return s.shutDown(srv, hardStop)
}

// httpServer is the http.Server that Serve runs, its requests' contexts
// made from base.
func (s *Server) httpServer(base context.Context) (*http.Server, error) {
	srv := &http.Server{
		Handler: s.echo,
		// No ReadTimeout or WriteTimeout: they would cut SSE streams and
		// long polls. Streaming handlers bound each write themselves.
		ReadHeaderTimeout: s.cfg.HeaderTimeout, // net/http bounds a TLS handshake with it too
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnContext:       wiremeter.ConnContext,
		ConnState:         wiremeter.ConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		Protocols:         s.cfg.protocols(), // tls.go
	}
	if s.cfg.TLS != nil {
		srv.TLSConfig = s.cfg.tlsConfig()
	}
	if (s.cfg.TLS != nil && s.cfg.HTTP2) || s.cfg.H2C {
		s.http2 = wiremeter.HTTP2{Stats: &s.stats, HeaderTimeout: s.cfg.HeaderTimeout, Log: s.log}
		if err := s.http2.Configure(srv); err != nil {
			return nil, fmt.Errorf("http2: %w", err)
		}
	}
	return srv, nil
}

// shutDown shuts srv down gracefully, within the shutdown timeout; past
// it, hardStop cancels every request's context and every connection is
// hung up.
func (s *Server) shutDown(srv *http.Server, hardStop context.CancelFunc) error {
	s.log.Info("shutting down")
	s.ticker.set(0)
	s.feed.Close() // from here on, LastID is final: every ack was for an id <= it
	close(s.shutdown)

	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	go s.http2.CloseIdle(grace) // HTTP/2 connections that missed the GOAWAY
	err := srv.Shutdown(grace)  // waits for SSE and long-poll handlers to finish
	wsDone := make(chan struct{})
	go func() { s.streams.Wait(); close(wsDone) }()
	select {
	case <-wsDone:
	case <-grace.Done():
	}
	if err != nil {
		hardStop()
		srv.Close()
		s.live.HangUp("all")
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}
