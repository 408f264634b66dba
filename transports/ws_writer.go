package transports

// How a WebSocket's frames are made: written by its pusher (fanout/push.go), by
// whoever has them (a dispatcher after a publish, the read pump, the
// heartbeat), with writes that never wait, and frames a connection is
// behind by in one write.
//
// The frames are ours (RFC 6455 section 5.2: a server's frames are not
// masked), so that the bytes of one message are encoded once for every
// connection and can be written without gorilla/websocket's writer; the
// library still does the upgrade and all the reading. Since its writer is
// never used, nothing of it may write either: pongs and the answer to a
// client's close frame are queued here like any reply (see ws.go).

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

const (
	wsBatch   = 64 // messages read from the feed at a time
	wsReplies = 64 // replies (acks, pongs, errors) waiting for the writer
)

// wsReply is a frame from the read pump, and whether it is a heartbeat
// (a pong), which /api/stats counts whole, not as framing.
type wsReply struct {
	frame     []byte
	heartbeat bool
}

// wsWriter is a connection's source of frames for its pusher (fanout/push.go):
// the hello, the messages after its cursor, the read pump's replies, the
// heartbeat's pings and the goodbye.
type wsWriter struct {
	fanout.Pusher
	wc *wsConn

	repliesMu sync.Mutex
	replies   []wsReply     // frames from the read pump; nil when none wait
	taken     chan struct{} // signalled when the writer takes the replies

	farewell atomic.Pointer[[]byte] // the close frame to end with, once a goodbye was said
	saidBye  chan struct{}          // closed once the close frame is out

	ping    *time.Timer // fires every heartbeat
	pingDue atomic.Bool // set by the heartbeat timer

	// Used by the one who writes only. (helloSent shares pingDue's word.)
	helloSent bool
	epoch     string // the epoch of cursor ("" until the first read, if the client named none)
	// What the frames next gathers wrap, added to /api/stats once per
	// write (counted when handed to the socket, as the messages are).
	tally wiremeter.Tally

	// Written by the one who writes; read by the dispatcher.
	cursor atomic.Uint64 // the last id handed to the socket
}

func (w *wsWriter) init(wc *wsConn, pos position) {
	w.wc = wc
	w.Pusher.Init(w, fanout.NewSocket(wc.conn.NetConn(), &wc.s.stats.WS), wc.s.cfg.WriteTimeout)
	w.taken = make(chan struct{}, 1)
	w.saidBye = make(chan struct{})
	w.epoch = pos.epoch
	w.cursor.Store(pos.cursor)
	w.ping = time.AfterFunc(wc.s.cfg.Heartbeat, func() { w.pingDue.Store(true); w.Wake() })
}

// stop stops the heartbeat.
func (w *wsWriter) stop() { w.ping.Stop() }

// Next gathers the frames to write now, then the goodbye once one was
// said: a shutdown says it once everything published is out.
func (w *wsWriter) Next(b []byte) (_, shared []byte, last bool) {
	defer w.tally.Flush(&w.wc.s.stats.WS)
	if !w.wc.ending.Load() {
		if b = w.gather(b); len(b) >= fanout.BatchBytes {
			return b, nil, false // a write's worth: the rest after it
		}
	}
	if bye := w.farewell.Load(); bye != nil {
		w.tally.Framing(fanout.HeaderLen(*bye))
		return append(b, *bye...), nil, true
	}
	return b, nil, false
}

// Sent is told the close frame is out.
func (w *wsWriter) Sent() { w.wc.saidGoodbye() }

// HungUp reports whether the socket is closed.
func (w *wsWriter) HungUp() bool { return w.wc.hungUp() }

// Failed ends the connection with a hang-up. A write that missed its
// deadline means a client that stopped reading: it counts as dropped,
// like one whose socket stopped taking bytes.
func (w *wsWriter) Failed(err error) {
	if fanout.IsTimeout(err) && !w.wc.ending.Load() {
		w.wc.s.stats.WS.Dropped()
	}
	w.wc.hangUp()
}

// gather appends to b what is to be written: the hello first, what the
// feed has after the cursor (up to about fanout.BatchBytes), the replies, a due
// ping; and says goodbye when the server shuts down and everything
// published is in b.
func (w *wsWriter) gather(b []byte) []byte {
	s := w.wc.s
	if !w.helloSent {
		w.helloSent = true
		b = w.appendHello(b)
	}
	b, caughtUp := w.appendFeed(b)
	b = w.appendReplies(b)
	if w.pingDue.Swap(false) {
		b = fanout.AppendFrame(b, fanout.OpPing, nil)
		w.tally.Heartbeat(2)
		w.ping.Reset(s.cfg.Heartbeat)
	}
	if caughtUp && s.shuttingDown() && w.cursor.Load() >= s.feed.LastID() {
		w.wc.goodbye(closeGoingAway, "the server is shutting down")
	}
	return b
}

