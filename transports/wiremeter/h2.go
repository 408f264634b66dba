// golang.org/x/net/http2's server is deprecated in favour of net/http's,
// which serves HTTP/2 only on a *tls.Conn it reads itself; ServeConn is
// the one way to serve it on a conn that meters the frames, and from Go
// 1.27 it hands the conn to net/http's own server.
//
//lint:file-ignore SA1019 ServeConn serves HTTP/2 on the metered conn (see above)

package wiremeter

// Counting HTTP/2 per stream.
//
// Under HTTP/1.1 a connection serves one request at a time, so its bytes
// belong to that request's transport (conn.go). Under HTTP/2 one connection
// carries a page's polls, its SSE stream and its other requests at once,
// interleaved frame by frame, so the socket alone cannot say whose a byte
// is. The frames can: every frame starts with a 9-byte header naming its
// stream. So the HTTP/2 server reads and writes the connection through an
// h2Conn, above TLS, where the frames are in the clear, and h2Meter follows
// them in both directions:
//
//   - a stream's frames (HEADERS and CONTINUATION as HPACK encoded them,
//     DATA, and its RST_STREAM, WINDOW_UPDATE and PRIORITY frames), each
//     with its 9-byte header, are its transport's, as a request's bytes are
//     under HTTP/1.1. The transport of a stream is its request's path,
//     which the meter reads from the client's header block with an HPACK
//     decoder of its own (the server's is not reachable; both see every
//     block in order, so their tables agree).
//   - the connection's own frames (the client's preface, SETTINGS, PING,
//     GOAWAY, the connection's WINDOW_UPDATE: stream 0), and frames for a
//     stream already closed, are the connection's.
//   - what TLS adds (the handshake, each record's header and tag) is the
//     socket's bytes less the frames': /api/stats shows it apart, since a
//     record can carry frames of several streams.
//
// A frame is counted once it has passed whole; the counting conn under TLS
// counts the socket's bytes (conn.go), all of them to http2.

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	h2FrameHeader = 9
	h2PrefaceLen  = len(http2.ClientPreface)
	// h2BlockMax bounds the header block the meter holds to decode: past
	// it the server refuses the request anyway (MaxHeaderBytes is 64 KiB),
	// and the meter stops decoding that connection's blocks.
	h2BlockMax = 256 << 10
	// h2IdleSweep is how often a shutdown closes the HTTP/2 connections
	// with no stream open, after the GOAWAY that should have closed them.
	h2IdleSweep = 250 * time.Millisecond
)

// HTTP/2 frame types and flags the meter looks at (RFC 9113, section 6).
const (
	h2Data         = 0x0
	h2Headers      = 0x1
	h2RSTStream    = 0x3
	h2Continuation = 0x9

	h2EndStream  = 0x1
	h2EndHeaders = 0x4
	h2Padded     = 0x8
	h2Priority   = 0x20
)

// HTTP2 serves HTTP/2 on metered connections, counted in Stats.
type HTTP2 struct {
	Stats         *Stats
	HeaderTimeout time.Duration // --header-timeout: bounds each header block (h2Conn.awaitHeaders); 0, no bound
	Log           *slog.Logger
	conns         h2Conns
}

