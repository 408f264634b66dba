package transports

// The live connections: every streaming connection (WebSocket, SSE stream
// or held long poll), known so that --max-clients can count them and
// /api/drop (and a shutdown past its grace) can hang them up.

import (
	"net"
	"sync"
)

// liveConn is one streaming connection.
type liveConn struct {
	transport string
	hangUp    func() // closes the socket without a goodbye
}

// hangUpConn returns the hang-up of a plain HTTP connection (nil outside
// Serve: then there is no socket to close, and nothing happens).
func hangUpConn(c net.Conn) func() {
	return func() {
		if c != nil {
			c.Close()
		}
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
