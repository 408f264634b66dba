package direct

// A connection taken from net/http for its long polls: it reads the
// requests that follow its held poll, serves the long polls among them
// through the server's own handler, and hands the connection back to
// net/http for anything else; it answers, as net/http's server would,
// the requests net/http refuses.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

const (
	directIdleTimeout   = 120 * time.Second      // a connection between requests, as Serve's IdleTimeout
	directHeaderTimeout = 10 * time.Second       // to read a request's header block, as Serve's ReadHeaderTimeout
	directMaxHeader     = 64 << 10               // bytes of a request's header block, as Serve's MaxHeaderBytes
	directReadBuffer    = 512                    // the connection's read buffer: a poll's request fits it
	directLinger        = 500 * time.Millisecond // after a last answer, for the client to read it and close, as net/http's
	// directCopyMax bounds the body copied beside an answer's head, to go
	// out in one write. A larger one (a poll answer, up to a mebibyte,
	// that every poll asking the same shares) is written after its head
	// from where it is: a client that does not read it pins its socket's
	// buffer and this much, not a copy of the answer.
	directCopyMax = 16 << 10
)

// directConn is a connection whose long polls are served without net/http.
type directConn struct {
	h      *Host
	conn   net.Conn // the counting conn
	lim    io.LimitedReader
	pre    *bytes.Reader // bytes net/http had read past the first poll (a pipelined request), until they are read
	br     *bufio.Reader
	sock   fanout.Socket   // the answers' way out, made once
	ctx    context.Context // the requests' context: it names the counting conn (wiremeter/conn.go)
	remote string
	w      directResponse
	held   *heldPoll // set by hold: the poll the connection now waits on
}

// newDirectConn takes nc, hijacked with br, from net/http. A connection that
// was handed back before (a replayConn) is unwrapped: what it has not yet
// replayed comes after what br holds, and the socket is its own.
func (h *Host) newDirectConn(nc net.Conn, br *bufio.Reader) *directConn {
	var pre []byte
	if n := br.Buffered(); n > 0 { // a pipelined request, read with this one
		b, _ := br.Peek(n)
		pre = bytes.Clone(b)
	}
	if rc, ok := nc.(*replayConn); ok {
		pre = append(pre, rc.pre...)
		nc = rc.Conn
	}
	l := &directConn{h: h, conn: nc, remote: nc.RemoteAddr().String()}
	l.w.l = l
	l.lim = io.LimitedReader{R: nc, N: math.MaxInt64}
	var src io.Reader = &l.lim
	if len(pre) > 0 {
		l.pre = bytes.NewReader(pre)
		src = io.MultiReader(l.pre, src)
	}
	l.br = bufio.NewReaderSize(src, directReadBuffer)
	l.ctx = wiremeter.ConnContext(context.Background(), nc)
	l.sock = fanout.NewSocket(nc, &h.Stats.LongPoll)
	return l
}

// serve is the connection's goroutine: it waits with the held poll, then
// serves the requests that follow, until the connection closes or is
// handed back.
func (l *directConn) serve() {
	h := l.h
	defer h.Streams.Done()
	for {
		if w := l.held; w != nil {
			l.held = nil
			if !l.await(w) {
				l.conn.Close()
				return
			}
		}
		r, err := l.readRequest()
		if r == nil {
			if !errors.Is(err, errHandedBack) {
				l.conn.Close()
			}
			return
		}
		l.w.reset()
		h.Handler.ServeHTTP(&l.w, r)
		if l.held != nil {
			continue
		}
		if !l.respond(r.Close) {
			l.conn.Close()
			return
		}
	}
}

// await waits while w is held, reading: an error is the client gone (or
// the poll cut, its socket closed); bytes are its next request, which
// waits for w's answer. It returns false when the connection is over.
//
// Once w is answered, the connection is idle, though its goroutine is
// still here, reading (sent): an idle connection's read times out, and the
// shutdown's sweep ends it.
func (l *directConn) await(w *heldPoll) bool {
	_, err := l.br.Peek(1)
	l.h.polls.idle.remove(l.conn)
	if err != nil {
		w.end()
		return false
	}
	<-w.done
	return w.answered.Load() && !w.closing
}

// idleNow makes the connection idle, its poll answered: its read waits
// the idle timeout at most, and not at all once the shutdown's sweep ran.
func (l *directConn) idleNow() {
	l.h.polls.idle.add(l.conn, directIdleTimeout)
}

var errHandedBack = errors.New("handed back to net/http")