// Configure makes srv serve HTTP/2 (over TLS, and cleartext for
// --h2c) on connections metered per stream: golang.org/x/net/http2's
// server, which serves any net.Conn, in place of net/http's copy of it,
// which serves only a *tls.Conn it reads itself. That server has no
// header timeout of its own (only an idle one, from srv): the meter, which
// sees every header block go by, bounds them with --header-timeout.
func (h *HTTP2) Configure(srv *http.Server) error {
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(srv, h2); err != nil { // also: GOAWAY at Shutdown
		return err
	}
	serve := func(hs *http.Server, c net.Conn, handler http.Handler, sawPreface bool) {
		// net/http hands its per-connection context down this way (the
		// ConnContext of conn.go is in it), as to its own HTTP/2 server.
		var ctx context.Context
		if bc, ok := handler.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		metered, m := h.Stats.meter(c, sawPreface, h.HeaderTimeout)
		h.conns.add(metered, m)
		defer h.conns.remove(metered)
		h2.ServeConn(metered, &http2.ServeConnOpts{
			Context: ctx, Handler: handler, BaseConfig: hs, SawClientPreface: sawPreface,
		})
	}
	srv.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, handler http.Handler) {
		serve(hs, c, handler, false)
	}
	// Cleartext HTTP/2 arrives, its preface read, as a *tls.Conn that only
	// wraps the plain connection (net/http's convention for this key).
	srv.TLSNextProto["unencrypted_http2"] = func(hs *http.Server, c *tls.Conn, handler http.Handler) {
		plain, ok := c.NetConn().(interface{ UnencryptedNetConn() net.Conn })
		if !ok {
			h.Log.Error("http2: a TLS connection in the cleartext handoff; closed")
			c.Close()
			return
		}
		serve(hs, plain.UnencryptedNetConn(), handler, true)
	}
	return nil
}

// meter wraps c, an HTTP/2 connection (a *tls.Conn, or the counting conn
// itself for cleartext), so its frames are counted per stream by the
// meter it returns too, and its client's header blocks are bounded by
// headerTimeout (see h2Conn.awaitHeaders; 0, no bound); the socket under
// it gives all its bytes to http2 from here on.
func (st *Stats) meter(c net.Conn, sawPreface bool, headerTimeout time.Duration) (net.Conn, *h2Meter) {
	if cc := Under(c); cc != nil {
		cc.claimAll(&st.http2)
	}
	m := &h2Meter{st: st, streams: map[uint32]*h2Stream{}}
	m.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":path" {
			m.path = f.Value
		}
	})
	m.dec.SetMaxStringLength(h2BlockMax)
	m.in.m, m.out.m, m.out.dir = m, m, Out
	if sawPreface {
		m.in.count(&st.h2conn, int64(h2PrefaceLen), 0, false)
	} else {
		m.in.preface = h2PrefaceLen
	}
	plain := h2Conn{Conn: c, m: m, headerTimeout: headerTimeout}
	plain.awaitHeaders() // the first request's, from now
	if tc, ok := c.(*tls.Conn); ok {
		return &h2TLSConn{plain, tc}, m
	}
	return &plain, m
}

// h2Conns are the HTTP/2 connections being served. At a shutdown net/http
// waits for every one of them to close, and the HTTP/2 server closes one
// once it has sent its GOAWAY and its streams have ended; but a connection
// whose serving began just as the shutdown did misses the GOAWAY, and
// would hold the shutdown for its whole grace. So closeIdle closes, until
// the grace is over, every connection with no stream open.
type h2Conns struct {
	mu    sync.Mutex
	conns map[net.Conn]*h2Meter
}

func (cs *h2Conns) add(c net.Conn, m *h2Meter) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.conns == nil {
		cs.conns = map[net.Conn]*h2Meter{}
	}
	cs.conns[c] = m
}

func (cs *h2Conns) remove(c net.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.conns, c)
}

// CloseIdle closes, every h2IdleSweep until done, the HTTP/2 connections
// with no stream open: at a shutdown, the server's own GOAWAY has had its
// chance (see h2Conns).
func (h *HTTP2) CloseIdle(done context.Context) { h.conns.closeIdle(done) }

// closeIdle closes the connections with no stream open, every
// h2IdleSweep until done; the server's own GOAWAY has had its chance.
func (cs *h2Conns) closeIdle(done context.Context) {
	t := time.NewTicker(h2IdleSweep)
	defer t.Stop()
	for {
		select {
		case <-done.Done():
			return
		case <-t.C:
		}
		cs.mu.Lock()
		for c, m := range cs.conns {
			if m.open() == 0 {
				c.Close()
			}
		}
		cs.mu.Unlock()
	}
}

// h2Conn is an HTTP/2 connection as its server reads and writes it, each
// byte passed to the meter as it goes by.
type h2Conn struct {
	net.Conn
	m *h2Meter

	// Used by the server's reading goroutine only (awaitHeaders).
	headerTimeout time.Duration
	headersDue    time.Time // the read deadline set for the header block awaited; zero when none is
}

