package transports

// The live connections: every streaming connection (WebSocket, SSE stream
// or held long poll), known so that --max-clients can count them and
// /api/drop (and a shutdown past its grace) can hang them up.

import (
	"net"
	"net/http"
	"sync"
)

// liveConn is one streaming connection.
type liveConn struct {
	transport string
	hangUp    func() // closes the socket without a goodbye
}

// requestCut is the hang-up of one request's exchange: its socket under
// HTTP/1.1; under HTTP/2, where the socket carries the browser's other
// requests too, only its own stream, which the handler resets when cut is
// closed (panicking with http.ErrAbortHandler, net/http's way to reset a
// stream).
type requestCut struct {
	cut  chan struct{}
	once sync.Once
	conn net.Conn // nil under HTTP/2
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
	rc.once.Do(func() {
		close(rc.cut)
		if rc.conn != nil {
			rc.conn.Close()
		}
	})
}

// wasCut reports whether hangUp was called.
func (rc *requestCut) wasCut() bool {
	select {
	case <-rc.cut:
		return true
	default:
		return false
	}
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
