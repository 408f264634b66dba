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
			close(v.(*sseStream).subscribed)
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

// sseStream is one connection's stream in the library.
type sseStream struct {
	s          *Server
	id         string        // the library's stream name
	subscribed chan struct{} // closed once the library registered the subscriber
	left       chan struct{} // closed once the subscriber is gone and the stream removed
	ctx        context.Context
	stop       context.CancelFunc // ends the library's loop
	hangUp     func()             // closes the socket: a stuck write cannot be interrupted otherwise
	w          *sseWriter
	req        *http.Request // the request as the library sees it
	pushed     int64         // events handed to the library
}

// openStream makes the library's stream for the request of c.
func (s *Server) openStream(c echo.Context, hangUp func()) *sseStream {
	ctx, stop := context.WithCancel(c.Request().Context())
	st := &sseStream{
		s: s, id: "c" + strconv.FormatUint(s.sseSeq.Add(1), 10),
		subscribed: make(chan struct{}), left: make(chan struct{}),
		ctx: ctx, stop: stop, hangUp: hangUp,
	}
	st.w = &sseWriter{
		ResponseWriter: c.Response(),
		rc:             http.NewResponseController(c.Response().Writer),
		timeout:        s.cfg.WriteTimeout,
		fail:           stop,
		progress:       make(chan struct{}, 1),
		dropped:        &s.stats.sse.dropped,
	}
	st.req = c.Request().Clone(ctx)
	st.req.Header.Del("Last-Event-ID") // validated already; the library must not parse it again
	st.req.URL.RawQuery = "stream=" + st.id
	s.sseStreams.Store(st.id, st)
	s.sse.CreateStream(st.id)
	return st
}

// serve runs the library's loop, which writes the events, while events
// (once the subscriber is registered) hands them over. It returns when
// both are done and the library has let go of the stream.
func (st *sseStream) serve(events func()) {
	defer st.stop()
	handed := make(chan struct{})
	go func() {
		defer close(handed)
		select {
		case <-st.subscribed:
			events()
		case <-st.ctx.Done():
		}
	}()
	st.s.sse.ServeHTTP(st.w, st.req) // returns when the stream ends or ctx is done
	st.stop()                        // lets the library deregister the subscriber
	<-handed
	select {
	case <-st.left:
	case <-time.After(2 * st.s.cfg.WriteTimeout):
		st.s.log.Warn("sse stream not released", "stream", st.id)
	}
}

// done is closed when the stream is over: the client left, a write failed,
// or the client was dropped.
func (st *sseStream) done() <-chan struct{} { return st.ctx.Done() }

// send hands one event to the library, waiting while sseInFlight are
// handed and not yet written. A client whose socket takes no bytes for the
// send timeout while the feed moves on is dropped (dropIfSlow). It returns
// false when the stream is over.
func (st *sseStream) send(ev *sse.Event) bool {
	s, w := st.s, st.w
	var seen uint64 // the feed's last id when the wait began; read only if we must wait
	if st.pushed-w.written() >= sseInFlight {
		seen = s.feed.LastID()
	}
	for st.pushed-w.written() >= sseInFlight {
		select {
		case <-w.progress:
		case <-s.feed.Changed(seen): // the feed moves on while the socket is full
			if st.dropIfSlow() {
				return false
			}
			seen = s.feed.LastID()
		case <-st.ctx.Done():
			return false
		}
	}
	if !s.sse.TryPublish(st.id, ev) { // cannot happen while paced; never block on it
		st.stop()
		return false
	}
	st.pushed++
	return true
}

// end ends the stream after the events handed so far: an event with no
// data and no comment ends the library's loop.
func (st *sseStream) end() { st.send(&sse.Event{}) }

// dropIfSlow drops the client if its socket has taken no bytes for the send
// timeout: its socket is hung up and the browser resumes with
// Last-Event-ID. A client that is only behind, after a burst, is not
// dropped: it catches up, or is told what it missed.
func (st *sseStream) dropIfSlow() bool {
	if st.w.blockedFor() <= st.s.cfg.SendTimeout {
		return false
	}
	st.s.stats.sse.dropped.Add(1)
	st.hangUp()
	st.stop()
	return true
}

// sseWriter is the ResponseWriter the library writes to. It gives every
// write a deadline, so a client that stops reading cannot hold the stream
// forever; it ends the stream on the first failed write; and it counts the
// events written, which paces send.
type sseWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	fail     func()
	flushes  atomic.Int64
	progress chan struct{}
	dropped  *atomic.Int64 // the transport's dropped counter
	failed   bool          // a write failed: the stream is over
	since    atomic.Int64  // UnixNano when the write in progress began, 0 between writes
}

func (w *sseWriter) Write(p []byte) (int, error) {
	w.writing()
	n, err := w.ResponseWriter.Write(p)
	w.since.Store(0)
	w.check(err)
	return n, err
}

// Flush sends what was written. The library flushes once after the headers
// and once after every event.
func (w *sseWriter) Flush() {
	w.writing()
	err := w.rc.Flush()
	w.since.Store(0)
	w.check(err)
	w.flushes.Add(1)
	select {
	case w.progress <- struct{}{}:
	default:
	}
}

// written is how many events the socket has taken.
func (w *sseWriter) written() int64 { return max(0, w.flushes.Load()-1) }

// writing marks the start of a write, for blockedFor, and sets its
// deadline (conn.go keeps that cheap: the socket's timer is re-armed only
// when the deadline moves by a tenth).
func (w *sseWriter) writing() {
	now := time.Now()
	w.since.Store(now.UnixNano())
	if err := w.rc.SetWriteDeadline(now.Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.fail()
	}
}

// blockedFor is how long the write in progress has waited for the socket.
func (w *sseWriter) blockedFor() time.Duration {
	if since := w.since.Load(); since != 0 {
		return time.Duration(time.Now().UnixNano() - since)
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
		w.dropped.Add(1)
	}
	w.failed = true
	w.fail()
}
