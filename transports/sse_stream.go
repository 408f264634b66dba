package transports

// How the r3labs/sse library is tamed. It is made for a hub that
// broadcasts to streams, with replay; fourway needs one stream per
// connection, fed from our cursor, with bounded memory. So: replay is off
// (our feed is the only history); the cursor was validated in sse.go
// before the library sees the request, and Last-Event-ID is hidden from
// it; every event carries our own id; each connection gets a stream of its
// own, named in the query the library reads, so one slow reader only
// stalls itself; events are published with TryPublish and paced, at most
// sseInFlight ahead of what the socket took, so the library's queue never
// fills and never blocks; every write has a deadline; and a stream is
// removed only after its subscriber has left (no leaked goroutines).

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/r3labs/sse/v2"

	"fourway/feed"
	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

const sseInFlight = 32 // events handed to the library and not yet written

// newSSEServer configures the library for one stream per connection.
func (s *Server) newSSEServer() *sse.Server {
	srv := sse.New()
	srv.AutoReplay = false // its log never shrinks and rewrites our ids
	srv.AutoStream = false // streams are made here, one per connection
	srv.EncodeBase64 = false
	srv.SplitData = false // our JSON is one line; keep it one data: line
	srv.BufferSize = sseInFlight * 2
	srv.Headers = map[string]string{"X-Accel-Buffering": "no"}
	srv.OnSubscribe = func(id string, _ *sse.Subscriber) {
		if v, ok := s.sseStreams.Load(id); ok {
			st := v.(*sseStream)
			close(st.subscribed)
			st.Wake() // the hello, and what the cursor has to catch up on
		}
	}
	srv.OnUnsubscribe = func(id string, _ *sse.Subscriber) {
		s.sse.RemoveStream(id) // safe now: it has no subscriber left
		if v, ok := s.sseStreams.LoadAndDelete(id); ok {
			close(v.(*sseStream).left)
		}
	}
	return srv
}

// sseStream is one connection's stream in the library, and its position.
// No goroutine of ours serves it: whoever wakes it (a dispatcher after a
// publish, the writer after a flush that made room, the keepalive timer,
// the library once it registered the subscriber) hands the library the
// events there are, at once, with TryPublish, which never waits.
type sseStream struct {
	sseEvents                // sse.go: its place in the feed
	id         string        // the library's stream name
	subscribed chan struct{} // closed once the library registered the subscriber
	left       chan struct{} // closed once the subscriber is gone and the stream removed
	ctx        context.Context
	stop       context.CancelFunc // ends the library's loop
	hangUp     func()             // closes the socket (under HTTP/2, cuts the stream): a stuck write cannot be interrupted otherwise
	cut        <-chan struct{}    // closed by hangUp
	w          *sseWriter
	req        *http.Request // the request as the library sees it
	shard      *fanout.Shard // the dispatcher that wakes it

	wakes   atomic.Int64 // wakes not yet served; someone sends while > 0
	paused  atomic.Bool  // the library's room ran out: the next flush wakes the stream
	dropped atomic.Bool  // dropped as too slow, once
	pushed  int64        // events handed to the library, by the one who sends
}

