// Package transports serves one feed over short polling, long polling,
// Server-Sent Events and WebSocket at the same time, plus publishing, stats,
// health, metrics and the demo controls. The wire contract is in CONTRACT.md.
//
// Read a transport's file first: poll.go, longpoll.go, sse.go and ws.go each
// open with a lesson on how the technique works, what it costs and what
// breaks it, then the handler. The files, the lessons first, then what
// they use:
//
//	poll.go             short polling: the lesson and the handler
//	longpoll.go         long polling: the lesson, the handler, the held polls' shared timers
//	sse.go              Server-Sent Events: the lesson, the handler, the events in order
//	ws.go               WebSocket: the lesson, the handler, the read loop, goodbye and hang-up
//	page.go             the answer both polls share: limits, the 1 MiB cap, one encoding for many
//	cursor.go           cursors, epochs and SSE event ids
//	publish.go          POST /api/messages: what may be published, and how
//	sse_stream.go       how r3labs/sse is tamed: a stream per connection, pacing, deadlines
//	ws_writer.go        a WebSocket's frames, for its pusher: hello, messages, replies, pings
//	ws_hub.go           client ids, and the frames encoded once for every connection
//	sse_direct.go       SSE without the library (--sse-writer direct), to measure the protocol
//	longpoll_direct.go  long polls without net/http's request cycle (--longpoll-writer direct)
//	dispatch.go         the dispatchers: one publish wakes every stream; blocked sockets dropped
//	push.go             a stream's bytes written by whoever wakes it, never waiting
//	socket.go           the write that never waits, and the one deadline helper
//	live.go             the live connections: /api/drop, --max-clients, when to come back
//	health.go           a node cut from its feed's broker, or still starting, says so
//	guard.go            what every request must pass: Host, Origin, tokens, rate, deadlines
//	admin.go            the demo controls and the built-in ticker
//	block.go            refusing one client's WebSocket upgrades (the page's auto panel)
//	config.go           GET /api/config
//	stats.go            GET /api/stats and /metrics, from the counters of wiremeter
//	inspect.go          GET /api/inspect, the wire inspector's recordings (wiremeter)
//	tls.go              HTTPS and HTTP/2: certificates, ALPN, the protocols served
//	routes.go           the whole API in one screen
//	server.go           Server, Config and its ranges, the Feed interface, New, Serve, shutdown
//
// What is measured on the wire, and how, is package wiremeter's: the
// counting socket, the framing it follows, the HTTP/2 meter, the
// inspector and the counters.
//
// One word for one thing: a connection ends with a goodbye (a WebSocket
// close frame, the end of an SSE stream or of a response) or a hang-up (the
// socket closed without one, as a network failure would); a subscriber is
// dropped when its socket stopped taking bytes (see Config.SendTimeout);
// the server shuts down.
package transports

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"fourway/transports/wiremeter"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/r3labs/sse/v2"

	"fourway/feed"
)

// Feed is what the transports need from a feed. feed.Memory is one; a feed
// on a cluster broker would be another, and no transport would notice.
//
// Ids are consecutive within an epoch: the message after id N is N+1, so
// the distance between two cursors is a count of messages (what a reader
// missed, where an SSE reset continues). A broker whose sequence has gaps
// must renumber, or start a new epoch.
type Feed interface {
	// Publish appends one compact JSON value as the next message.
	Publish(data []byte) (feed.Message, error)
	// Epoch names the current id sequence; it changes whenever ids start over.
	Epoch() string
	// Read returns up to limit messages after cursor, with Reset when the
	// cursor's epoch (if not "") is not the current one.
	Read(epoch string, cursor uint64, limit int) feed.Page
	// LastID is the newest id, the cursor of a reader that starts "now".
	LastID() uint64
	// Changed is closed once a message after cursor exists.
	Changed(cursor uint64) <-chan struct{}
	// Close refuses later publishes; reads go on, for a graceful shutdown.
	Close()
	Stats() feed.Stats
}

