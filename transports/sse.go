// Server-Sent Events: GET /api/sse?since=N (or the Last-Event-ID header)
//
// How it works: one plain HTTP response that never ends. The server writes
// events into it as text, each a few "field: value" lines and a blank line:
//
//	id: 42
//	data: {"id":42,"time":1763773323456.789,"data":"hi"}
//
// The browser's EventSource parses them, remembers the last id, and when the
// stream breaks it reconnects by itself after the "retry:" delay, sending
// that id as Last-Event-ID. The server resumes after it: resume is built in.
//
// What one message costs: the headers once per connection, then per message
// the "id: " and "data: " lines, the blank line and the chunk framing of
// HTTP/1.1, some 20 to 30 bytes beside the message itself. A ": ping"
// comment every 15 s keeps proxies from closing an idle stream.
//
// What breaks it: buffering proxies (hence X-Accel-Buffering: no), proxy
// read timeouts (hence the pings), and HTTP/1.1's limit of six connections
// per host in a browser: each open tab holds one stream. It is one-way:
// clients publish with ordinary POSTs.
//
// When to pick it: server-to-client feeds (notifications, tickers, logs,
// progress) where plain HTTP and automatic resume matter more than a
// client-to-server channel.
//
// This file uses github.com/r3labs/sse/v2 to write the stream, with its
// traps defused: replay is off (our feed is the only history), the cursor is
// validated here before the library sees the request, every event carries
// our decimal id, each connection has a stream of its own (one slow reader
// only stalls itself), every write has a deadline, events are published with
// TryPublish and paced so the library's queue never fills, and a stream is
// removed only after its subscriber has left (no leaked goroutines).
package transports

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

const (
	sseRetry    = 2 * time.Second // how long an EventSource waits before reconnecting
	sseInFlight = 32              // events queued in the library and not yet written
	sseBatch    = 64              // messages read from the feed at a time
)

// sseConn is one SSE connection's handshake with the library's callbacks.
type sseConn struct {
	subscribed chan struct{} // closed once the library registered the subscriber
	left       chan struct{} // closed once the subscriber is gone and the stream removed
}

func (s *Server) newSSEServer() *sse.Server {
	srv := sse.New()
	srv.AutoReplay = false // its log never shrinks and rewrites our ids
	srv.AutoStream = false // streams are made here, one per connection
	srv.EncodeBase64 = false
	srv.SplitData = false // our JSON is one line; keep it one data: line
	srv.BufferSize = sseInFlight * 2
	srv.Headers = map[string]string{"X-Accel-Buffering": "no"}
	srv.OnSubscribe = func(id string, _ *sse.Subscriber) {
		if v, ok := s.sseConns.Load(id); ok {
			close(v.(*sseConn).subscribed)
		}
	}
	srv.OnUnsubscribe = func(id string, _ *sse.Subscriber) {
		s.sse.RemoveStream(id) // safe now: it has no subscriber left
		if v, ok := s.sseConns.LoadAndDelete(id); ok {
			close(v.(*sseConn).left)
		}
	}
	return srv
}

func (s *Server) handleSSE(c echo.Context) error {
	pos, err := s.startPosition(c, "Last-Event-ID")
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	if s.isClosing() {
		return fail(c, http.StatusServiceUnavailable, errClosing.Error())
	}
	lc, ok := s.live.add("sse", closeConn(netConnOf(c.Request())), s.cfg.MaxClients)
	if !ok {
		return fail(c, http.StatusServiceUnavailable, "the server is at its connection limit; try again later")
	}
	defer s.live.remove(lc)
	t := &s.stats.sse
	t.clients.Add(1)
	defer t.clients.Add(-1)

	id := "c" + strconv.FormatUint(s.sseSeq.Add(1), 10)
	sc := &sseConn{subscribed: make(chan struct{}), left: make(chan struct{})}
	s.sseConns.Store(id, sc)
	s.sse.CreateStream(id)

	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	r := c.Request().Clone(ctx)
	r.Header.Del("Last-Event-ID") // validated above; the library must not parse it again
	r.URL.RawQuery = "stream=" + id
	w := &sseWriter{
		ResponseWriter: c.Response(),
		rc:             http.NewResponseController(c.Response().Writer),
		timeout:        s.cfg.WriteTimeout,
		fail:           cancel,
		progress:       make(chan struct{}, 1),
		dropped:        &t.dropped,
	}

	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		s.ssePump(ctx, cancel, lc.cut, id, sc, w, pos)
	}()
	s.sse.ServeHTTP(w, r) // returns when the pump ends the stream or ctx is done
	cancel()              // lets the library deregister the subscriber
	<-pumped
	select {
	case <-sc.left:
	case <-time.After(2 * s.cfg.WriteTimeout):
		s.log.Warn("sse stream not released", "stream", id)
	}
	return nil
}