// openStream makes the library's stream for the request of c, at pos.
func (s *Server) openStream(c echo.Context, cut *fanout.RequestCut, pos position) *sseStream {
	ctx, stop := context.WithCancel(c.Request().Context())
	st := &sseStream{
		sseEvents:  sseEvents{s: s, cursor: pos.cursor, epoch: pos.epoch, proto: c.Request().Proto},
		id:         "c" + strconv.FormatUint(s.sseSeq.Add(1), 10),
		subscribed: make(chan struct{}), left: make(chan struct{}),
		ctx: ctx, stop: stop, hangUp: cut.HangUp, cut: cut.Cut(),
	}
	st.out = st
	st.w = &sseWriter{
		ResponseWriter: c.Response(),
		rc:             http.NewResponseController(c.Response().Writer),
		timeout:        s.cfg.WriteTimeout,
		fail:           stop,
		flushed:        st.flushed,
		dropped:        s.stats.SSE.Dropped,
	}
	if s.cfg.Compress {
		h := c.Response().Header()
		h["Vary"] = acceptEncoding
		if acceptsGzip(c.Request()) {
			h["Content-Encoding"] = gzipCoding
			st.w.gz = &gzipStream{cache: s.sseDeflate} // compress.go
		}
	}
	if r := c.Request(); r.ProtoAtLeast(1, 1) && r.ProtoMajor == 1 {
		wiremeter.FollowChunks(r, &s.stats.SSE) // net/http's chunks around the library's events
	}
	st.req = c.Request().Clone(ctx)
	st.req.Header.Del("Last-Event-ID") // validated already; the library must not parse it again
	st.req.URL.RawQuery = "stream=" + st.id
	s.sseStreams.Store(st.id, st)
	s.sse.CreateStream(st.id)
	return st
}

// serve runs the library's loop, which writes the events, until the
// stream is over, then waits until the library has let go of it.
func (st *sseStream) serve() {
	s := st.s
	st.startKeepalive() // sse.go
	st.shard = s.subs.Add(st)
	if st.req.ProtoMajor == 2 { // a cut leaves the socket open: it stops the library's loop
		go func() {
			select {
			case <-st.cut:
				st.stop()
			case <-st.ctx.Done():
			}
		}()
	}
	s.sse.ServeHTTP(st.w, st.req) // returns when the stream ends or ctx is done
	st.w.end()
	st.stop() // lets the library deregister the subscriber
	st.ping.Stop()
	st.shard.Remove(st)
	select {
	case <-st.left:
	case <-time.After(2 * s.cfg.WriteTimeout):
		s.log.Warn("sse stream not released", "stream", st.id)
	}
}

// wake has the stream send what there is, unless someone does already:
// then that one looks again before it stops. Never blocks.
func (st *sseStream) Wake() {
	if st.wakes.Add(1) != 1 {
		return
	}
	for {
		n := st.wakes.Load()
		st.sendIfSubscribed()
		if st.wakes.CompareAndSwap(n, 0) {
			return
		}
	}
}

func (st *sseStream) sendIfSubscribed() {
	select {
	case <-st.subscribed:
	default:
		return // the library's OnSubscribe wakes it
	}
	if st.ctx.Err() != nil {
		return
	}
	st.sendEvents() // sse.go
	if st.w.gz != nil {
		st.tally = wiremeter.Tally{} // compressed, the events' fields are not on the wire as such: all is payload
	} else {
		st.tally.Flush(&st.s.stats.SSE) // the chunks' framing is the counting conn's (wiremeter/conn.go)
	}
	if st.Room() == 0 {
		st.paused.Store(true)
		if st.Room() > 0 && st.paused.CompareAndSwap(true, false) {
			st.wakes.Add(1) // a flush made room meanwhile: look again
		}
	}
}

// Room is how many events the library may be handed before the socket
// takes more.
func (st *sseStream) Room() int64 { return sseInFlight - (st.pushed - st.w.written()) }

// flushed is called by the writer after each flush: the socket took an
// event, so a paused stream goes on.
func (st *sseStream) flushed() {
	if st.paused.CompareAndSwap(true, false) {
		st.Wake()
	}
}

// Send hands one event to the library. Paced as it is, the library's queue
// cannot be full; if it were, the stream ends rather than wait.
func (st *sseStream) Send(ev *sse.Event) {
	if st.ctx.Err() != nil {
		return
	}
	if !st.s.sse.TryPublish(st.id, ev) {
		st.stop()
		return
	}
	st.pushed++
}

// Message hands the library m as an event.
func (st *sseStream) Message(epoch string, m feed.Message) {
	st.Send(&sse.Event{ID: eventID(epoch, m.ID), Data: m.JSON})
}

// End ends the stream after the events handed so far: an event with no
// data and no comment ends the library's loop.
func (st *sseStream) End() { st.Send(&sse.Event{}) }