// readRequest reads the next request, if it is a long poll; anything else
// hands the connection back to net/http and returns errHandedBack.
func (l *directConn) readRequest() (*http.Request, error) {
	h := l.h
	lp := &h.polls
	if l.br.Buffered() == 0 { // else a request read while the poll was held
		if !lp.idle.add(l.conn, directIdleTimeout) {
			return nil, net.ErrClosed
		}
		_, err := l.br.Peek(1)
		lp.idle.remove(l.conn)
		if err != nil {
			return nil, err
		}
	} else if h.shuttingDown() {
		return nil, net.ErrClosed
	}
	_ = l.conn.SetReadDeadline(time.Now().Add(directHeaderTimeout))
	if !l.nextIsLongPoll() {
		return nil, l.handBack()
	}
	l.lim.N = directMaxHeader
	r, err := http.ReadRequest(l.br)
	tooLarge := l.lim.N == 0
	l.lim.N = math.MaxInt64
	_ = l.conn.SetReadDeadline(time.Time{})
	switch {
	case err != nil && tooLarge:
		err = l.refuse(http.StatusRequestHeaderFieldsTooLarge, "")
	case err != nil && isUnsupportedTE(err): // as net/http, which names no encoding (it would echo the client's bytes)
		err = l.refuseWith("501 Not Implemented", "Unsupported transfer encoding")
	case err != nil && !isNetError(err):
		err = l.refuse(http.StatusBadRequest, "")
	case err == nil:
		err = l.check(r)
	}
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = l.remote
	return r.WithContext(l.ctx), nil
}

// check refuses what net/http's server refuses once a request has been
// parsed (no Host, a malformed one, a header name or value that is not a
// token or text), in its words. (A GET with a body is the guard's: it is
// refused, and the connection closed, before its body could be taken for
// the next request.)
func (l *directConn) check(r *http.Request) error {
	switch {
	case r.Host == "": // http.ReadRequest moved it out of the header
		return l.refuse(http.StatusBadRequest, "missing required Host header")
	case !httpguts.ValidHostHeader(r.Host):
		return l.refuse(http.StatusBadRequest, "malformed Host header")
	}
	for k, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return l.refuse(http.StatusBadRequest, "invalid header name")
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return l.refuse(http.StatusBadRequest, "invalid header value")
			}
		}
	}
	return nil
}

// refuse answers a request that cannot be served as net/http's server
// does (status, why, "Connection: close"), and ends the connection.
func (l *directConn) refuse(status int, why string) error {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	if why != "" {
		text += ": " + why
	}
	return l.refuseWith(text, text)
}

// refuseWith answers with status (its code and text) and body, and ends
// the connection.
func (l *directConn) refuseWith(status, body string) error {
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.h.WriteTimeout))
	_, _ = io.WriteString(l.conn, "HTTP/1.1 "+status+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+body)
	closeWrite(l.conn)
	_ = l.conn.SetReadDeadline(time.Now().Add(directLinger)) // what the client still sends is read, not reset
	_, _ = io.Copy(io.Discard, l.conn)
	return errRefused
}

var errRefused = errors.New("request refused")

// isUnsupportedTE reports whether err is http.ReadRequest's refusal of a
// Transfer-Encoding other than one "chunked", which net/http's server
// answers 501. Its type is not exported: its words say what it is.
func isUnsupportedTE(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unsupported transfer encoding") || strings.HasPrefix(msg, "too many transfer encodings")
}

// isNetError reports whether err is the connection's, not the request's:
// nothing to answer then.
func isNetError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}

// nextIsLongPoll reports whether the request read so far starts with a
// long poll's request line: GET /api/longpoll, over HTTP/1.1.
func (l *directConn) nextIsLongPoll() bool {
	b, _ := l.br.Peek(l.br.Buffered())
	line, _, found := bytes.Cut(b, []byte("\r\n"))
	if !found {
		return false
	}
	rest, ok := bytes.CutPrefix(line, []byte("GET /api/longpoll"))
	return ok && (len(rest) > 0 && (rest[0] == '?' || rest[0] == ' ')) && bytes.HasSuffix(rest, []byte(" HTTP/1.1"))
}

// handBack gives the connection to net/http, with what was read of it.
func (l *directConn) handBack() error {
	lp := &l.h.polls
	b, _ := l.br.Peek(l.br.Buffered())
	pre := bytes.Clone(b)
	if l.pre != nil {
		rest, _ := io.ReadAll(l.pre)
		pre = append(pre, rest...)
	}
	c := &replayConn{Conn: l.conn, pre: pre}
	wiremeter.ConnState(l.conn, http.StateIdle) // its bytes are the next request's
	select {
	case lp.back <- c:
		lp.handedBack.Add(1)
		return errHandedBack
	case <-l.h.Shutdown:
		return net.ErrClosed
	}
}