// appendHello says where the connection starts and how often it pings.
func (w *wsWriter) appendHello(b []byte) []byte {
	s := w.wc.s
	epoch := w.epoch
	if epoch == "" {
		epoch = s.feed.Epoch()
	}
	hello := `{"type":"hello","next":` + strconv.FormatUint(w.cursor.Load(), 10) + `,"epoch":"` + epoch +
		`","heartbeat_ms":` + strconv.FormatInt(s.cfg.Heartbeat.Milliseconds(), 10) + s.nodeField() + `}`
	return w.appendText(b, []byte(hello))
}

// appendText appends a text frame of payload, counting its header as
// framing.
func (w *wsWriter) appendText(b, payload []byte) []byte {
	n := len(b)
	b = fanout.AppendFrame(b, fanout.OpText, payload)
	w.tally.Framing(len(b) - n - len(payload))
	return b
}

// appendFeed appends what the feed has after the cursor, a reset and a
// missed notice first when they apply, and moves the cursor past it. It
// stops at about fanout.BatchBytes; caughtUp says whether it got to the end.
func (w *wsWriter) appendFeed(b []byte) (_ []byte, caughtUp bool) {
	s := w.wc.s
	for len(b) < fanout.BatchBytes {
		p := s.feed.Read(w.epoch, w.cursor.Load(), wsBatch)
		w.epoch = p.Epoch
		if p.Reset {
			b = w.appendText(b, []byte(`{"type":"reset","epoch":"`+p.Epoch+`"}`))
		}
		if p.Missed > 0 {
			b = w.appendText(b, []byte(`{"type":"missed","missed":`+strconv.FormatUint(p.Missed, 10)+`}`))
		}
		for i, m := range p.Messages {
			if i > 0 && len(b) >= fanout.BatchBytes { // the rest next time: a write stays short
				s.stats.WS.Delivered(i)
				w.cursor.Store(p.Messages[i-1].ID)
				return b, false
			}
			frame := s.ws.frames.Frame(m)
			if w.wc.deflate {
				frame = s.ws.frames.DeflatedFrame(m) // compressed once for all
			}
			w.tally.Framing(fanout.HeaderLen(frame))
			b = append(b, frame...)
		}
		s.stats.WS.Delivered(len(p.Messages))
		w.cursor.Store(p.Next)
		if !p.More {
			return b, true
		}
	}
	return b, false
}

// appendReplies appends the read pump's replies, in order.
func (w *wsWriter) appendReplies(b []byte) []byte {
	w.repliesMu.Lock()
	replies := w.replies
	w.replies = nil
	w.repliesMu.Unlock()
	select {
	case w.taken <- struct{}{}:
	default:
	}
	for _, r := range replies {
		if r.heartbeat {
			w.tally.Heartbeat(len(r.frame))
		} else {
			w.tally.Framing(fanout.HeaderLen(r.frame))
		}
		b = append(b, r.frame...)
	}
	return b
}

// replyText hands the writer a text frame of payload; a heartbeat
// ("pong", say) is counted as one (see reply).
func (w *wsWriter) replyText(payload []byte) bool {
	return w.reply(fanout.AppendFrame(nil, fanout.OpText, payload), wiremeter.IsHeartbeat(payload))
}

// replyPong hands the writer the pong that answers a client's ping.
func (w *wsWriter) replyPong(data []byte) bool {
	return w.reply(fanout.AppendFrame(nil, fanout.OpPong, data), true)
}

// reply hands a frame to the writer, and says whether it is a heartbeat,
// which /api/stats counts whole, not as framing. When wsReplies are already waiting,
// the read pump waits too (the client then feels TCP's backpressure), but
// only for one write timeout: a client that does not read its answers for
// that long is too slow. It returns false when the socket was hung up
// while waiting.
func (w *wsWriter) reply(frame []byte, heartbeat bool) bool {
	var timeout <-chan time.Time
	for {
		w.repliesMu.Lock()
		room := len(w.replies) < wsReplies
		if room {
			w.replies = append(w.replies, wsReply{frame, heartbeat})
		}
		w.repliesMu.Unlock()
		w.Wake()
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
			w.wc.DropSlow()
			return true // keep reading, for the client's close frame
		}
	}
}

// closeFrame is the frame of a goodbye with code.
func closeFrame(code int, reason string) []byte {
	return fanout.AppendFrame(nil, fanout.OpClose, websocket.FormatCloseMessage(code, reason))
}

// Wake, BlockedFor and DropSlow make a connection a subscriber of the
// dispatchers (fanout/dispatch.go).
func (wc *wsConn) Wake()                              { wc.writer.Wake() }
func (wc *wsConn) BlockedFor(now int64) time.Duration { return wc.writer.BlockedFor(now) }

// DropSlow drops a client that could not keep up: a goodbye 4001, and it
// resumes from its cursor (a hang-up, if even the close frame cannot be
// written in time). Never blocks.
func (wc *wsConn) DropSlow() {
	if wc.goodbye(closeTooSlow, "too slow: reconnect with your cursor") {
		wc.s.stats.WS.Dropped()
	}
}
