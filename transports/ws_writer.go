package transports

// How a WebSocket's frames go out, cheaply: one writer per connection, as
// the library requires (at most one goroutine may write at a time; only
// WriteControl, for close frames, pings and pongs, may be called from
// others), which runs only while there is something to write. An idle
// connection thus costs one goroutine, its read pump, not two. The hub's
// dispatcher wakes every connection after a publish; a wake starts the
// writer's goroutine unless it is already running, and the goroutine
// lingers for wsLinger after its last write, so a busy connection keeps it
// (and the stack it grew).

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed"
)

const (
	wsBatch   = 64                    // messages read from the feed at a time
	wsReplies = 64                    // replies (acks, pongs, errors) waiting for the writer
	wsLinger  = 25 * time.Millisecond // how long an idle writer waits for more work before its goroutine ends
)

// wsWriter writes a connection's frames: the hello, the messages after its
// cursor, the read pump's replies and the heartbeat's pings.
type wsWriter struct {
	wc *wsConn

	wakes     atomic.Int64  // wakes not yet served; the goroutine runs while > 0
	nudge     chan struct{} // wakes a lingering goroutine
	repliesMu sync.Mutex
	replies   [][]byte      // frames from the read pump; nil when none wait
	taken     chan struct{} // signalled when the writer takes the replies
	pingDue   atomic.Bool   // set by the heartbeat timer
	ping      *time.Timer   // fires every heartbeat

	// Written by the writer only (one goroutine runs at a time); read by
	// the dispatcher to find connections whose socket stopped taking bytes.
	cursor       atomic.Uint64 // the last id written
	writingSince atomic.Int64  // UnixNano when the write in progress began, 0 between writes
	epoch        string        // the epoch of cursor ("" until the first read, if the client named none)
	helloSent    bool
}

func (w *wsWriter) init(wc *wsConn, pos position) {
	w.wc = wc
	w.nudge = make(chan struct{}, 1)
	w.taken = make(chan struct{}, 1)
	w.epoch = pos.epoch
	w.cursor.Store(pos.cursor)
	w.ping = time.AfterFunc(wc.s.cfg.Heartbeat, func() { w.pingDue.Store(true); w.wake() })
}

// stop stops the heartbeat; the goroutine stops at its next check.
func (w *wsWriter) stop() { w.ping.Stop() }

// wake asks the writer to look for work, starting its goroutine if it is
// not running. Safe from any goroutine; never blocks.
func (w *wsWriter) wake() {
	if w.wakes.Add(1) == 1 {
		go w.run()
		return
	}
	select { // a running writer sees the count change; a lingering one needs a nudge
	case w.nudge <- struct{}{}:
	default:
	}
}

// run writes everything there is to write, then lingers for wsLinger in
// case more comes, then ends. Only one runs at a time for a connection: it
// is started by the wake that finds the counter at zero, and it sets the
// counter back to zero only when no wake came in since it last looked.
func (w *wsWriter) run() {
	linger := time.NewTimer(wsLinger)
	defer linger.Stop()
	for {
		n := w.wakes.Load()
		if !w.writeAll() {
			if !w.wc.ending.Swap(true) {
				w.wc.hangUp() // a write failed; after a goodbye the read pump waits for the answer
			}
			return
		}
		if w.wakes.Load() != n {
			continue
		}
		linger.Reset(wsLinger)
		select {
		case <-w.nudge:
			continue
		case <-linger.C:
		case <-w.wc.gone:
		}
		if w.wakes.CompareAndSwap(n, 0) {
			return
		}
	}
}

// writeAll sends the hello, every message after the cursor, the replies
// and a due ping, and the goodbye of a shutdown once everything published
// is out. It returns false when the connection must end: a write failed,
// or a goodbye was said.
func (w *wsWriter) writeAll() bool {
	s := w.wc.s
	if w.wc.ending.Load() {
		return false
	}
	if !w.helloSent && !w.writeHello() {
		return false
	}
	if !w.writeFeed() || !w.writeReplies() {
		return false
	}
	if w.pingDue.Swap(false) {
		w.writing()
		if !w.wrote(w.wc.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout))) {
			return false
		}
		w.ping.Reset(s.cfg.Heartbeat)
	}
	if s.shuttingDown() && w.cursor.Load() >= s.feed.LastID() {
		w.wc.goodbye(closeGoingAway, "the server is shutting down")
		return false
	}
	return true
}

