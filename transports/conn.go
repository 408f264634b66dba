package transports

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// countingConn counts the bytes of one client connection.
//
// net/http reads ahead: one read may bring a request and the start of the
// next (a pipelining client), so bytes read are not simply the current
// request's. They wait in pending until a request claims them, and a
// request claims only its own size: its header block, then its body.
type countingConn struct {
	net.Conn
	owner atomic.Pointer[counters] // the transport of the request in progress

	readMu  sync.Mutex
	pending int64 // bytes read that no request has claimed yet
	owed    int64 // bytes of the owner's request still to come; -1: all that comes (chunked, hijacked)

	deadlineMu    sync.Mutex
	writeDeadline time.Time // the write deadline in force

	tap atomic.Pointer[wireTap] // inspect.go: nil unless the wire inspector records this connection

	// The response head being written (HTTP/1.1 in the clear): whose it
	// is, until the blank line that ends it has gone out, and its bytes so
	// far and how much of "\r\n\r\n" its last ones matched. Set by
	// claim, used by the writer (one at a time; claim stores headFor last).
	headFor   atomic.Pointer[counters]
	headBytes int64
	headMatch uint8

	tls bool // under TLS: its records are not the requests' sizes (claimFor)

	// The chunks of the response after that head, while its handler asked
	// (followChunks; used by the writer, like the head's), and a WebSocket
	// client's frames, once the handler asked (followFrames; under
	// readMu): nil until then, so the connections that need neither, most
	// of them, do not carry them (conn_parts.go).
	chunks atomic.Pointer[chunkParts]
	frames *frameParts
}

// chunkParts and frameParts are a follower of conn_parts.go and the
// transport it counts for.
type chunkParts struct {
	of *counters
	chunkFollower
}

type frameParts struct {
	of *counters
	frameFollower
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if tp := c.tap.Load(); tp != nil {
		tp.tapped(&c.tap, p[:n], false)
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if f := c.frames; f != nil {
		f.follow(f.of, p[:n])
	}
	take := int64(0)
	if t := c.owner.Load(); t != nil {
		take = int64(n)
		if c.owed >= 0 {
			take = min(take, c.owed)
			c.owed -= take
		}
		t.bytesIn.Add(take)
	}
	c.pending += int64(n) - take
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if tp := c.tap.Load(); tp != nil {
		tp.tapped(&c.tap, p[:n], true)
	}
	rest := p[:n]
	if t := c.headFor.Load(); t != nil {
		rest = c.followHead(t, rest)
	}
	if f := c.chunks.Load(); f != nil && len(rest) > 0 && f.follow(f.of, rest) {
		c.chunks.Store(nil)
	}
	if t := c.owner.Load(); t != nil {
		t.bytesOut.Add(int64(n))
	}
	return n, err
}

// SetWriteDeadline skips a new deadline that only extends the one in force
// by less than a tenth of the time it has left: re-arming the socket's
// timer for every frame costs more than the write itself on a busy
// connection (WebSocket writers set one per frame). So a deadline can come
// up to 10% early, never late. Zero (no deadline) always goes through.
func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if cur := c.writeDeadline; !t.IsZero() && !cur.IsZero() && !t.Before(cur) {
		if left := time.Until(cur); left > 0 && t.Sub(cur) < left/10 {
			return nil
		}
	}
	c.writeDeadline = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines, so the write deadline is known too.
func (c *countingConn) SetDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	c.writeDeadline = t
	return c.Conn.SetDeadline(t)
}

// claim makes t the owner of the connection's bytes for request r: the
// bytes of r already read, and those of its body still to come.
func (c *countingConn) claim(t *counters, r *http.Request) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.owner.Store(t)
	size := headerSize(r)
	t.headsIn.Add(size)
	c.headBytes, c.headMatch = 0, 0
	c.chunks.Store(nil)
	c.headFor.Store(t)
	if r.ContentLength > 0 {
		size += r.ContentLength
	}
	take := min(c.pending, size)
	c.pending -= take
	t.bytesIn.Add(take)
	c.owed = size - take
	if r.ContentLength < 0 { // chunked: its end is known only to its reader
		c.owed = -1
	}
}

// followHead counts the response head in p, the next bytes written, for t:
// up to and including the blank line that ends it. It returns what of p
// follows the head.
func (c *countingConn) followHead(t *counters, p []byte) (rest []byte) {
	const end = "\r\n\r\n"
	for i, b := range p {
		switch {
		case b == end[c.headMatch]:
			c.headMatch++
		case b == '\r':
			c.headMatch = 1
		default:
			c.headMatch = 0
		}
		if int(c.headMatch) == len(end) {
			t.headsOut.Add(c.headBytes + int64(i) + 1)
			c.headFor.Store(nil)
			return p[i+1:]
		}
	}
	c.headBytes += int64(len(p))
	return nil
}

// followChunks has the chunks of the response being written, after its
// head, counted for t (conn_parts.go): for a handler whose response is
// chunked, over HTTP/1.1 in the clear. It must be called before the
// response's first byte is written.
func (c *countingConn) followChunks(t *counters) {
	if c.tls {
		return
	}
	f := &chunkParts{of: t}
	f.begin()
	c.chunks.Store(f)
}

