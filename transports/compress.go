package transports

// gzip on the HTTP answers, when --compress is on and the request's
// Accept-Encoding offers it (RFC 9110 section 8.4.1): a poll's answer is
// compressed once for every poll that shares it (answers.go), and an SSE
// stream is one gzip member (RFC 1952) whose events are each compressed
// alone and flushed at once, so an event reaches the client as soon as it
// would uncompressed, not when a compressor's buffer fills.
//
// Each event compressed alone is what permessage-deflate's "no context
// takeover" is on a WebSocket (fanout/frames.go): an event cannot refer
// back to the events before it, which costs some ratio on small events,
// but the stream keeps no compressor of its own (a Go compressor holds
// hundreds of KiB; zlib's, 32 KiB and more): a compressed stream holds a
// checksum, a count and the event being written. And an event is the same
// bytes on every stream at the same place in the feed, so its compressed
// bytes are too: the events compressed last are kept (deflateCache), and
// a message is compressed once, not once per stream.

import (
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"fourway/transports/fanout"
)

// acceptsGzip reports whether r's Accept-Encoding offers gzip: listed, and
// not with q=0 (a refusal).
func acceptsGzip(r *http.Request) bool {
	for _, line := range r.Header.Values("Accept-Encoding") {
		for coding := range strings.SplitSeq(line, ",") {
			name, params, _ := strings.Cut(coding, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			k, v, _ := strings.Cut(strings.TrimSpace(params), "=")
			if strings.TrimSpace(k) == "q" {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

var (
	gzipCoding     = []string{"gzip"}
	acceptEncoding = []string{"Accept-Encoding"}
)

// gzipStream writes one gzip member, piece by piece: the header, then
// each piece compressed alone (fanout.AppendDeflated), then the trailer,
// a checksum and the size of all the pieces.
type gzipStream struct {
	cache   *deflateCache // the events compressed last, shared; nil compresses every piece
	started bool
	crc     uint32
	size    uint32  // modulo 2^32, as the trailer says it
	pending *[]byte // what was written since the last flush (from eventBuffers); nil after it
}

// eventBuffers holds the buffers a compressed stream needs only while it
// writes an event: the event gathered until its flush, and the compressed
// bytes sent then. An idle stream holds none, whatever the size of the
// last event it wrote (it held buffers of that size for as long as it
// lived: 50 KiB after an event of 32 KiB).
var eventBuffers = sync.Pool{New: func() any { return new([]byte) }}

// gzipHeader is a member's header: the magic, deflate, no flags, no
// time, no hint, an unknown system.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// write takes p, to compress at the next flush.
func (g *gzipStream) write(p []byte) {
	if g.pending == nil {
		g.pending = eventBuffers.Get().(*[]byte)
	}
	*g.pending = append(*g.pending, p...)
}

// appendFlush appends to b what is to be sent now: the header, the first
// time, and what was written since, compressed.
func (g *gzipStream) appendFlush(b []byte) []byte {
	if !g.started {
		g.started = true
		b = append(b, gzipHeader...)
	}
	if g.pending != nil {
		piece := *g.pending
		g.crc = crc32.Update(g.crc, crc32.IEEETable, piece)
		g.size += uint32(len(piece))
		b = g.cache.appendDeflated(b, piece)
		*g.pending = piece[:0]
		eventBuffers.Put(g.pending)
		g.pending = nil
	}
	return b
}

// appendEnd appends the end of the member: an empty last block (fixed
// codes, its end code alone: 03 00) and the trailer.
func (g *gzipStream) appendEnd(b []byte) []byte {
	b = g.appendFlush(b)
	b = append(b, 3, 0)
	b = binary.LittleEndian.AppendUint32(b, g.crc)
	return binary.LittleEndian.AppendUint32(b, g.size)
}

const (
	deflateKept      = 64      // events whose compressed bytes are kept, at most
	deflateKeptBytes = 1 << 20 // bytes of events kept, at least (newDeflateCache)
	deflateKeptLarge = 4       // largest events kept at once, at least
	sseEnvelope      = 1024    // room for an event's fields around its message's data
)

// deflateCache keeps the compressed bytes of the events compressed last,
// by their bytes, for the streams that write the same events: each event
// is compressed once, whatever its size, for every stream that writes it
// while it is kept.
//
// It keeps the last deflateKept events, and fewer when their bytes pass
// its budget: the oldest go first. The budget is sized from --max-message
// so that the largest events fit, several at once, for the streams that
// are an event or two behind the others. Memory is bounded: the budget
// counts the events' plain bytes, and an event compressed alone is at most
// a few bytes larger than plain (deflate stores what it cannot compress,
// with 5 bytes per block of 64 KiB), so the worst case holds about twice
// the budget: 2 MiB with the default --max-message (64 KiB), 128 MiB with
// the largest (16 MiB: four such events, plain and compressed).
type deflateCache struct {
	mu      sync.Mutex
	entries [deflateKept]*deflatedEvent // a ring, oldest first from next
	next    int
	held    int // plain bytes of the events kept
	budget  int // held stays at most this

	compressed atomic.Int64 // pieces compressed, kept or not: what a test counts
}

// A deflatedEvent is one event and its compressed bytes, made once, by the
// first stream that writes it; the others wait for them.
type deflatedEvent struct {
	plain    string
	once     sync.Once
	deflated []byte
}

// newDeflateCache returns a cache for the events of messages of up to
// maxMessage bytes of data.
func newDeflateCache(maxMessage int) *deflateCache {
	return &deflateCache{budget: max(deflateKeptBytes, deflateKeptLarge*(maxMessage+sseEnvelope))}
}

// appendDeflated appends to b piece compressed alone
// (fanout.AppendDeflated), compressing it only if it is not kept.
func (c *deflateCache) appendDeflated(b, piece []byte) []byte {
	if c == nil {
		return fanout.AppendDeflated(b, piece)
	}
	e := c.event(piece)
	if e == nil { // larger than the budget: not an event of the feed
		c.compressed.Add(1)
		return fanout.AppendDeflated(b, piece)
	}
	e.once.Do(func() {
		c.compressed.Add(1)
		e.deflated = fanout.AppendDeflated(nil, piece)
	})
	return append(b, e.deflated...)
}

// event returns the kept event whose bytes are piece, or keeps a new one,
// not yet compressed, in the place of the oldest; nil when piece is larger
// than the whole budget.
func (c *deflateCache) event(piece []byte) *deflatedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries[:] {
		if e != nil && e.plain == string(piece) { // no copy: the compiler compares in place
			return e
		}
	}
	if len(piece) > c.budget {
		return nil
	}
	// piece takes the oldest event's place, and drops more of the oldest
	// while the budget is passed.
	for i := c.next; c.entries[c.next] != nil || c.held+len(piece) > c.budget; i = (i + 1) % deflateKept {
		if old := c.entries[i]; old != nil {
			c.held -= len(old.plain)
			c.entries[i] = nil
		}
	}
	e := &deflatedEvent{plain: string(piece)}
	c.entries[c.next], c.held = e, c.held+len(piece)
	c.next = (c.next + 1) % deflateKept
	return e
}

// gzipAnswer is a poll answer's gzip body, made the first time a poll that
// offers gzip asks for it, then shared like the answer.
type gzipAnswer struct {
	once sync.Once
	body []byte // nil when gzip would not make the answer smaller
}

// get returns the gzip body of plain, or nil when it is no smaller (a
// short answer: a gzip member adds 18 bytes of header and trailer).
func (g *gzipAnswer) get(plain []byte) []byte {
	g.once.Do(func() {
		var z gzipStream
		z.write(plain)
		if b := z.appendEnd(nil); len(b) < len(plain) {
			g.body = b
		}
	})
	return g.body
}
