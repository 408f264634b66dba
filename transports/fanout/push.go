package fanout

// How a streaming connection's bytes go out, cheaply: in the goroutine
// that has them. At tens of messages a second per client nothing batches,
// so a delivery is one write system call, and the cost to avoid is
// everything around it: waking a goroutine per connection per message, a
// timer, a channel. So whoever learns there is something to send (a
// dispatcher after a publish, a read pump with a reply, a timer) writes it
// itself, with a write that never waits: a socket with room (nearly all of
// them, nearly always) takes it at once. Only when a socket is full does
// the connection get a goroutine of its own, which waits for the socket
// with a deadline, and ends once the connection caught up. Bytes a
// connection is behind by go out in one write, not one each.
//
// A Pusher does the writing; what it writes comes from its Source: a
// WebSocket's frames, the SSE stream's events when they are written
// without the library, a held long poll's answer.

import (
	"sync"
	"sync/atomic"
	"time"
)

// BatchBytes is about the most a Source gathers for one write (one
// message may be larger).
const BatchBytes = 64 << 10

// A Source is what a Pusher writes.
type Source interface {
	// Next appends to b what is to be written now, about BatchBytes
	// at most, and says whether these are the stream's last bytes. The
	// last bytes may end with shared ones, written after b: bytes that
	// are never modified (a long poll's answer, which every poll that
	// asks the same shares), so the pusher writes them from where they
	// are, and keeps what a full socket has not taken of them as a
	// reference, not a copy. Only the last bytes may have them.
	Next(b []byte) (_, shared []byte, last bool)
	// Sent is told that the last bytes are out.
	Sent()
	// Failed is told of a write that failed: the source hangs up. A write
	// that missed its deadline is a client that stopped reading.
	Failed(err error)
	// HungUp reports whether the connection is closed.
	HungUp() bool
}

// A Pusher writes a source's bytes to a socket. One writes at a time,
// whoever wakes it finding nobody writing, with writes that never wait;
// or, once the socket was full, the connection's own goroutine, whose
// writes wait up to the timeout.
type Pusher struct {
	src     Source
	sock    Socket // socket.go
	timeout time.Duration

	wakes atomic.Int64 // wakes not yet served; someone writes while > 0

	// Used by the one who writes only.
	pending []byte // bytes accepted but not yet taken by a full socket: a copy
	shared  []byte // after them, what the socket has not taken of the last bytes' shared ones: not a copy
	done    bool   // the last bytes were handed to flush
	over    bool   // and they are out: the source was told

	// When the waiting write in progress began (UnixNano), 0 otherwise:
	// read by the dispatcher to find sockets that stopped taking bytes.
	writingSince atomic.Int64
}

// pushBuffers are the buffers next gathers into: one write's worth is
// handed to the socket, or copied to pending, before the buffer goes back.
var pushBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Init makes the pusher write src's bytes to sock, a waiting write taking
// timeout at most.
func (p *Pusher) Init(src Source, sock Socket, timeout time.Duration) {
	p.src, p.sock, p.timeout = src, sock, timeout
}

// Wake asks the pusher to write what there is. If nobody is writing, the
// caller writes, without waiting for the socket; what a full socket does
// not take is left to the connection's own goroutine. Safe from any
// goroutine; never blocks.
func (p *Pusher) Wake() {
	if p.src.HungUp() {
		return // a connection that left may be woken once more (dispatch.go)
	}
	if p.wakes.Add(1) != 1 {
		return // someone writes, and will look again before stopping
	}
	if p.writeAll(false) && p.wakes.CompareAndSwap(1, 0) {
		return
	}
	if !p.src.HungUp() {
		go p.run()
	}
}

// run is the connection's goroutine: it writes, waiting for the socket,
// until nothing is left and no wake came in since it last looked.
func (p *Pusher) run() {
	for {
		n := p.wakes.Load()
		ok := p.writeAll(true)
		p.sock.NoDeadline() // the writes that never wait must not meet an old one
		if !ok {
			return
		}
		if len(p.pending)+len(p.shared) == 0 && p.wakes.CompareAndSwap(n, 0) {
			return
		}
	}
}

// writeAll writes the pending bytes, then what the source has, a write's
// worth at a time. With wait false, it stops at a full socket, keeping the
// rest in pending. It returns false when the stream is over for the
// pusher (a write failed, or the last bytes are out) or, without wait,
// when bytes are left.
func (p *Pusher) writeAll(wait bool) bool {
	if p.over || !p.flush(nil, nil, wait) {
		return false
	}
	if p.done { // the last bytes were left pending by a full socket: out now
		return p.finish()
	}
	buf := pushBuffers.Get().(*[]byte)
	defer pushBuffers.Put(buf)
	for {
		b, shared, last := p.src.Next((*buf)[:0])
		p.done = last
		if !p.flush(b, shared, wait) {
			return false
		}
		if last {
			return p.finish()
		}
		if len(b) < BatchBytes {
			return true
		}
	}
}

// finish tells the source its last bytes are out; the stream is over.
func (p *Pusher) finish() bool {
	p.over = true
	p.src.Sent()
	return false
}

// flush writes the pending bytes, then b, then shared. Without wait it
// writes what the socket takes now and keeps the rest, of b as a copy in
// pending (b's buffer goes back to the pool), of shared as shared itself;
// then it returns false if bytes are left, which the connection's
// goroutine writes: nothing more is gathered meanwhile (writeAll stops).
// With wait, each write waits up to the timeout. A failed write is the
// source's to handle, and flush returns false.
func (p *Pusher) flush(b, shared []byte, wait bool) bool {
	if !wait {
		if len(p.pending)+len(p.shared) > 0 {
			return false // b and shared are nil here: see writeAll
		}
		n, err := p.sock.TryWrite(b)
		if err == nil && n == len(b) && len(shared) > 0 {
			b = nil
			n, err = p.sock.TryWrite(shared)
			shared = shared[n:]
		} else if err == nil {
			b = b[n:]
		}
		if !p.wrote(err) {
			return false
		}
		p.pending, p.shared = append(p.pending, b...), shared
		return len(b)+len(shared) == 0
	}
	for _, out := range [][]byte{p.pending, p.shared, b, shared} {
		if len(out) == 0 {
			continue
		}
		p.writingSince.Store(time.Now().UnixNano())
		err := p.sock.Write(out, p.timeout)
		p.writingSince.Store(0)
		if !p.wrote(err) {
			return false
		}
	}
	p.pending, p.shared = nil, nil
	return true
}

func (p *Pusher) wrote(err error) bool {
	if err != nil {
		p.src.Failed(err)
	}
	return err == nil
}

// BlockedFor is how long the waiting write in progress has waited for the
// socket, at now (UnixNano).
func (p *Pusher) BlockedFor(now int64) time.Duration {
	if since := p.writingSince.Load(); since != 0 {
		return time.Duration(now - since)
	}
	return 0
}
