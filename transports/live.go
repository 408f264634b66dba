package transports

// The live connections: every streaming connection (WebSocket, SSE stream
// or held long poll), known so that --max-clients can count them,
// /api/drop (and a shutdown past its grace) can hang them up, and a node
// cut from its feed's broker can say goodbye to them (health.go).

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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
		if c := connOf(r); c != nil {
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
