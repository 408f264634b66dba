package transports

// Long polling without net/http's request cycle (--longpoll-writer
// direct). It exists to be measured: what a long poll costs when a held
// request costs what the protocol costs, beside what it costs through
// net/http (bench/results/README.md, "What it costs, measured").
//
// net/http serves a request with two goroutines (the connection's and a
// reader that sees the client leave), a 4 KiB reader, a 4 KiB writer and
// a 2 KiB response buffer, and starts and stops its reader, a context and
// a header copy for every request. So here, once a long poll must wait
// on plain HTTP/1.1, its connection is taken from net/http (hijacked) and
// becomes fourway's: the held poll is a subscriber of the dispatchers
// (fanout/dispatch.go), with no goroutine of its own, and its answer is written
// by whoever learns it is due (a publish, its timeout, the shutdown)
// through a pusher (fanout/push.go), as an SSE event is with --sse-writer
// direct. The connection's one goroutine reads: it sees the client leave
// while the poll is held, and reads the next request. A long poll, the
// request that nearly always comes next, is served here, through the same
// routes and middleware as every request; anything else, the connection
// is handed back to net/http (a second http.Server over the same
// handler), the bytes read so far replayed to it.
//
// What differs from net/http, on purpose: nothing on the wire but the
// order of the headers. A request it reads that net/http's server would
// refuse gets net/http's refusal, in its words (check, refuse); its
// header limit is 64 KiB on every request (net/http allows a kept-alive
// connection's later requests a little more). Under TLS or HTTP/2, and
// for an HTTP/1.0 client, the long poll is net/http's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fourway/transports/wiremeter"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/http/httpguts"

	"fourway/transports/fanout"
)

// Writers of --longpoll-writer.
const (
	longPollWriterNetHTTP = "nethttp"
	longPollWriterDirect  = "direct"
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

// longPollDirect is the server's state for direct long polls.
type longPollDirect struct {
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
	conns map[*directConn]struct{}
	swept bool
}

// add makes l idle, its next read bounded by timeout, or by now once the
// sweep has run; it returns false then.
func (ic *idleConns) add(l *directConn, timeout time.Duration) bool {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.swept {
		_ = l.conn.SetReadDeadline(time.Now())
		return false
	}
	if ic.conns == nil {
		ic.conns = make(map[*directConn]struct{})
	}
	ic.conns[l] = struct{}{}
	_ = l.conn.SetReadDeadline(time.Now().Add(timeout))
	return true
}

// remove: l reads a request (or has left).
func (ic *idleConns) remove(l *directConn) {
	ic.mu.Lock()
	delete(ic.conns, l)
	ic.mu.Unlock()
}

// sweep ends the idle connections' reads, now and from now on.
func (ic *idleConns) sweep() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.swept = true
	for l := range ic.conns {
		_ = l.conn.SetReadDeadline(time.Now())
	}
}

