package transports

// How a WebSocket's frames go out, cheaply: as bytes on the socket, and in
// the goroutine that has them. At tens of messages a second per client
// nothing batches, so a delivery is one write system call, and the cost to
// avoid is everything around it: waking a goroutine per connection per
// message, a timer, a channel. So the dispatcher that learns of a publish
// (ws_hub.go) writes the frame itself, with a write that never waits: a
// socket with room (nearly all of them, nearly always) takes it at once.
// Only when a socket is full does the connection get a goroutine of its
// own, which waits for the socket with a deadline, and ends once the
// connection caught up. Frames a connection is behind by go out in one
// write, not one each.
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
)

const (
	wsBatch      = 64       // messages read from the feed at a time
	wsBatchBytes = 64 << 10 // bytes gathered for one write, about (one message may be larger)
	wsReplies    = 64       // replies (acks, pongs, errors) waiting for the writer
)

// Frame opcodes (RFC 6455 section 5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// appendFrame appends a final, unmasked frame of payload to b.
func appendFrame(b []byte, opcode byte, payload []byte) []byte {
	b = append(b, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, payload...)
}

// wsWriter writes a connection's frames: the hello, the messages after its
// cursor, the read pump's replies, the heartbeat's pings and the goodbye.
// One writes at a time, whoever wakes it finding nobody writing: the
// dispatcher, the read pump or a timer, with writes that never wait; or,
// once a socket was full, the connection's own goroutine, whose writes
// wait up to the write timeout.
type wsWriter struct {
	wc   *wsConn
	sock socket // conn.go

	wakes atomic.Int64 // wakes not yet served; someone writes while > 0

	repliesMu sync.Mutex
	replies   [][]byte      // frames from the read pump; nil when none wait
	taken     chan struct{} // signalled when the writer takes the replies
	pingDue   atomic.Bool   // set by the heartbeat timer
	ping      *time.Timer   // fires every heartbeat

	farewell atomic.Pointer[[]byte] // the close frame to end with, once a goodbye was said
	saidBye  chan struct{}          // closed once the close frame is out

	// Used by the one who writes only.
	pending   []byte // bytes accepted but not yet taken by a full socket
	epoch     string // the epoch of cursor ("" until the first read, if the client named none)
	helloSent bool
	byeSent   bool

	// Written by the one who writes; read by the dispatcher to find
	// connections whose socket stopped taking bytes.
	cursor       atomic.Uint64 // the last id handed to the socket
	writingSince atomic.Int64  // UnixNano when the waiting write in progress began, 0 otherwise
}

func (w *wsWriter) init(wc *wsConn, pos position) {
	w.wc = wc
	w.sock = newSocket(wc.conn.NetConn(), &wc.s.stats.ws)
	w.taken = make(chan struct{}, 1)
	w.saidBye = make(chan struct{})
	w.epoch = pos.epoch
	w.cursor.Store(pos.cursor)
	w.ping = time.AfterFunc(wc.s.cfg.Heartbeat, func() { w.pingDue.Store(true); w.wake() })
}

// stop stops the heartbeat.
func (w *wsWriter) stop() { w.ping.Stop() }

// wake asks the writer to write what there is. If nobody is writing, the
// caller writes, without waiting for the socket; what a full socket does
// not take is left to the connection's own goroutine. Safe from any
// goroutine; never blocks.
func (w *wsWriter) wake() {
	if w.wakes.Add(1) != 1 {
		return // someone writes, and will look again before stopping
	}
	if w.writeAll(false) && w.wakes.CompareAndSwap(1, 0) {
		return
	}
	if !w.wc.hungUp() {
		go w.run()
	}
}

// run is the connection's goroutine: it writes, waiting for the socket,
// until nothing is left and no wake came in since it last looked.
func (w *wsWriter) run() {
	for {
		n := w.wakes.Load()
		ok := w.writeAll(true)
		w.sock.noDeadline() // the writes that never wait must not meet an old one
		if !ok {
			return
		}
		if len(w.pending) == 0 && w.wakes.CompareAndSwap(n, 0) {
			return
		}
	}
}