// Config holds every setting of the server. Start from DefaultConfig and
// change what you need: New refuses a setting out of its range (see
// Validate) rather than guessing. Each setting is the flag of the same name
// in main.go (History is --history).
type Config struct {
	MaxMessage      int           // bytes of encoded data per message
	History         int           // messages the feed retains; bounds the WebSocket frame cache
	Heartbeat       time.Duration // WebSocket ping period
	SSEKeepalive    time.Duration // period of the SSE ": ping" comment
	LongPollTimeout time.Duration // hold time when a long poll names none
	AllowedOrigins  []string      // extra origins allowed to open WebSockets and to send POSTs
	AllowedHosts    []string      // host names (beside IP addresses and localhost) a request may name in Host
	PublishToken    string        // if set, publishing needs it (Authorization: Bearer, or ?token= on a WebSocket)
	AdminToken      string        // if set, the demo controls need it
	MaxClients      int           // streaming connections allowed at once, 0 = no limit
	PublishRate     float64       // publishes per second per client address, 0 = no limit
	Ticker          time.Duration // built-in publisher period, 0 = off
	Node            string        // this node's name among several serving one feed ("" for one alone), in /api/config and the stats
	Links           []Link        // the emulated links in front of the server (--links; config.go)

	// SendTimeout is how long a streaming subscriber's socket may take no
	// bytes at all (a write blocked on a full send buffer) before the
	// subscriber is dropped as too slow (WebSocket 4001, SSE stream cut),
	// to resume from its cursor. A subscriber that is merely behind, after
	// a burst, is never dropped: it catches up, or is told what it missed.
	SendTimeout time.Duration
	// SendBuffer bounds, in bytes, what the kernel queues for one client
	// (the socket's send buffer): past it, writes block.
	SendBuffer int
	// WriteTimeout bounds every write to any client: a response or frame
	// that the client does not take in this time cuts the connection.
	WriteTimeout time.Duration
	// ReadTimeout bounds the time to read a request body.
	ReadTimeout time.Duration
	// HeaderTimeout bounds the time a client has, on a new connection or
	// between its requests, to finish its TLS handshake and send a
	// request's line and headers (under HTTP/2, a request's header block,
	// wiremeter/h2.go): a client that stops halfway is cut.
	HeaderTimeout time.Duration
	// ShutdownTimeout bounds the graceful part of a shutdown.
	ShutdownTimeout time.Duration
	// TLS, when set, makes the server speak HTTPS (LoadTLS, SelfSignedTLS
	// in tls.go), offering HTTP/2 beside HTTP/1.1 when HTTP2 is true. H2C
	// serves cleartext HTTP/2 to clients that start with it (no TLS).
	TLS   *tls.Config
	HTTP2 bool
	H2C   bool
	// SSEWriter writes the SSE streams: "r3labs", the library, or
	// "direct", without it (sse_direct.go), to measure the protocol's
	// own cost beside the library's.
	SSEWriter string
	// LongPollWriter serves held long polls: "nethttp", through net/http
	// as every request, or "direct", on a connection taken from it
	// (longpoll_direct.go), to measure what net/http's request cycle costs.
	LongPollWriter string

	Static fs.FS        // the page, served at /; nil serves no page
	Logger *slog.Logger // nil logs nothing
}

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
		SSEWriter:       sseWriterLibrary,
		LongPollWriter:  longPollWriterNetHTTP,
		HTTP2:           true,
	}
}

// Server serves a feed over the four transports.
type Server struct {
	cfg  Config
	feed Feed
	log  *slog.Logger
	echo *echo.Echo

	stats    wiremeter.Stats
	live     liveConns      // streaming connections, for /api/drop and --max-clients
	shutdown chan struct{}  // closed when a graceful shutdown begins
	streams  sync.WaitGroup // WebSocket read pumps, which http.Server.Shutdown does not wait for

	sse        *sse.Server
	sseStreams sync.Map // the library's stream name -> *sseStream
	sseSeq     atomic.Uint64

	ws   *wsHub
	subs *dispatcher // dispatch.go: wakes every WebSocket and SSE stream after a publish

	publishRate *rateLimiter   // nil: no limit
	answers     answerCache    // page.go: poll answers shared by the polls that ask the same
	holds       holdTimers     // longpoll.go: the held polls' timeouts, one timer for many
	lpDirect    longPollDirect // longpoll_direct.go: --longpoll-writer direct

	ticker     publisher
	adminOpen  bool     // the demo controls need no token (loopback listener, no token set)
	nodeHeader []string // the Fourway-Node header of every answer; nil for a node alone

	inspect wiremeter.Inspector // the wire inspector, on while someone looks
	blocked blockedClients      // block.go: clients whose WebSocket upgrades are refused
	http2   wiremeter.HTTP2     // HTTP/2 served on metered connections (--http2, --h2c)
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
		live:     liveConns{conns: map[*liveConn]struct{}{}},
	}
	if cfg.PublishRate > 0 {
		s.publishRate = newRateLimiter(cfg.PublishRate)
	}
	if cfg.Node != "" {
		s.nodeHeader = []string{cfg.Node}
	}
	s.ws = newWSHub(s.originAllowed, cfg.History)
	s.subs = newDispatcher()
	s.ticker.feed = f
	s.ticker.log = s.log
	s.sse = s.newSSEServer()
	s.echo = s.routes()
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
		oneOf("sse-writer", c.SSEWriter, sseWriterLibrary, sseWriterDirect),
		oneOf("longpoll-writer", c.LongPollWriter, longPollWriterNetHTTP, longPollWriterDirect),
		c.nodeOK(),
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

// nodeField is the hellos' "node" field, when several nodes serve the
// feed: the node a stream is connected to.
func (s *Server) nodeField() string {
	if s.cfg.Node == "" {
		return ""
	}
	return `,"node":"` + s.cfg.Node + `"`
}

// oneOf checks that the setting name is one of the choices.
func oneOf(name, v string, choices ...string) error {
	if !slices.Contains(choices, v) {
		return fmt.Errorf("--%s must be one of %s, not %q", name, strings.Join(choices, ", "), v)
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
			return fmt.Errorf("http2: %w", err)
		}
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
		s.live.hangUp("all")
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

// shuttingDown reports whether a graceful shutdown has begun.
func (s *Server) shuttingDown() bool {
	select {
	case <-s.shutdown:
		return true
	default:
		return false
	}
}

// fail answers with the contract's JSON error.
func fail(c echo.Context, code int, msg string) error {
	return c.JSON(code, map[string]string{"error": msg})
}

// errorHandler turns echo's own errors (404, 405, ...) into JSON errors.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg = fmt.Sprint(he.Message)
	} else {
		s.log.Error("handler failed", "path", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = fail(c, code, msg)
}
