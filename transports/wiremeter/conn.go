package wiremeter

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Conn counts the bytes of one client connection.
//
// net/http reads ahead: one read may bring a request and the start of the
// next (a pipelining client), so bytes read are not simply the current
// request's. They wait in pending until a request claims them, and a
// request claims only its own size: its header block, then its body.
type Conn struct {
	net.Conn
	owner atomic.Pointer[Counters] // the transport of the request in progress

	readMu  sync.Mutex
	pending int64 // bytes read that no request has claimed yet
	owed    int64 // bytes of the owner's request still to come; -1: all that comes (chunked, hijacked)

	deadlineMu    sync.Mutex
	writeDeadline time.Time // the write deadline in force

	tap atomic.Pointer[observer] // nil unless the wire inspector records this connection (inspect.go)

	// The response head being written (HTTP/1.1 in the clear): whose it
	// is, until the blank line that ends it has gone out, and its bytes so
	// far and how much of "\r\n\r\n" its last ones matched. Set by
	// claim, used by the writer (one at a time; claim stores headFor last).
	headFor   atomic.Pointer[Counters]
	headBytes int64
	headMatch uint8

	tls bool // under TLS: its records are not the requests' sizes (claimFor)

	// The chunks of the response after that head, while its handler asked
	// (FollowChunks; used by the writer, like the head's), and a WebSocket
	// client's frames, once the handler asked (FollowFrames; under
	// readMu): nil until then, so the connections that need neither, most
	// of them, do not carry them (parts.go).
	chunks atomic.Pointer[chunkParts]
	frames *frameParts
}

// chunkParts and frameParts are a follower of parts.go and the
// transport it counts for.
type chunkParts struct {
	of *Counters
	chunkFollower
}

type frameParts struct {
	of *Counters
	frameFollower
}

// An observer sees the bytes of a connection as they cross its socket:
// the wire inspector's tap (inspect.go). observe reports false once it
// wants no more; the connection then drops it.
type observer interface {
	observe(b []byte, out bool) (more bool)
}

// observe hands b, written to (out) or read from the socket, to c's
// observer, if it has one.
func (c *Conn) observe(b []byte, out bool) {
	if o := c.tap.Load(); o != nil && !(*o).observe(b, out) {
		c.tap.CompareAndSwap(o, nil)
	}
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.observe(p[:n], false)
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

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.observe(p[:n], true)
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
func (c *Conn) SetWriteDeadline(t time.Time) error {
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
func (c *Conn) SetDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	c.writeDeadline = t
	return c.Conn.SetDeadline(t)
}

// claim makes t the owner of the connection's bytes for request r: the
// bytes of r already read, and those of its body still to come.
func (c *Conn) claim(t *Counters, r *http.Request) {
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
func (c *Conn) followHead(t *Counters, p []byte) (rest []byte) {
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

// FollowChunks has the chunks of the response being written, after its
// head, counted for t (parts.go): for a handler whose response is
// chunked, over HTTP/1.1 in the clear. It must be called before the
// response's first byte is written.
func (c *Conn) FollowChunks(t *Counters) {
	if c.tls {
		return
	}
	f := &chunkParts{of: t}
	f.begin()
	c.chunks.Store(f)
}

// FollowFrames has every byte read from now on followed as a WebSocket
// client's frames, counted for t (parts.go): after an upgrade, in the
// clear.
func (c *Conn) FollowFrames(t *Counters) {
	if c.tls {
		return
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.frames = &frameParts{of: t}
}

// Wrote counts b, written to the socket under c by a writer that takes
// the socket itself (not through c), for t, and shows it to the wire
// inspector's tap if c has one.
func (c *Conn) Wrote(t *Counters, b []byte) {
	t.bytesOut.Add(int64(len(b)))
	c.observe(b, true)
}

// HeadWritten says the response head has gone out by another way (a
// writer that takes the socket itself counts it): nothing to look for.
func (c *Conn) HeadWritten() { c.headFor.Store(nil) }

// hijacked gives every later byte to the owner: the socket is a WebSocket now.
func (c *Conn) hijacked() {
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

// Listener wraps every accepted connection in a Conn, and
// bounds its send buffer.
type Listener struct {
	net.Listener
	SendBuffer int // bytes; see setSendBuffer
}

func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	setSendBuffer(c, l.SendBuffer)
	return &Conn{Conn: c}, nil
}

type connKey struct{}

// ConnContext is http.Server's ConnContext: it runs before the
// connection is served, so what it sets is seen by every request on it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	cc := Under(c)
	if _, isTLS := c.(*tls.Conn); isTLS && cc != nil {
		cc.tls = true
	}
	return context.WithValue(ctx, connKey{}, cc)
}

// Under returns the counting connection under c: c itself, or the socket
// under its TLS.
func Under(c net.Conn) *Conn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*Conn)
	return cc
}

// ConnOf returns the client connection serving r (nil outside Serve).
func ConnOf(r *http.Request) *Conn {
	c, _ := r.Context().Value(connKey{}).(*Conn)
	return c
}

// Count counts request r: one more for its transport, and the bytes of
// the connection serving it are its transport's from now on.
func (st *Stats) Count(r *http.Request) {
	t := st.transportOf(r.URL.Path)
	t.requests.Add(1)
	if cc := ConnOf(r); cc != nil {
		cc.claimFor(t, r)
	}
}

// claimFor makes t the owner of the bytes of request r on c. Under TLS a
// request's size says nothing of the records that carried it: a request
// owns every byte read from the end of the one before (the handshake, for
// the first) until the next. An HTTP/2 request owns nothing here: its
// connection's bytes go to http2, and its frames to t (h2.go).
func (c *Conn) claimFor(t *Counters, r *http.Request) {
	switch {
	case r.ProtoMajor == 2:
	case c.tls:
		c.claimAll(t)
	default:
		c.claim(t, r)
	}
}

func (c *Conn) claimAll(t *Counters) {
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

// ReadsRequests says that c, hijacked, is read from here on by a server
// of fourway's own that claims each request it reads (the direct long
// poll, which takes its connection from net/http): what c reads next is
// the next request's, claimed once read, as on a connection net/http
// serves. Without it, a hijacked connection's bytes are all its owner's
// (a WebSocket's frames), and a request that followed a held long poll was
// counted for that poll when it came before the poll's answer was out.
func ReadsRequests(c net.Conn) {
	if cc := Under(c); cc != nil {
		cc.readMu.Lock()
		cc.owed = 0
		cc.readMu.Unlock()
	}
}

// ConnState releases a connection's owner once its response is fully
// written: what it reads next belongs to its next request.
func ConnState(c net.Conn, state http.ConnState) {
	cc := Under(c)
	switch {
	case cc == nil:
	case state == http.StateIdle:
		cc.owner.Store(nil)
	case state == http.StateHijacked:
		cc.hijacked()
	}
}