// writeAll writes the pending bytes, then the hello, every message after
// the cursor, the replies and a due ping, then the goodbye of a shutdown
// once everything published is out, or a goodbye said meanwhile. With
// wait false, it stops at a full socket, keeping the rest in pending. It
// returns false when the connection is over for the writer (a write
// failed, or the goodbye is out) or, without wait, when bytes are left.
func (w *wsWriter) writeAll(wait bool) bool {
	if w.byeSent || !w.flush(nil, wait) {
		return false
	}
	var b []byte
	if !w.wc.ending.Load() {
		b = w.gather(make([]byte, 0, 512))
		for len(b) >= wsBatchBytes { // a write's worth: out with it, then the rest
			if !w.flush(b, wait) {
				return false
			}
			if b = b[:0]; !w.wc.ending.Load() {
				b = w.gather(b)
			}
		}
	}
	if bye := w.farewell.Load(); bye != nil {
		w.byeSent = true
		b = append(b, *bye...)
	}
	if !w.flush(b, wait) {
		return false
	}
	if w.byeSent {
		w.wc.saidGoodbye()
		return false
	}
	return true
}

// gather appends to b what is to be written: the hello first, what the
// feed has after the cursor (up to about wsBatchBytes), the replies, a due
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
		b = appendFrame(b, opPing, nil)
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
		`","heartbeat_ms":` + strconv.FormatInt(s.cfg.Heartbeat.Milliseconds(), 10) + `}`
	return appendFrame(b, opText, []byte(hello))
}

// appendFeed appends what the feed has after the cursor, a reset and a
// missed notice first when they apply, and moves the cursor past it. It
// stops at about wsBatchBytes; caughtUp says whether it got to the end.
func (w *wsWriter) appendFeed(b []byte) (_ []byte, caughtUp bool) {
	s := w.wc.s
	for len(b) < wsBatchBytes {
		p := s.feed.Read(w.epoch, w.cursor.Load(), wsBatch)
		w.epoch = p.Epoch
		if p.Reset {
			b = appendFrame(b, opText, []byte(`{"type":"reset","epoch":"`+p.Epoch+`"}`))
		}
		if p.Missed > 0 {
			b = appendFrame(b, opText, []byte(`{"type":"missed","missed":`+strconv.FormatUint(p.Missed, 10)+`}`))
		}
		for i, m := range p.Messages {
			if i > 0 && len(b) >= wsBatchBytes { // the rest next time: a write stays short
				s.stats.ws.messages.Add(int64(i))
				w.cursor.Store(p.Messages[i-1].ID)
				return b, false
			}
			b = append(b, s.ws.frames.frame(m)...)
		}
		s.stats.ws.messages.Add(int64(len(p.Messages)))
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
		b = append(b, r...)
	}
	return b
}

// flush writes the pending bytes, then b. Without wait it writes what the
// socket takes now and keeps the rest in pending; then it returns false if
// bytes are left. With wait, each write waits up to the write timeout.
// A failed write hangs up and returns false.
func (w *wsWriter) flush(b []byte, wait bool) bool {
	if !wait {
		if len(w.pending) == 0 {
			n, err := w.sock.tryWrite(b)
			if err == nil && n < len(b) {
				w.pending = append(w.pending, b[n:]...)
			}
			return w.wrote(err) && n == len(b)
		}
		w.pending = append(w.pending, b...)
		return false
	}
	for _, out := range [][]byte{w.pending, b} {
		if len(out) == 0 {
			continue
		}
		w.writingSince.Store(time.Now().UnixNano())
		err := w.sock.write(out, w.wc.s.cfg.WriteTimeout)
		w.writingSince.Store(0)
		if !w.wrote(err) {
			return false
		}
	}
	w.pending = nil
	return true
}

// blockedFor is how long the waiting write in progress has waited for the
// socket.
func (w *wsWriter) blockedFor(now int64) time.Duration {
	if since := w.writingSince.Load(); since != 0 {
		return time.Duration(now - since)
	}
	return 0
}

// wrote checks the outcome of a write. A write that failed ends the
// connection with a hang-up. One that missed its deadline means a client
// that stopped reading: it counts as dropped, like one whose socket
// stopped taking bytes.
func (w *wsWriter) wrote(err error) bool {
	if err == nil {
		return true
	}
	if isTimeout(err) && !w.wc.ending.Load() {
		w.wc.s.stats.ws.dropped.Add(1)
	}
	w.wc.hangUp()
	return false
}

// reply hands a frame to the writer. When wsReplies are already waiting,
// the read pump waits too (the client then feels TCP's backpressure), but
// only for one write timeout: a client that does not read its answers for
// that long is too slow. It returns false when the socket was hung up
// while waiting.
func (w *wsWriter) reply(frame []byte) bool {
	var timeout <-chan time.Time
	for {
		w.repliesMu.Lock()
		room := len(w.replies) < wsReplies
		if room {
			w.replies = append(w.replies, frame)
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

// closeFrame is the frame of a goodbye with code.
func closeFrame(code int, reason string) []byte {
	return appendFrame(nil, opClose, websocket.FormatCloseMessage(code, reason))
}
