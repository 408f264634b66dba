package transports

// The live connections: every streaming connection (WebSocket, SSE stream
// or held long poll), known so that --max-clients can count them,
// /api/drop (and a shutdown past its grace) can hang them up, and a node
// cut from its feed's broker can say goodbye to them (health.go); and what
// a client refused at --max-clients is told: when to come back.

import (
	"fourway/transports/wiremeter"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// liveConn is one streaming connection.
type liveConn struct {
	transport string
	hangUp    func() // closes the socket without a goodbye
	// goodbye tells the client why the connection ends, in its transport's
	// words (a WebSocket close frame, an SSE end event, a long poll's 503),
	// then ends it; nil until the connection can say one (then a goodbye
	// is a hang-up). Safe from any goroutine, any number of times.
	goodbye func(why string)
}

// requestCut is the hang-up of one request's exchange: its socket under
// HTTP/1.1; under HTTP/2, where the socket carries the browser's other
// requests too, only its own stream, which the handler resets when cut is
// closed (panicking with http.ErrAbortHandler, net/http's way to reset a
// stream).
//
// A held long poll may instead be told goodbye: cut is closed with the
// socket left open, and the handler answers with why (saidGoodbye).
type requestCut struct {
	cut      chan struct{}
	cutOnce  sync.Once
	hungUp   atomic.Bool
	hangOnce sync.Once
	why      atomic.Pointer[string] // the goodbye's reason, once said
	conn     net.Conn               // nil under HTTP/2
}

func newRequestCut(r *http.Request) *requestCut {
	rc := &requestCut{cut: make(chan struct{})}
	if r.ProtoMajor < 2 {
		if c := wiremeter.ConnOf(r); c != nil {
			rc.conn = c
		}
	}
	return rc
}

func (rc *requestCut) hangUp() {
	rc.hungUp.Store(true)
	rc.cutOnce.Do(func() { close(rc.cut) })
	rc.hangOnce.Do(func() {
		if rc.conn != nil {
			rc.conn.Close()
		}
	})
}

// goodbye closes cut without closing the socket: the handler answers, with
// why (see saidGoodbye), instead of hanging up.
func (rc *requestCut) goodbye(why string) {
	rc.why.CompareAndSwap(nil, &why)
	rc.cutOnce.Do(func() { close(rc.cut) })
}

// saidGoodbye is the reason of a goodbye, if one was said and the socket
// was not hung up as well.
func (rc *requestCut) saidGoodbye() (why string, ok bool) {
	if p := rc.why.Load(); p != nil && !rc.hungUp.Load() {
		return *p, true
	}
	return "", false
}

// wasCut reports whether hangUp was called.
func (rc *requestCut) wasCut() bool { return rc.hungUp.Load() }

// A client refused at --max-clients is told when to come back: an SSE
// stream or a long poll in a 503's Retry-After header (RFC 9110: whole
// seconds) and in its error, a WebSocket in its close 1013's reason, both
// in the same words:
//
//	the server is at its connection limit; retry in 7 s
//
// Each refusal draws its own wait, at random over 1 to RetryAfterMax
// seconds (full jitter), so that the hundreds refused in one moment (all
// the clients of a restarted server, say) do not all come back in the
// same second: a herd of n refused returns at about n/RetryAfterMax a
// second. Never 0, which says "at once" (a node cut from its feed, in
// health.go): a client refused for the limit that came back at once would
// only be refused again.

// RetryAfterMax bounds the wait a refusal asks for, in seconds. A restart
// storm of 1,500 clients at once (600 WebSocket, 600 SSE, 300 long polls)
// is absorbed in under half a second, some 3,000 new clients a second: over
// 10 s, a herd of 30,000 refused comes back no faster than that, and none
// of them waits longer than half the page's own backoff cap (20 s).
const RetryAfterMax = 10

// atLimit is the reason of every refusal at --max-clients, before its wait.
const atLimit = "the server is at its connection limit"

// drawRetryAfter is the wait of one refusal, in whole seconds: 1 to
// RetryAfterMax, uniformly. math/rand/v2's functions are safe for
// concurrent use and cost a few nanoseconds, without a lock.
func drawRetryAfter() int { return 1 + rand.IntN(RetryAfterMax) }

// atLimitReason says the refusal with its wait, well within the 123 bytes
// of a close frame's reason.
func atLimitReason(secs int) string {
	return atLimit + "; retry in " + strconv.Itoa(secs) + " s"
}

// refuseAtLimit answers an SSE stream or a long poll refused at
// --max-clients: 503, Retry-After, and the reason with the same wait.
func refuseAtLimit(c echo.Context) error {
	secs := drawRetryAfter()
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return fail(c, http.StatusServiceUnavailable, atLimitReason(secs))
}

// closeAtLimit is the close frame of a WebSocket refused at --max-clients:
// 1013 (Try Again Later), its reason saying the wait.
func closeAtLimit() []byte {
	return websocket.FormatCloseMessage(closeTryLater, atLimitReason(drawRetryAfter()))
}

type liveConns struct {
	mu    sync.Mutex
	conns map[*liveConn]struct{}
}

// add registers a streaming connection, unless max (> 0) are already open.
func (l *liveConns) add(transport string, hangUp func(), max int) (*liveConn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && len(l.conns) >= max {
		return nil, false
	}
	lc := &liveConn{transport: transport, hangUp: hangUp}
	l.conns[lc] = struct{}{}
	return lc, true
}

// sayGoodbyeWith gives lc its goodbye, once it can say one.
func (l *liveConns) sayGoodbyeWith(lc *liveConn, goodbye func(why string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc.goodbye = goodbye
}

func (l *liveConns) remove(lc *liveConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, lc)
}

// hangUp closes the sockets of the named transport ("all" for every one)
// without a goodbye, as a network failure would, and says how many.
func (l *liveConns) hangUp(transport string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for lc := range l.conns {
		if transport == "all" || transport == lc.transport {
			lc.hangUp()
			n++
		}
	}
	return n
}

// goodbye tells every connection why it ends, in its transport's words,
// and says how many: they reconnect at once, elsewhere, with their cursor.
// One that cannot say a goodbye yet is hung up.
func (l *liveConns) goodbye(why string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for lc := range l.conns {
		if lc.goodbye != nil {
			lc.goodbye(why)
		} else {
			lc.hangUp()
		}
	}
	return len(l.conns)
}