// BlockedFor and DropSlow make the stream a subscriber of the dispatchers
// (fanout/dispatch.go). A client whose socket has taken no bytes for the send
// timeout is dropped: its socket is hung up and the browser resumes with
// Last-Event-ID. A client that is only behind, after a burst, is not
// dropped: it catches up, or is told what it missed.
func (st *sseStream) BlockedFor(now int64) time.Duration { return st.w.blockedFor(now) }

func (st *sseStream) DropSlow() {
	if !st.dropped.Swap(true) {
		st.s.stats.SSE.Dropped()
		st.hangUp()
		st.stop()
	}
}

// sseWriter is the ResponseWriter the library writes to. It gives every
// write a deadline, so a client that stops reading cannot hold the stream
// forever; it ends the stream on the first failed write; it counts the
// events written, which paces send; and with gzip it compresses each event
// at its flush (compress.go).
type sseWriter struct {
	http.ResponseWriter
	gz      *gzipStream // nil: the stream is not compressed
	rc      *http.ResponseController
	timeout time.Duration
	fail    func()
	flushes atomic.Int64
	flushed func()       // called after each flush
	dropped func()       // counts a client dropped as too slow
	failed  bool         // a write failed: the stream is over
	armed   bool         // the event being written has its deadline
	since   atomic.Int64 // UnixNano when the event being written began, 0 between events
}

func (w *sseWriter) Write(p []byte) (int, error) {
	w.writing()
	if w.gz != nil {
		w.gz.write(p) // compressed at the flush, the event whole
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.check(err)
	return n, err
}

// Flush sends what was written. The library flushes once after the headers
// and once after every event.
func (w *sseWriter) Flush() {
	w.writing()
	if w.gz != nil {
		w.writeCompressed(w.gz.appendFlush)
	}
	err := w.rc.Flush()
	w.since.Store(0)
	w.armed = false // the next event gets a deadline, and a start, of its own
	w.check(err)
	w.flushes.Add(1)
	w.flushed()
}

// writeCompressed writes the compressed bytes that appendTo appends, in a
// buffer of eventBuffers (compress.go) that it gives back after.
func (w *sseWriter) writeCompressed(appendTo func([]byte) []byte) {
	buf := eventBuffers.Get().(*[]byte)
	b := appendTo((*buf)[:0])
	if len(b) > 0 && !w.failed {
		_, err := w.ResponseWriter.Write(b)
		w.check(err)
	}
	*buf = b[:0]
	eventBuffers.Put(buf)
}

// end ends a compressed stream's gzip member, once the library is done
// writing, so that the client sees a whole member, checksum and all.
func (w *sseWriter) end() {
	if w.gz == nil || w.failed {
		return
	}
	w.writing()
	w.writeCompressed(w.gz.appendEnd)
	w.check(w.rc.Flush())
}

// written is how many events the socket has taken.
func (w *sseWriter) written() int64 { return max(0, w.flushes.Load()-1) }

// writing marks, at an event's first write, the start of its writing, for
// blockedFor, and gives it a deadline: the library writes an event in a
// few small writes and a flush, and reading the clock and setting the
// deadline are dearer than most of them. The event is being written until
// its flush returns.
func (w *sseWriter) writing() {
	if w.armed {
		return
	}
	w.armed = true
	now := time.Now()
	w.since.Store(now.UnixNano())
	if err := w.rc.SetWriteDeadline(now.Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.fail()
	}
}

// BlockedFor is how long the write in progress has waited for the socket.
func (w *sseWriter) blockedFor(now int64) time.Duration {
	if since := w.since.Load(); since != 0 {
		return time.Duration(now - since)
	}
	return 0
}

// check ends the stream on a failed write. A write that missed its
// deadline means a client that stopped reading: it counts as dropped.
func (w *sseWriter) check(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && !w.failed {
		w.dropped()
	}
	w.failed = true
	w.fail()
}