// directConn is a connection whose long polls are served without net/http.
type directConn struct {
	s      *Server
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

// holdDirect holds the poll of c without net/http, and returns true; or
// false, having done nothing, when its connection cannot be taken (TLS,
// HTTP/2) or the request is not HTTP/1.1 (the answers here are HTTP/1.1's):
// net/http holds it then.
func (s *Server) holdDirect(c echo.Context, pos position, limit int, hold time.Duration) (bool, error) {
	r := c.Request()
	l, ours := c.Response().Writer.(*directResponse)
	if !ours && (r.ProtoMajor != 1 || r.ProtoMinor < 1 || r.TLS != nil || wiremeter.ConnOf(r) == nil) {
		return false, nil
	}
	closing := r.Close || c.Response().Header().Get("Connection") == "close" // the guard closes after a chunked request
	w := &heldPoll{s: s, pos: pos, limit: limit, closing: closing, done: make(chan struct{})}
	lc, ok := s.live.Add("longpoll", w.hangUp, s.cfg.MaxClients)
	if !ok {
		return true, refuseAtLimit(c) // limit.go
	}
	s.stats.LongPoll.Joined()
	// The answer's headers are the ones the middleware set. On a
	// connection of ours they are its writer's, which the next request
	// clears, read only once this poll is over: taken as they are. The
	// first poll's are net/http's: copied, once a connection.
	w.lc, w.head = lc, c.Response().Header()
	if !ours {
		w.head = w.head.Clone()
	}
	var conn *directConn
	if ours {
		conn = l.l
	} else {
		nc, brw, err := http.NewResponseController(c.Response().Writer).Hijack()
		if err != nil {
			w.end()
			return false, nil
		}
		_ = nc.SetDeadline(time.Time{}) // the guard's write deadline was for a response
		s.startHandBack()
		conn = s.newDirectConn(nc, brw.Reader)
		// Its poll was read whole: what comes next is the next request's.
		// (conn.conn, not nc: a connection handed back before is nc's
		// replayConn, around the counting conn.)
		wiremeter.ReadsRequests(conn.conn)
		s.streams.Add(1) // http.Server.Shutdown does not wait for a hijacked connection
		s.directPolls.taken.Add(1)
		defer func() { go conn.serve() }()
	}
	conn.held = w
	s.directPolls.held.Add(1)
	if cc := wiremeter.Under(conn.conn); cc != nil {
		cc.HeadWritten() // the answer's head is counted by next, not followed
	}
	w.Pusher.Init(w, conn.sock, s.cfg.WriteTimeout)
	s.live.SayGoodbyeWith(lc, w.goodbye)
	w.mu.Lock()
	w.l = conn
	if w.cut.Load() { // cut meanwhile: the connection's goroutine ends the poll
		w.mu.Unlock()
		_ = conn.conn.Close()
		return true, nil
	}
	w.timer = time.AfterFunc(hold, func() { w.timedOut.Store(true); w.Wake() })
	w.shard = s.subs.Add(w)
	w.mu.Unlock()
	w.Wake() // a publish since the poll looked
	return true, nil
}

// newDirectConn takes nc, hijacked with br, from net/http. A connection that
// was handed back before (a replayConn) is unwrapped: what it has not yet
// replayed comes after what br holds, and the socket is its own.
func (s *Server) newDirectConn(nc net.Conn, br *bufio.Reader) *directConn {
	var pre []byte
	if n := br.Buffered(); n > 0 { // a pipelined request, read with this one
		b, _ := br.Peek(n)
		pre = bytes.Clone(b)
	}
	if rc, ok := nc.(*replayConn); ok {
		pre = append(pre, rc.pre...)
		nc = rc.Conn
	}
	l := &directConn{s: s, conn: nc, remote: nc.RemoteAddr().String()}
	l.w.l = l
	l.lim = io.LimitedReader{R: nc, N: math.MaxInt64}
	var src io.Reader = &l.lim
	if len(pre) > 0 {
		l.pre = bytes.NewReader(pre)
		src = io.MultiReader(l.pre, src)
	}
	l.br = bufio.NewReaderSize(src, directReadBuffer)
	l.ctx = wiremeter.ConnContext(context.Background(), nc)
	l.sock = fanout.NewSocket(nc, &s.stats.LongPoll)
	return l
}

// serve is the connection's goroutine: it waits with the held poll, then
// serves the requests that follow, until the connection closes or is
// handed back.
func (l *directConn) serve() {
	s := l.s
	defer s.streams.Done()
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
		s.echo.ServeHTTP(&l.w, r)
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
	l.s.directPolls.idle.remove(l)
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
	l.s.directPolls.idle.add(l, directIdleTimeout)
}

var errHandedBack = errors.New("handed back to net/http")

// readRequest reads the next request, if it is a long poll; anything else
// hands the connection back to net/http and returns errHandedBack.
func (l *directConn) readRequest() (*http.Request, error) {
	s := l.s
	lp := &s.directPolls
	if l.br.Buffered() == 0 { // else a request read while the poll was held
		if !lp.idle.add(l, directIdleTimeout) {
			return nil, net.ErrClosed
		}
		_, err := l.br.Peek(1)
		lp.idle.remove(l)
		if err != nil {
			return nil, err
		}
	} else if s.shuttingDown() {
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
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.s.cfg.WriteTimeout))
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
	lp := &l.s.directPolls
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
	case <-l.s.shutdown:
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
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.s.cfg.WriteTimeout))
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
	shared []byte // or the body it gave as it is (writeShared)
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