// ssePump reads the feed after the position and hands each event to the
// library, at most sseInFlight ahead of what the socket has taken. A client
// whose socket has taken no bytes for the send timeout is dropped: its
// socket is cut (a stuck write cannot be interrupted otherwise) and the
// browser resumes with Last-Event-ID. A client that is only behind, after a
// burst, is not: it catches up, or is told what it missed. The pump ends
// the stream by itself only at shutdown, after sending everything
// published until then.
func (s *Server) ssePump(ctx context.Context, cancel context.CancelFunc, cut func(), id string, sc *sseConn, w *sseWriter, pos position) {
	select {
	case <-sc.subscribed:
	case <-ctx.Done():
		return
	}
	t := &s.stats.sse
	cursor, epoch := pos.cursor, pos.epoch
	tooSlow := func() bool {
		if w.blockedFor() > s.cfg.SendTimeout {
			t.dropped.Add(1)
			cut()
			cancel()
			return true
		}
		return false
	}
	var pushed int64
	push := func(ev *sse.Event) bool {
		var seen uint64 // the feed's last id when the wait began; read only if we must wait
		if pushed-w.written() >= sseInFlight {
			seen = s.feed.LastID()
		}
		for pushed-w.written() >= sseInFlight {
			select {
			case <-w.progress:
			case <-s.feed.Changed(seen): // the feed moves on while the socket is full
				if tooSlow() {
					return false
				}
				seen = s.feed.LastID()
			case <-ctx.Done():
				return false
			}
		}
		if !s.sse.TryPublish(id, ev) { // cannot happen while paced; never block on it
			cancel()
			return false
		}
		pushed++
		return true
	}
	if epoch == "" {
		epoch = s.feed.Epoch()
	}
	retry := strconv.FormatInt(sseRetry.Milliseconds(), 10)
	hello := `{"next":` + strconv.FormatUint(cursor, 10) + `,"epoch":"` + epoch + `","retry_ms":` + retry +
		`,"keepalive_ms":` + strconv.FormatInt(s.cfg.SSEKeepalive.Milliseconds(), 10) + `}`
	if !push(&sse.Event{ID: eventID(epoch, cursor), Event: []byte("hello"), Retry: []byte(retry), Data: []byte(hello)}) {
		return
	}

	keepalive := time.NewTicker(s.cfg.SSEKeepalive)
	defer keepalive.Stop()
	for {
		for {
			if tooSlow() {
				return
			}
			p := s.feed.Read(epoch, cursor, sseBatch)
			epoch = p.Epoch
			from := p.Next - uint64(len(p.Messages))
			if p.Reset && !push(&sse.Event{ID: eventID(epoch, from), Event: []byte("reset"),
				Data: []byte(`{"reset":true,"epoch":"` + epoch + `"}`)}) {
				return
			}
			if p.Missed > 0 && !push(&sse.Event{ID: eventID(epoch, from), Event: []byte("missed"),
				Data: []byte(`{"missed":` + strconv.FormatUint(p.Missed, 10) + `}`)}) {
				return
			}
			for _, m := range p.Messages {
				if !push(&sse.Event{ID: eventID(epoch, m.ID), Data: m.JSON}) {
					return
				}
				t.messages.Add(1)
			}
			cursor = p.Next
			if !p.More {
				break
			}
		}
		if s.isClosing() && cursor >= s.feed.LastID() {
			push(&sse.Event{}) // an event with no data and no comment ends the library's loop
			return
		}
		select {
		case <-s.feed.Changed(cursor):
		case <-keepalive.C:
			if !push(&sse.Event{Comment: []byte("ping")}) {
				return
			}
		case <-s.closing:
		case <-ctx.Done():
			return
		}
	}
}

// sseWriter is the ResponseWriter the library writes to. It gives every
// write a deadline, so a client that stops reading cannot hold the stream
// forever; it cancels the stream on the first failed write; and it counts
// the events written, which paces the pump.
type sseWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	fail     func()
	flushes  atomic.Int64
	progress chan struct{}
	deadline time.Time
	dropped  *atomic.Int64 // the transport's dropped counter
	failed   bool          // a write failed: the stream is over
	since    atomic.Int64  // UnixNano when the write in progress began, 0 between writes
}

func (w *sseWriter) Write(p []byte) (int, error) {
	w.extendDeadline()
	n, err := w.ResponseWriter.Write(p)
	w.since.Store(0)
	w.check(err)
	return n, err
}

// blockedFor is how long the write in progress has waited for the socket.
func (w *sseWriter) blockedFor() time.Duration {
	if since := w.since.Load(); since != 0 {
		return time.Duration(time.Now().UnixNano() - since)
	}
	return 0
}

// check cancels the stream on a failed write. A write that missed its
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

// Flush sends what was written. The library flushes once after the headers
// and once after every event.
func (w *sseWriter) Flush() {
	w.extendDeadline()
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

// extendDeadline marks the start of a write, for blockedFor, and keeps the
// write deadline about timeout ahead, without touching the socket's timer
// on every small write.
func (w *sseWriter) extendDeadline() {
	now := time.Now()
	w.since.Store(now.UnixNano())
	if w.deadline.Sub(now) > w.timeout*9/10 {
		return
	}
	w.deadline = now.Add(w.timeout)
	if err := w.rc.SetWriteDeadline(w.deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		w.fail()
	}
}
