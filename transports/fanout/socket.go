package fanout

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"fourway/transports/wiremeter"
)

// A Socket writes to a client's connection in the two ways a writer that
// serves many connections needs: TryWrite takes what the socket takes now
// and never waits, so one goroutine can write to many sockets in turn;
// Write waits, up to a deadline, for a socket that was full.
type Socket struct {
	conn net.Conn
	raw  syscall.RawConn // nil when the connection is not plain TCP (TLS, a pipe): then TryWrite takes nothing

	// What TryWrite writes is counted for t by the counting conn it goes
	// around (Write goes through it); meter is nil when the connection is
	// not a counting conn.
	meter *wiremeter.Conn
	t     *wiremeter.Counters
}

// NewSocket returns the socket of c, whose bytes are counted for t when c
// is a counting conn.
func NewSocket(c net.Conn, t *wiremeter.Counters) Socket {
	s := Socket{conn: c}
	if cc, ok := c.(*wiremeter.Conn); ok {
		c, s.meter, s.t = cc.Conn, cc, t
	}
	if tc, ok := c.(*net.TCPConn); ok {
		s.raw, _ = tc.SyscallConn()
	}
	return s
}

// rawWrites hold the function TryWrite hands the raw connection, with its
// argument and results beside it, taken from a pool. A closure made at
// each call would be allocated at each call, as it escapes into
// RawConn.Write: three allocations a delivery, on every transport the
// dispatchers write (BenchmarkWebSocketWireDelivery).
var rawWrites = sync.Pool{New: func() any {
	w := &rawWrite{}
	w.do = w.write
	return w
}}

type rawWrite struct {
	b   []byte
	n   int
	err error
	do  func(fd uintptr) bool // write, bound once
}

func (w *rawWrite) write(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.b)
		if w.err != syscall.EINTR {
			return true // never wait: a full socket is the caller's to handle
		}
	}
}

// TryWrite writes as much of b as the socket's send buffer takes now.
func (s Socket) TryWrite(b []byte) (int, error) {
	if len(b) == 0 || s.raw == nil {
		return 0, nil
	}
	w := rawWrites.Get().(*rawWrite)
	w.b = b
	err := s.raw.Write(w.do)
	n, werr := w.n, w.err
	w.b, w.err = nil, nil
	rawWrites.Put(w)
	if werr == syscall.EAGAIN {
		werr = nil
	}
	n = max(n, 0)
	if s.meter != nil {
		s.meter.Wrote(s.t, b[:n])
	}
	if err == nil {
		err = werr
	}
	return n, err
}

// writePiece is the most Write hands the socket at once. A socket that
// was full takes bytes in pieces as it drains; handed a whole batch in one
// write, a small send buffer drained far slower (measured with
// --send-buffer 4096: 64 KiB writes took a WebSocket test 13.5 s, 16 KiB
// pieces 3.4 s).
const writePiece = 16 << 10

// Write writes all of b, waiting up to timeout for the socket to take it.
func (s Socket) Write(b []byte, timeout time.Duration) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(timeout))
	for len(b) > 0 {
		n := min(len(b), writePiece)
		if _, err := s.conn.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// NoDeadline clears the deadline of Write, which would otherwise fail a
// later TryWrite once it passed.
func (s Socket) NoDeadline() { _ = s.conn.SetWriteDeadline(time.Time{}) }

// IsTimeout reports whether err is a missed deadline.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
