package direct

// The state of the direct long polls: the connections between two
// requests, and the counts /metrics shows.

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// longPolls is the state of the direct long polls.
type longPolls struct {
	start sync.Once
	back  chan net.Conn // connections handed back to net/http
	idle  idleConns     // connections between two requests, ended at the shutdown

	// For /metrics: polls held here, and connections taken from net/http
	// and handed back to it.
	held, taken, handedBack atomic.Int64
}

// idleConns is the set of connections between two requests. The
// shutdown's sweep ends them: their reads time out at once, and a
// connection that becomes idle after the sweep is given no time at all.
// (A map under a lock, not a sync.Map: every poll joins and leaves it
// twice, and a sync.Map allocates at each join.)
type idleConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	swept bool
}

// add makes c idle, its next read bounded by timeout, or by now once the
// sweep has run; it returns false then.
func (ic *idleConns) add(c net.Conn, timeout time.Duration) bool {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.swept {
		_ = c.SetReadDeadline(time.Now())
		return false
	}
	if ic.conns == nil {
		ic.conns = make(map[net.Conn]struct{})
	}
	ic.conns[c] = struct{}{}
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	return true
}

// remove: c reads a request (or has left).
func (ic *idleConns) remove(c net.Conn) {
	ic.mu.Lock()
	delete(ic.conns, c)
	ic.mu.Unlock()
}

// sweep ends the idle connections' reads, now and from now on.
func (ic *idleConns) sweep() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.swept = true
	for c := range ic.conns {
		_ = c.SetReadDeadline(time.Now())
	}
}
