package fanout

// The frames of a WebSocket's messages, encoded once for every connection:
// the server's frames are ours (RFC 6455 section 5.2: a server's frames
// are not masked), so the bytes of one message are the same for all, and
// are kept for the connections that are a little behind.

import (
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
}

// NewFrameCache returns a cache for a feed that keeps history messages.
func NewFrameCache(history int) *FrameCache {
	return &FrameCache{slots: make([]atomic.Pointer[encodedFrame], max(1, min(history, frameSlots)))}
}

// Frame returns m as a text frame, encoding it only the first time, unless
// the cache is full of frames of newer messages. Never modify the bytes.
func (fc *FrameCache) Frame(m feed.Message) []byte {
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if p := slot.Load(); p != nil && p.id == m.ID && p.time == m.Time {
		return p.frame
	}
	p := &encodedFrame{id: m.ID, time: m.Time, frame: AppendFrame(nil, OpText, m.JSON)}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	old := slot.Load()
	if old != nil && old.id > m.ID {
		return p.frame // a slow reader's old message: keep the newer frame
	}
	total := fc.bytes + len(p.frame)
	if old != nil {
		total -= len(old.frame)
	}
	if total <= frameBytes {
		slot.Store(p)
		fc.bytes = total
	}
	return p.frame
}

// held is the bytes of frames the cache keeps now.
func (fc *FrameCache) held() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.bytes
}