// respond writes the answer the handler made, within the write timeout:
// its head and body in one write, or a large body after its head.
func (l *directConn) respond(closing bool) bool {
	w := &l.w
	closing = closing || w.header.Get("Connection") == "close"
	body := w.body
	if w.shared != nil {
		body = w.shared
	}
	b := appendHead(w.out[:0], w.status, w.header, len(body), closing)
	if len(body) <= directCopyMax {
		b, body = append(b, body...), nil
	}
	w.out = b
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.h.WriteTimeout))
	_, err := l.conn.Write(b)
	if err == nil && body != nil {
		_, err = l.conn.Write(body)
	}
	w.shared = nil // the answer is out (or never will be): not kept for the connection's life
	wiremeter.ConnState(l.conn, http.StateIdle)
	if cap(w.out) > 4<<10 { // a large page: not kept for the connection's life
		w.body, w.out = nil, nil
	}
	return err == nil && !closing
}

// appendHead appends the head of an HTTP/1.1 response whose body is size
// bytes, given in Content-Length.
func appendHead(b []byte, status int, h http.Header, size int, closing bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(append(append(b, ' '), http.StatusText(status)...), "\r\n"...)
	var keys [16]string
	ks := keys[:0]
	for k := range h {
		if k != "Connection" && k != "Content-Length" && k != "Date" {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	for _, k := range ks {
		for _, v := range h[k] {
			b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
		}
	}
	if closing {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Date: "...)
	b = append(time.Now().UTC().AppendFormat(b, http.TimeFormat), "\r\n"...)
	b = append(b, "Content-Length: "...)
	return append(strconv.AppendInt(b, int64(size), 10), "\r\n\r\n"...)
}

// directResponse is the ResponseWriter of a request served here: it keeps the
// answer until the handler returns.
type directResponse struct {
	l      *directConn
	header http.Header
	status int
	body   []byte // what the handler wrote, copied
	shared []byte // or the body it gave as it is (WriteShared)
	out    []byte
}

func (w *directResponse) reset() {
	if w.header == nil {
		w.header = http.Header{}
	}
	clear(w.header)
	w.status, w.body, w.shared = 0, w.body[:0], nil
}

func (w *directResponse) Header() http.Header { return w.header }

func (w *directResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *directResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.shared != nil { // written after a shared body: the two are one copy
		w.body, w.shared = append(w.body[:0], w.shared...), nil
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// WriteShared writes body, which is never modified (a poll answer, shared
// by the polls that ask the same; transports' page.go), by keeping it as it is until
// the answer is written, not a copy of it.
func (w *directResponse) WriteShared(body []byte) {
	if len(w.body) > 0 || w.shared != nil {
		_, _ = w.Write(body)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.shared = body
}

// SetWriteDeadline and SetReadDeadline take the guard's deadlines: the
// answer is written with a deadline of its own.
func (w *directResponse) SetWriteDeadline(time.Time) error { return nil }

func (w *directResponse) SetReadDeadline(time.Time) error { return nil }

// closeWrite sends the end of c's bytes (a TCP FIN), leaving its reading
// open, as net/http does before it closes a connection.
func closeWrite(c net.Conn) {
	if cc := wiremeter.Under(c); cc != nil {
		c = cc.Conn
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// startHandBack starts, once, at the first connection taken, the
// http.Server that takes the connections handed back, and the sweep that
// closes the idle ones at the shutdown.
func (h *Host) startHandBack() {
	lp := &h.polls
	lp.start.Do(func() {
		lp.back = make(chan net.Conn)
		srv := &http.Server{
			Handler:           h.Handler,
			ReadHeaderTimeout: directHeaderTimeout,
			IdleTimeout:       directIdleTimeout,
			MaxHeaderBytes:    directMaxHeader,
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return wiremeter.ConnContext(ctx, c.(*replayConn).Conn)
			},
			ConnState: func(c net.Conn, st http.ConnState) { wiremeter.ConnState(c.(*replayConn).Conn, st) },
			ErrorLog:  slog.NewLogLogger(h.Log.Handler(), slog.LevelDebug),
		}
		ln := &handBackListener{conns: lp.back, closed: h.Shutdown, addr: dummyAddr{}}
		h.Streams.Add(1)
		go func() { _ = srv.Serve(ln) }()
		go func() {
			<-h.Shutdown
			lp.idle.sweep()
			ctx, cancel := context.WithTimeout(context.Background(), h.ShutdownTimeout)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
			h.Streams.Done()
		}()
	})
}

// replayConn is a connection handed back: what was read of it comes first.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// handBackListener hands the connections given back to an http.Server.
type handBackListener struct {
	conns  chan net.Conn
	closed <-chan struct{}
	addr   net.Addr
}

func (l *handBackListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handBackListener) Close() error { return nil }

func (l *handBackListener) Addr() net.Addr { return l.addr }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "tcp" }

func (dummyAddr) String() string { return "handed-back" }