// writeHello says where the connection starts and how often it pings.
func (w *wsWriter) writeHello() bool {
	s := w.wc.s
	w.helloSent = true
	epoch := w.epoch
	if epoch == "" {
		epoch = s.feed.Epoch()
	}
	hello := `{"type":"hello","next":` + strconv.FormatUint(w.cursor.Load(), 10) + `,"epoch":"` + epoch +
		`","heartbeat_ms":` + strconv.FormatInt(s.cfg.Heartbeat.Milliseconds(), 10) + `}`
	return w.write([]byte(hello))
}

// writeFeed writes what the feed has after the cursor: a reset and a
// missed notice first when they apply, then the messages.
func (w *wsWriter) writeFeed() bool {
	s := w.wc.s
	for {
		p := s.feed.Read(w.epoch, w.cursor.Load(), wsBatch)
		w.epoch = p.Epoch
		if p.Reset && !w.write([]byte(`{"type":"reset","epoch":"`+p.Epoch+`"}`)) {
			return false
		}
		if p.Missed > 0 && !w.write([]byte(`{"type":"missed","missed":`+strconv.FormatUint(p.Missed, 10)+`}`)) {
			return false
		}
		for _, m := range p.Messages {
			if w.wc.ending.Load() || !w.writeMessage(m) {
				return false // dropped or hung up meanwhile: let the goodbye through
			}
			w.cursor.Store(m.ID)
		}
		w.cursor.Store(p.Next)
		if !p.More {
			return true
		}
	}
}

// writeReplies writes the read pump's replies, in order.
func (w *wsWriter) writeReplies() bool {
	w.repliesMu.Lock()
	replies := w.replies
	w.replies = nil
	w.repliesMu.Unlock()
	select {
	case w.taken <- struct{}{}:
	default:
	}
	for _, b := range replies {
		if !w.write(b) {
			return false
		}
	}
	return true
}

// reply hands a reply to the writer. When wsReplies are already waiting,
// the read pump waits too (the client then feels TCP's backpressure), but
// only for one write timeout: a client that does not read its answers for
// that long is too slow. It returns false when the socket was hung up
// while waiting.
func (w *wsWriter) reply(b []byte) bool {
	var timeout <-chan time.Time
	for {
		w.repliesMu.Lock()
		room := len(w.replies) < wsReplies
		if room {
			w.replies = append(w.replies, b)
		}
		w.repliesMu.Unlock()
		w.wake()
		if room {
			return true
		}
		if timeout == nil {
			timeout = time.After(w.wc.s.cfg.WriteTimeout)
		}
		select {
		case <-w.taken:
		case <-w.wc.gone:
			return false
		case <-timeout:
			w.wc.dropSlow()
			return true // keep reading, for the client's close frame
		}
	}
}

// write sends one text frame; false means the connection is done.
func (w *wsWriter) write(b []byte) bool {
	_ = w.wc.conn.SetWriteDeadline(w.writing().Add(w.wc.s.cfg.WriteTimeout))
	return w.wrote(w.wc.conn.WriteMessage(websocket.TextMessage, b))
}

// writeMessage sends one message, as the frame prepared once for every
// connection (ws_hub.go).
func (w *wsWriter) writeMessage(m feed.Message) bool {
	s := w.wc.s
	pm, err := s.ws.frames.frame(m)
	if err != nil {
		return false
	}
	_ = w.wc.conn.SetWriteDeadline(w.writing().Add(s.cfg.WriteTimeout))
	if !w.wrote(w.wc.conn.WritePreparedMessage(pm)) {
		return false
	}
	s.stats.ws.messages.Add(1)
	return true
}

// writing marks the start of a write, for the dispatcher's check, and
// returns the time.
func (w *wsWriter) writing() time.Time {
	now := time.Now()
	w.writingSince.Store(now.UnixNano())
	return now
}

// blockedFor is how long the write in progress has waited for the socket.
func (w *wsWriter) blockedFor(now int64) time.Duration {
	if since := w.writingSince.Load(); since != 0 {
		return time.Duration(now - since)
	}
	return 0
}

// wrote checks the outcome of a write. A write that missed its deadline
// means a client that stopped reading: it is dropped like one whose socket
// stopped taking bytes, with a hang-up, since nothing more can be written.
func (w *wsWriter) wrote(err error) bool {
	w.writingSince.Store(0)
	var ne net.Error // the library hides os.ErrDeadlineExceeded behind its own net.Error
	if errors.As(err, &ne) && ne.Timeout() && !w.wc.ending.Swap(true) {
		w.wc.s.stats.ws.dropped.Add(1)
		w.wc.hangUp()
	}
	return err == nil
}

// isNetError reports whether err came from the network (a timeout, a
// closed socket), not from the protocol.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
