package direct

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

// Writers of --sse-writer and --longpoll-writer.
const (
	SSELibrary      = "r3labs"  // the SSE streams are written by r3labs/sse
	SSEDirect       = "direct"  // or here (sse.go)
	LongPollNetHTTP = "nethttp" // the long polls are held through net/http
	LongPollDirect  = "direct"  // or here (longpoll.go)
)

// A Host is the server that hands the direct writers its connections, and
// all they need of it: the one interface between them and package
// transports, which fills it in once, in New. The direct writers do what
// the server's own would, on the same figures, the same live
// connections and the same dispatchers.
type Host struct {
	Stats      *wiremeter.Stats   // the figures: SSE's and LongPoll's
	Dispatcher *fanout.Dispatcher // wakes the streams and the held polls after a publish
	Live       *fanout.Live       // the live connections, for --max-clients and the hang-ups
	MaxClients int                // streaming connections allowed at once, 0 = no limit

	// Handler serves the requests that a connection taken from net/http
	// reads after its held poll: the server's own handler.
	Handler http.Handler
	// Answer is the answer to a long poll, as the server makes it.
	Answer func(Poll) Answer

	WriteTimeout    time.Duration   // bounds every write to a client
	ShutdownTimeout time.Duration   // bounds the graceful part of a shutdown
	Shutdown        <-chan struct{} // closed when a graceful shutdown begins
	// Streams counts the connections taken from net/http, which
	// http.Server.Shutdown does not wait for: the server waits for them.
	Streams *sync.WaitGroup
	Log     *slog.Logger

	polls longPolls // idle.go
}

// A Poll is what a long poll asks: the messages after its cursor, up to
// a limit.
type Poll struct {
	Epoch  string // "" when the client did not say: no epoch check
	Cursor uint64
	Limit  int
}

// An Answer is a long poll's answer, encoded.
type Answer struct {
	Body     []byte // never modified: answers are shared by the polls that ask the same
	Messages int
	News     bool // messages, or a missed or reset notice: a long poll answers at once
}

// shuttingDown reports whether a graceful shutdown has begun.
func (h *Host) shuttingDown() bool {
	select {
	case <-h.Shutdown:
		return true
	default:
		return false
	}
}
