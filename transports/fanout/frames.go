package fanout

// The frames of a WebSocket's messages, encoded once for every connection:
// the server's frames are ours (RFC 6455 section 5.2: a server's frames
// are not masked), so the bytes of one message are the same for all, and
// are kept for the connections that are a little behind.
//
// With permessage-deflate (RFC 7692) and no context takeover, a message is
// compressed on its own, without the messages before it: its compressed
// frame, too, is the same for every connection that negotiated it, so it
// is compressed once, not once per connection (gorilla's PreparedMessage
// and Nchan's nchan_deflate_message_for_websocket do the same).

import (
	"bytes"
	"compress/flate"
	"sync"
	"sync/atomic"

	"fourway/feed"
)

// Frame opcodes (RFC 6455 section 5.2).
const (
	OpText  = 0x1
	OpClose = 0x8
	OpPing  = 0x9
	OpPong  = 0xA
)

// AppendFrame appends a final, unmasked frame of payload to b.
func AppendFrame(b []byte, opcode byte, payload []byte) []byte {
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

// rsv1 marks a frame whose payload is compressed (RFC 7692 section 6).
const rsv1 = 0x40

// deflaters are the compressors of DeflateFrame, reused: each holds some
// hundreds of KiB of tables.
var deflaters sync.Pool

// DeflateFrame returns a final frame of payload compressed as
// permessage-deflate with no context takeover says (RFC 7692 section
// 7.2.1): deflated alone, flushed, and without the 4 bytes 00 00 ff ff
// that end every flush. When that is no smaller than the plain frame (a
// short message: deflate's block headers and the literals' codes cost more
// than they save), it returns the plain frame instead, which the extension
// allows for any message: the compressed bit is per message.
func DeflateFrame(opcode byte, payload []byte) []byte {
	deflated := bytes.TrimSuffix(AppendDeflated(nil, payload), []byte{0, 0, 0xff, 0xff})
	plain := AppendFrame(nil, opcode, payload)
	if frame := AppendFrame(nil, opcode, deflated); len(frame) < len(plain) {
		frame[0] |= rsv1
		return frame
	}
	return plain
}

// AppendDeflated appends to b payload compressed on its own, at
// gorilla's level (the fastest), as deflate blocks that are not the last,
// ending on a byte with a flush (an empty stored block: 00 00 ff ff). So
// such pieces, each made alone, join into one deflate stream, and each can
// be decoded as soon as it arrives.
func AppendDeflated(b, payload []byte) []byte {
	buf := bytes.NewBuffer(b)
	fw, _ := deflaters.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(buf, flate.BestSpeed) // a valid level never fails
	} else {
		fw.Reset(buf)
	}
	_, _ = fw.Write(payload) // a bytes.Buffer never fails
	_ = fw.Flush()
	deflaters.Put(fw)
	return buf.Bytes()
}

// IsDeflated reports whether a server's frame carries a compressed
// payload.
func IsDeflated(frame []byte) bool { return frame[0]&rsv1 != 0 }

// HeaderLen is the size of the header of frame, a server's frame as
// AppendFrame writes it: 2 bytes for a payload under 126, 4 up to 64 KiB,
// 10 beyond.
func HeaderLen(frame []byte) int {
	switch frame[1] & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

const (
	frameSlots = 1024    // messages whose frame is kept, at most (and at most --history)
	frameBytes = 8 << 20 // bytes of frames kept, at most
)

// A FrameCache keeps the text frames of recent messages, bounded in count
// (by the feed's history: an older message is not served from the feed
// anyway) and in bytes (so large messages cannot fill the heap).
type FrameCache struct {
	slots []atomic.Pointer[encodedFrame] // message id % len -> its frame; read without a lock
	mu    sync.Mutex                     // taken to store a frame
	bytes int                            // size of the frames held, under mu
}

type encodedFrame struct {
	id    uint64
	time  float64 // with id, names the message: a feed whose epoch changes (a recreated JetStream stream) reuses ids
	frame []byte  // the whole text frame, header and message

	// deflated is the frame for connections that negotiated
	// permessage-deflate (DeflateFrame), made when the first of them asks;
	// set under the cache's mu, while the frame is in its slot.
	deflated atomic.Pointer[[]byte]
}

// NewFrameCache returns a cache for a feed that keeps history messages.
func NewFrameCache(history int) *FrameCache {
	return &FrameCache{slots: make([]atomic.Pointer[encodedFrame], max(1, min(history, frameSlots)))}
}

// Frame returns m as a text frame, encoding it only the first time, unless
// the cache is full of frames of newer messages. Never modify the bytes.
func (fc *FrameCache) Frame(m feed.Message) []byte { return fc.entry(m).frame }

// DeflatedFrame is Frame for a connection that negotiated
// permessage-deflate: m's frame compressed (or plain, when compressing
// does not make it smaller; see DeflateFrame), compressed only the first
// time.
func (fc *FrameCache) DeflatedFrame(m feed.Message) []byte {
	p := fc.entry(m)
	if d := p.deflated.Load(); d != nil {
		return *d
	}
	d := DeflateFrame(OpText, m.JSON)
	extra := len(d)
	if !IsDeflated(d) {
		d, extra = p.frame, 0 // the same bytes: nothing more to hold
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if slot.Load() == p && p.deflated.Load() == nil && fc.bytes+extra <= frameBytes {
		p.deflated.Store(&d)
		fc.bytes += extra
	}
	return d
}

// entry returns m's entry, the cached one or a new one, cached if it may.
func (fc *FrameCache) entry(m feed.Message) *encodedFrame {
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if p := slot.Load(); p != nil && p.id == m.ID && p.time == m.Time {
		return p
	}
	p := &encodedFrame{id: m.ID, time: m.Time, frame: AppendFrame(nil, OpText, m.JSON)}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	old := slot.Load()
	if old != nil && old.id > m.ID {
		return p // a slow reader's old message: keep the newer frame
	}
	total := fc.bytes + len(p.frame)
	if old != nil {
		total -= old.size()
	}
	if total <= frameBytes {
		slot.Store(p)
		fc.bytes = total
	}
	return p
}

// size is the bytes the entry holds, its deflated frame included when that
// is bytes of its own. Called under the cache's mu.
func (p *encodedFrame) size() int {
	n := len(p.frame)
	if d := p.deflated.Load(); d != nil && IsDeflated(*d) {
		n += len(*d)
	}
	return n
}

// held is the bytes of frames the cache keeps now.
func (fc *FrameCache) held() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.bytes
}
