// Package transports serves one feed over short polling, long polling,
// Server-Sent Events and WebSocket at the same time, plus publishing, stats,
// health, metrics and the demo controls. The wire contract is in CONTRACT.md.
//
// Read a transport's file first: poll.go, longpoll.go, sse.go and ws.go each
// open with a lesson on how the technique works, what it costs and what
// breaks it, then the handler. The files, from the top down, each above
// what it uses (but for the writers of a stream, which use their
// lesson's types):
//
//	serve.go            New, the settings' ranges and defaults, Serve and the graceful shutdown
//	routes.go           the whole API in one screen
//	admin.go            the demo controls: POST /api/drop and /api/ticker
//	block.go            refusing one client's WebSocket upgrades (the page's auto panel)
//	config.go           GET /api/config
//	stats.go            GET /api/stats and /metrics, from the counters of wiremeter
//	inspect.go          GET /api/inspect, the wire inspector's recordings (wiremeter)
//	poll.go             short polling: the lesson and the handler
//	longpoll.go         long polling: the lesson and the handler
//	sse.go              Server-Sent Events: the lesson, the handler, the events in order
//	ws.go               WebSocket: the lesson, the handler, the read loop, goodbye and hang-up
//	direct.go           streams and held polls handed to package direct's writers
//	sse_stream.go       how r3labs/sse is tamed: a stream per connection, pacing, deadlines
//	ws_writer.go        a WebSocket's frames, for its pusher: hello, messages, replies, pings
//	ws_clients.go       the WebSockets by client id, and the upgrader
//	page.go             the answer both polls share: limits, the 1 MiB cap, one encoding for many
//	publish.go          POST /api/messages: what may be published, and how
//	health.go           a node cut from its feed's broker, or still starting, says so
//	limit.go            what a client refused at --max-clients is told: when to come back
//	ws_close.go         a WebSocket's close codes, as the contract names them
//	guard.go            what every request must pass: Host, Origin, tokens, rate, deadlines
//	cursor.go           cursors, epochs and SSE event ids
//	tls.go              HTTPS and HTTP/2: certificates, ALPN, the protocols served
//	server.go           Server and Config
//	answers.go          the answers made last, shared by the polls that ask the same
//	ticker.go           the built-in ticker, which publishes on its own
//	feed.go             the Feed interface, what the transports need of a feed
//	compress.go         gzip for poll answers and SSE streams (--compress), each event alone, once for all
//
// How one publish reaches every socket is package fanout's: the
// dispatchers, the writes that never wait, the live connections, the
// frames encoded once. What is measured on the wire, and how, is package
// wiremeter's: the counting socket, the framing it follows, the HTTP/2
// meter, the inspector and the counters. The writers that exist to
// measure what a library costs (--sse-writer direct, --longpoll-writer
// direct) are package direct's.
//
// One word for one thing: a connection ends with a goodbye (a WebSocket
// close frame, the end of an SSE stream or of a response) or a hang-up (the
// socket closed without one, as a network failure would); a subscriber is
// dropped when its socket stopped taking bytes (see Config.SendTimeout);
// the server shuts down.
package transports

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/r3labs/sse/v2"

	"fourway/transports/direct"
	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

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
	// "direct", without it (package direct), to measure the protocol's
	// own cost beside the library's.
	SSEWriter string
	// LongPollWriter serves held long polls: "nethttp", through net/http
	// as every request, or "direct", on a connection taken from it
	// (package direct), to measure what net/http's request cycle costs.
	LongPollWriter string
	// Compress offers compression to the clients that ask for it (off by
	// default, so that the bytes on the wire are the messages' own):
	// permessage-deflate on a WebSocket whose upgrade offers it, each
	// message compressed once for all (fanout/frames.go); gzip on SSE
	// streams and poll answers to a request whose Accept-Encoding offers
	// it (compress.go). The direct writers do not compress: --compress
	// refuses them.
	Compress bool

	Static fs.FS        // the page, served at /; nil serves no page
	Logger *slog.Logger // nil logs nothing
}

// Server serves a feed over the four transports.
type Server struct {
	cfg  Config
	feed Feed
	log  *slog.Logger
	echo *echo.Echo

	stats    wiremeter.Stats
	live     fanout.Live    // streaming connections, for /api/drop and --max-clients
	shutdown chan struct{}  // closed when a graceful shutdown begins
	streams  sync.WaitGroup // WebSocket read pumps, which http.Server.Shutdown does not wait for

	sse        *sse.Server
	sseStreams sync.Map // the library's stream name -> *sseStream
	sseSeq     atomic.Uint64
	sseDeflate *deflateCache // compress.go: the SSE events compressed last, for every stream

	ws   *wsClients         // ws_clients.go: the WebSockets by client id
	subs *fanout.Dispatcher // wakes every WebSocket and SSE stream after a publish

	publishRate *rateLimiter      // nil: no limit
	answers     answerCache       // page.go: poll answers shared by the polls that ask the same
	holds       fanout.HoldTimers // the held polls' timeouts, one timer for many
	direct      *direct.Host      // the writers of --sse-writer direct and --longpoll-writer direct (direct.go)

	ticker     publisher
	adminOpen  bool     // the demo controls need no token (loopback listener, no token set)
	nodeHeader []string // the Fourway-Node header of every answer; nil for a node alone

	inspect wiremeter.Inspector // the wire inspector, on while someone looks
	blocked blockedClients      // block.go: clients whose WebSocket upgrades are refused
	http2   wiremeter.HTTP2     // HTTP/2 served on metered connections (--http2, --h2c)
}

// nodeField is the hellos' "node" field, when several nodes serve the
// feed: the node a stream is connected to.
func (s *Server) nodeField() string {
	if s.cfg.Node == "" {
		return ""
	}
	return `,"node":"` + s.cfg.Node + `"`
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

// blockedClients are the client ids whose WebSocket upgrades are refused
// (block.go).
type blockedClients struct {
	n   atomic.Int64 // len(ids), read without the lock
	mu  sync.Mutex
	ids map[string]struct{}
}