// writeShared writes body, which is never modified (a poll answer, shared
// by the polls that ask the same; page.go), by keeping it as it is until
// the answer is written, not a copy of it.
func (w *directResponse) writeShared(body []byte) {
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
func (w *directResponse) SetReadDeadline(time.Time) error  { return nil }

// heldPoll is one held poll: a subscriber of the dispatchers, and the
// source of its pusher, which writes its answer once it is due.
type heldPoll struct {
	fanout.Pusher
	s        *Server
	l        *directConn
	pos      position
	limit    int
	head     http.Header // the response's headers, as the middleware set them
	closing  bool        // the connection closes after the answer
	lc       *fanout.LiveConn
	mu       sync.Mutex // guards l, shard and timer while the poll is set up
	shard    *fanout.Shard
	timer    *time.Timer
	timedOut atomic.Bool
	cut      atomic.Bool            // hung up by /api/drop
	why      atomic.Pointer[string] // told goodbye (health.go): the answer is a 503 with why
	answered atomic.Bool            // its answer is out
	over     atomic.Bool            // answered, or ended without an answer
	ended    sync.Once
	done     chan struct{} // closed once over
}

// Next is the answer, once one is due: news for the cursor, the timeout,
// or the shutdown (then the connection closes after it).
func (w *heldPoll) Next(b []byte) (_, shared []byte, last bool) {
	s := w.s
	t := &s.stats.LongPoll
	shutting := s.shuttingDown()
	w.closing = w.closing || shutting
	if why := w.why.Load(); why != nil { // as answerGoodbye (health.go)
		body, _ := json.Marshal(map[string]string{"error": *why})
		w.head["Retry-After"] = []string{"0"}
		w.head["Content-Type"] = []string{echo.MIMEApplicationJSON}
		return w.answer(b, http.StatusServiceUnavailable, append(body, '\n'))
	}
	a := s.answer(w.pos, w.limit)
	if !a.news && !shutting && !w.timedOut.Load() {
		return b, nil, false
	}
	t.Answered(a.messages)
	w.head["Cache-Control"] = noStore
	w.head["Content-Type"] = jsonType
	return w.answer(b, http.StatusOK, a.body)
}

// answer appends the response, the last bytes, and counts its head: it
// goes out by the pusher, past the counting conn's reading of heads. A
// large body is not copied: the pusher writes it from where it is, after
// the head (the answer is shared by every poll that asks the same).
func (w *heldPoll) answer(b []byte, status int, body []byte) (_, shared []byte, last bool) {
	n := len(b)
	b = appendHead(b, status, w.head, len(body), w.closing)
	w.s.stats.LongPoll.WroteHead(len(b) - n)
	if len(body) > directCopyMax {
		return b, body, true
	}
	return append(b, body...), nil, true
}

// sent: the answer is out. The connection is idle now, or, when it closes
// after the answer, half closed: the client reads the answer, then sees
// the end, and the connection's goroutine, whose read ends then (or at a
// linger's bound), closes the socket.
func (w *heldPoll) Sent() {
	l := w.l
	wiremeter.ConnState(l.conn, http.StateIdle)
	w.answered.Store(true)
	if w.closing {
		closeWrite(l.conn)
		_ = l.conn.SetReadDeadline(time.Now().Add(directLinger))
	} else {
		l.idleNow()
	}
	w.end()
}

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

func (w *heldPoll) Failed(error) {
	w.end()
	_ = w.l.conn.Close()
}

func (w *heldPoll) HungUp() bool { return w.over.Load() }

// goodbye is the poll's goodbye (health.go): it is answered at once with
// why, as a 503, and the client tries again, elsewhere. (It runs under the
// lock of the live connections, which the answer leaves: the answer is
// written by a goroutine of its own, a rare one.)
func (w *heldPoll) goodbye(why string) {
	w.why.CompareAndSwap(nil, &why)
	w.mu.Lock()
	ready := w.l != nil
	w.mu.Unlock()
	if ready { // else holdDirect's own wake, still to come, answers
		go w.Wake()
	}
}

// hangUp is the poll's cut (/api/drop): its socket closes, without an
// answer, and the connection's goroutine, its read failing, ends the poll.
// (It runs under the lock of the live connections: it must not end the
// poll itself, which leaves them.)
func (w *heldPoll) hangUp() {
	w.cut.Store(true)
	w.mu.Lock()
	l := w.l
	w.mu.Unlock()
	if l != nil {
		_ = l.conn.Close()
	}
}

// end frees the waiter, once.
func (w *heldPoll) end() {
	w.ended.Do(func() {
		w.over.Store(true)
		w.mu.Lock()
		timer, shard := w.timer, w.shard
		w.mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		if shard != nil {
			shard.Remove(w)
		}
		s := w.s
		s.live.Remove(w.lc)
		s.stats.LongPoll.Left()
		close(w.done)
	})
}

// BlockedFor is never long: a poll's answer that the socket does not take
// fails on the write timeout, as net/http's would, not on the send
// timeout of the streams.
func (w *heldPoll) BlockedFor(int64) time.Duration { return 0 }
func (w *heldPoll) DropSlow()                      {}

// startHandBack starts, once, at the first connection taken, the
// http.Server that takes the connections handed back, and the sweep that
// closes the idle ones at the shutdown.
func (s *Server) startHandBack() {
	lp := &s.directPolls
	lp.start.Do(func() {
		lp.back = make(chan net.Conn)
		srv := &http.Server{
			Handler:           s.echo,
			ReadHeaderTimeout: directHeaderTimeout,
			IdleTimeout:       directIdleTimeout,
			MaxHeaderBytes:    directMaxHeader,
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return wiremeter.ConnContext(ctx, c.(*replayConn).Conn)
			},
			ConnState: func(c net.Conn, st http.ConnState) { wiremeter.ConnState(c.(*replayConn).Conn, st) },
			ErrorLog:  slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
		ln := &handBackListener{conns: lp.back, closed: s.shutdown, addr: dummyAddr{}}
		s.streams.Add(1)
		go func() { _ = srv.Serve(ln) }()
		go func() {
			<-s.shutdown
			lp.idle.sweep()
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
			s.streams.Done()
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

func (l *handBackListener) Close() error   { return nil }
func (l *handBackListener) Addr() net.Addr { return l.addr }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "tcp" }
func (dummyAddr) String() string  { return "handed-back" }