func (c *h2Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.m.in.follow(p[:n])
	c.awaitHeaders()
	return n, err
}

// awaitHeaders bounds, with the connection's read deadline, the time its
// client has to send a request's header block whole, as net/http's
// ReadHeaderTimeout does under HTTP/1.1: the first request's from the
// start of the connection (its TLS handshake or preface was bounded
// before), each later one's from its first frame. A connection that never
// finishes one (its preface alone, a block a byte at a time) is closed
// when its read misses the deadline. While no block is awaited (between
// requests, while streams are open) no deadline is set: the idle timeout
// ends an idle connection, and a stream (SSE) lasts as long as it likes.
// (A block holds up the whole connection until it ends: no other frame
// may come between its frames, RFC 9113, section 6.10.)
func (c *h2Conn) awaitHeaders() {
	if c.headerTimeout <= 0 {
		return
	}
	in := &c.m.in
	awaited := in.inBlock || in.blocks == 0
	switch {
	case awaited && c.headersDue.IsZero():
		c.headersDue = time.Now().Add(c.headerTimeout)
		_ = c.Conn.SetReadDeadline(c.headersDue)
	case !awaited && !c.headersDue.IsZero():
		c.headersDue = time.Time{}
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

func (c *h2Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.m.out.follow(p[:n])
	return n, err
}

// h2TLSConn is an h2Conn over TLS: the server checks its TLS state (the
// version and cipher HTTP/2 requires) and gives it to requests as r.TLS.
type h2TLSConn struct {
	h2Conn
	tc *tls.Conn
}

func (c *h2TLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// h2Meter follows one HTTP/2 connection's frames and counts each where it
// belongs. in runs on the server's reading goroutine, out on its writing
// one; the streams are shared, under mu.
type h2Meter struct {
	st      *Stats
	in, out h2Frames

	mu      sync.Mutex
	streams map[uint32]*h2Stream // the open streams

	dec  *hpack.Decoder // the client's header blocks (in only); nil once one failed
	path string         // the :path of the block being decoded
}

// open is how many streams are open: a stream counts from the end of its
// request's header block to the last frame of both sides, or a reset.
func (m *h2Meter) open() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.streams)
}

// h2Stream is one open stream: whose it is, and which sides have ended it.
type h2Stream struct {
	t     *Counters
	ended [2]bool // by In, Out
}

// h2Frames follows the frames of one direction through the bytes as they
// pass, in whatever pieces the reads and writes cut them.
type h2Frames struct {
	m       *h2Meter
	dir     int
	preface int // bytes of the client's preface still to pass (in only)

	head   [h2FrameHeader]byte
	got    int    // bytes of head so far
	length uint32 // the frame's payload length
	left   uint32 // bytes of it still to pass

	// A client's header block (HEADERS, then CONTINUATION until one ends
	// it) is decoded for its :path, and counted when it ends, once its
	// stream's transport is known.
	inBlock    bool  // a block has begun and not ended (in only)
	blocks     int64 // blocks ended (in only)
	block      []byte
	collecting bool  // this frame's payload goes to block
	held       int64 // bytes of the block's frames before the last
	heldFrames int64
}

// follow takes the next bytes of the direction.
func (f *h2Frames) follow(p []byte) {
	for len(p) > 0 {
		switch {
		case f.preface > 0:
			k := min(len(p), f.preface)
			f.preface -= k
			p = p[k:]
			f.count(&f.m.st.h2conn, int64(k), 0, false)
		case f.got < h2FrameHeader:
			k := copy(f.head[f.got:], p)
			f.got += k
			p = p[k:]
			if f.got == h2FrameHeader {
				f.length = uint32(f.head[0])<<16 | uint32(f.head[1])<<8 | uint32(f.head[2])
				f.left = f.length
				typ := f.head[3]
				f.collecting = f.dir == In && f.m.dec != nil && (typ == h2Headers || typ == h2Continuation)
				f.inBlock = f.inBlock || f.dir == In && typ == h2Headers
				if f.left == 0 {
					f.frameEnd()
				}
			}
		default:
			k := min(uint32(len(p)), f.left)
			if f.collecting {
				if len(f.block)+int(k) > h2BlockMax {
					f.m.dec, f.collecting, f.block = nil, false, nil
				} else {
					f.block = append(f.block, p[:k]...)
				}
			}
			f.left -= k
			p = p[k:]
			if f.left == 0 {
				f.frameEnd()
			}
		}
	}
}

// frameEnd counts the frame that has just passed whole.
func (f *h2Frames) frameEnd() {
	size := int64(h2FrameHeader) + int64(f.length)
	typ, flags := f.head[3], f.head[4]
	id := binary.BigEndian.Uint32(f.head[5:]) &^ (1 << 31)
	f.got = 0
	m := f.m

	headers := typ == h2Headers || typ == h2Continuation
	var path string
	if f.dir == In && headers {
		if f.collecting {
			path = m.decode(headerFragment(f.block, typ, flags), flags&h2EndHeaders != 0)
			f.block, f.collecting = f.block[:0], false
		}
		if flags&h2EndHeaders == 0 { // the block goes on: count it at its end
			f.held += size
			f.heldFrames++
			return
		}
		f.inBlock = false
		f.blocks++
	}
	frames := int64(1)
	if headers {
		size, frames = size+f.held, frames+f.heldFrames
		f.held, f.heldFrames = 0, 0
	}

	t := &m.st.h2conn
	if id != 0 {
		m.mu.Lock()
		s := m.streams[id]
		if s == nil && path != "" { // a new request: its header block named it
			s = &h2Stream{t: m.st.transportOf(pathOnly(path))}
			m.streams[id] = s
		}
		if s != nil {
			t = s.t
			if (typ == h2Headers || typ == h2Data) && flags&h2EndStream != 0 {
				s.ended[f.dir] = true
			}
			if typ == h2RSTStream || s.ended[In] && s.ended[Out] {
				delete(m.streams, id)
			}
		}
		m.mu.Unlock()
	}
	f.count(t, size, frames, headers)
}

// count adds size bytes, frames whole frames (none for the preface), to t
// and to all HTTP/2 frames'; for HEADERS and CONTINUATION frames, their
// payloads are the header block's bytes.
func (f *h2Frames) count(t *Counters, size, frames int64, headers bool) {
	all := &f.m.st.h2frames
	if f.dir == In {
		t.bytesIn.Add(size)
		all.bytesIn.Add(size)
	} else {
		t.bytesOut.Add(size)
		all.bytesOut.Add(size)
	}
	if frames > 0 {
		t.h2frames[f.dir].Add(frames)
	}
	if headers {
		t.h2headers[f.dir].Add(size - frames*h2FrameHeader)
	}
}

// decode feeds a piece of a client's header block to the decoder, and at
// the block's end returns the :path it named ("" until then, or when a
// block cannot be decoded: the server refuses it too).
func (m *h2Meter) decode(fragment []byte, end bool) string {
	if m.dec == nil {
		return ""
	}
	if _, err := m.dec.Write(fragment); err != nil {
		m.dec = nil
		return ""
	}
	if !end {
		return ""
	}
	if err := m.dec.Close(); err != nil {
		m.dec = nil
		return ""
	}
	path := m.path
	m.path = ""
	return path
}

// headerFragment is the header block fragment in a HEADERS or CONTINUATION
// payload: a HEADERS frame may carry padding and a priority before it.
func headerFragment(p []byte, typ, flags byte) []byte {
	if typ != h2Headers {
		return p
	}
	pad := 0
	if flags&h2Padded != 0 {
		if len(p) < 1 {
			return []byte{}
		}
		pad, p = int(p[0]), p[1:]
	}
	if flags&h2Priority != 0 {
		if len(p) < 5 {
			return []byte{}
		}
		p = p[5:]
	}
	if pad > len(p) {
		return []byte{}
	}
	return p[:len(p)-pad]
}

// pathOnly is the path of a request target, as r.URL.Path has it.
func pathOnly(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if strings.IndexByte(target, '%') >= 0 {
		if p, err := url.PathUnescape(target); err == nil {
			return p
		}
	}
	return target
}