// followFrames has every byte read from now on followed as a WebSocket
// client's frames, counted for t (conn_parts.go): after an upgrade, in the
// clear.
func (c *countingConn) followFrames(t *counters) {
	if c.tls {
		return
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.frames = &frameParts{of: t}
}

// headWritten says the response head has gone out by another way (a
// writer that takes the socket itself counts it): nothing to look for.
func (c *countingConn) headWritten() { c.headFor.Store(nil) }

// hijacked gives every later byte to the owner: the socket is a WebSocket now.
func (c *countingConn) hijacked() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.owed = -1
}

// headerSize is the size of r's request line and header block as a client
// sends them, "Name: value" with one space: net/http keeps no raw bytes.
func headerSize(r *http.Request) int64 {
	n := len(r.Method) + len(" ") + len(r.RequestURI) + len(" ") + len(r.Proto) + len("\r\n")
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + len("\r\n") // net/http moves Host out of Header
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return int64(n + len("\r\n"))
}

// countingListener wraps every accepted connection in a countingConn, and
// bounds its send buffer.
type countingListener struct {
	net.Listener
	sendBuffer int
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	setSendBuffer(c, l.sendBuffer)
	return &countingConn{Conn: c}, nil
}

type connKey struct{}

// withCountingConn is http.Server's ConnContext: it runs before the
// connection is served, so what it sets is seen by every request on it.
func withCountingConn(ctx context.Context, c net.Conn) context.Context {
	cc := countingOf(c)
	if _, isTLS := c.(*tls.Conn); isTLS && cc != nil {
		cc.tls = true
	}
	return context.WithValue(ctx, connKey{}, cc)
}

// countingOf is the counting connection under c: c itself, or the socket
// under its TLS.
func countingOf(c net.Conn) *countingConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*countingConn)
	return cc
}

// connOf returns the client connection serving r (nil outside Serve).
func connOf(r *http.Request) *countingConn {
	c, _ := r.Context().Value(connKey{}).(*countingConn)
	return c
}

// claimFor makes t the owner of the bytes of request r on c. Under TLS a
// request's size says nothing of the records that carried it: a request
// owns every byte read from the end of the one before (the handshake, for
// the first) until the next. An HTTP/2 request owns nothing here: its
// connection's bytes go to http2, and its frames to t (h2count.go).
func (c *countingConn) claimFor(t *counters, r *http.Request) {
	switch {
	case r.ProtoMajor == 2:
	case c.tls:
		c.claimAll(t)
	default:
		c.claim(t, r)
	}
}

func (c *countingConn) claimAll(t *counters) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.owner.Load() == t && c.owed < 0 {
		return
	}
	t.bytesIn.Add(c.pending)
	c.pending, c.owed = 0, -1
	c.owner.Store(t)
}

// setSendBuffer bounds what the kernel queues for one client to about
// bytes (Linux doubles it for its own bookkeeping): past it the server's
// writes block, which is how a client that does not read is found (its
// write times out, or a streaming subscriber is dropped as too slow).
// Without it the buffer grows to megabytes per socket.
func setSendBuffer(c net.Conn, bytes int) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(bytes)
	}
}

// connStateHook releases a connection's owner once its response is fully
// written: what it reads next belongs to its next request.
func connStateHook(c net.Conn, state http.ConnState) {
	cc := countingOf(c)
	switch {
	case cc == nil:
	case state == http.StateIdle:
		cc.owner.Store(nil)
	case state == http.StateHijacked:
		cc.hijacked()
	}
}

// socket writes to a client's connection in the two ways a writer that
// serves many connections needs: tryWrite takes what the socket takes now
// and never waits, so one goroutine can write to many sockets in turn;
// write waits, up to a deadline, for a socket that was full.
type socket struct {
	conn net.Conn
	raw  syscall.RawConn // nil when the connection is not plain TCP (TLS, a pipe): then tryWrite takes nothing
	out  *atomic.Int64   // the bytes-out counter tryWrite adds to (write goes through the counting conn)

	tap *atomic.Pointer[wireTap] // the counting conn's, for the wire inspector (inspect.go)
}

func newSocket(c net.Conn, t *counters) socket {
	s := socket{conn: c}
	if cc, ok := c.(*countingConn); ok {
		c, s.out, s.tap = cc.Conn, &t.bytesOut, &cc.tap
	}
	if tc, ok := c.(*net.TCPConn); ok {
		s.raw, _ = tc.SyscallConn()
	}
	return s
}

// rawWrite is the function tryWrite hands the raw connection, with its
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

// tryWrite writes as much of b as the socket's send buffer takes now.
func (s socket) tryWrite(b []byte) (int, error) {
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
	if s.out != nil {
		s.out.Add(int64(n))
	}
	if s.tap != nil {
		if tp := s.tap.Load(); tp != nil {
			tp.tapped(s.tap, b[:n], true)
		}
	}
	if err == nil {
		err = werr
	}
	return n, err
}

// writePiece is the most write hands the socket at once. A socket that
// was full takes bytes in pieces as it drains; handed a whole batch in one
// write, a small send buffer drained far slower (measured with
// --send-buffer 4096: 64 KiB writes took a WebSocket test 13.5 s, 16 KiB
// pieces 3.4 s).
const writePiece = 16 << 10

// write writes all of b, waiting up to timeout for the socket to take it.
func (s socket) write(b []byte, timeout time.Duration) error {
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

// noDeadline clears the deadline of write, which would otherwise fail a
// later tryWrite once it passed.
func (s socket) noDeadline() { _ = s.conn.SetWriteDeadline(time.Time{}) }

// isTimeout reports whether err is a missed deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
