package fanout

// The live connections: every streaming connection (WebSocket, SSE stream
// or held long poll), known so that a limit can count them, a demo
// control (and a shutdown past its grace) can hang them up, and a node cut
// from its feed's broker can say goodbye to them.

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"fourway/transports/wiremeter"
)

// A LiveConn is one streaming connection.
type LiveConn struct {
	transport string
	hangUp    func() // closes the socket without a goodbye
	// goodbye tells the client why the connection ends, in its transport's
	// words (a WebSocket close frame, an SSE end event, a long poll's 503),
	// then ends it; nil until the connection can say one (then a goodbye
	// is a hang-up). Safe from any goroutine, any number of times.
	goodbye func(why string)
}

// A RequestCut is the hang-up of one request's exchange: its socket under
// HTTP/1.1; under HTTP/2, where the socket carries the browser's other
// requests too, only its own stream, which the handler resets when cut is
// closed (panicking with http.ErrAbortHandler, net/http's way to reset a
// stream).
//
// A held long poll may instead be told goodbye: Cut is closed with the
// socket left open, and the handler answers with why (SaidGoodbye).
type RequestCut struct {
	cut      chan struct{}
	cutOnce  sync.Once
	hungUp   atomic.Bool
	hangOnce sync.Once
	why      atomic.Pointer[string] // the goodbye's reason, once said
	conn     net.Conn               // nil under HTTP/2
}

// NewRequestCut returns the cut of r's exchange.
func NewRequestCut(r *http.Request) *RequestCut {
	rc := &RequestCut{cut: make(chan struct{})}
	if r.ProtoMajor < 2 {
		if c := wiremeter.ConnOf(r); c != nil {
			rc.conn = c
		}
	}
	return rc
}

// Cut is closed once the exchange is cut, or told goodbye.
func (rc *RequestCut) Cut() <-chan struct{} { return rc.cut }

// HangUp closes the socket (under HTTP/2, has the handler reset the
// stream) and closes Cut. Safe from any goroutine, any number of times.
func (rc *RequestCut) HangUp() {
	rc.hungUp.Store(true)
	rc.cutOnce.Do(func() { close(rc.cut) })
	rc.hangOnce.Do(func() {
		if rc.conn != nil {
			rc.conn.Close()
		}
	})
}

// Goodbye closes Cut without closing the socket: the handler answers,
// with why (see SaidGoodbye), instead of hanging up.
func (rc *RequestCut) Goodbye(why string) {
	rc.why.CompareAndSwap(nil, &why)
	rc.cutOnce.Do(func() { close(rc.cut) })
}

// SaidGoodbye is the reason of a goodbye, if one was said and the socket
// was not hung up as well.
func (rc *RequestCut) SaidGoodbye() (why string, ok bool) {
	if p := rc.why.Load(); p != nil && !rc.hungUp.Load() {
		return *p, true
	}
	return "", false
}

// WasCut reports whether HangUp was called.
func (rc *RequestCut) WasCut() bool { return rc.hungUp.Load() }

// Live is the set of live connections. The zero Live is empty and ready.
type Live struct {
	mu    sync.Mutex
	conns map[*LiveConn]struct{}
}

// Add registers a streaming connection of transport, which hangUp closes
// without a goodbye, unless max (> 0) are already open.
func (l *Live) Add(transport string, hangUp func(), max int) (*LiveConn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && len(l.conns) >= max {
		return nil, false
	}
	if l.conns == nil {
		l.conns = map[*LiveConn]struct{}{}
	}
	lc := &LiveConn{transport: transport, hangUp: hangUp}
	l.conns[lc] = struct{}{}
	return lc, true
}

// SayGoodbyeWith gives lc its goodbye, once it can say one.
func (l *Live) SayGoodbyeWith(lc *LiveConn, goodbye func(why string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc.goodbye = goodbye
}

// Remove forgets lc: the connection is over.
func (l *Live) Remove(lc *LiveConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, lc)
}

// HangUp closes the sockets of the named transport ("all" for every one)
// without a goodbye, as a network failure would, and says how many.
func (l *Live) HangUp(transport string) int {
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

// Goodbye tells every connection why it ends, in its transport's words,
// and says how many: they reconnect at once, elsewhere, with their cursor.
// One that cannot say a goodbye yet is hung up.
func (l *Live) Goodbye(why string) int {
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
