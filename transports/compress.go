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
	size    uint32 // modulo 2^32, as the trailer says it
	pending []byte // what was written since the last flush
}

// gzipHeader is a member's header: the magic, deflate, no flags, no
// time, no hint, an unknown system.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// write takes p, to compress at the next flush.
func (g *gzipStream) write(p []byte) { g.pending = append(g.pending, p...) }

// appendFlush appends to b what is to be sent now: the header, the first
// time, and what was written since, compressed.
func (g *gzipStream) appendFlush(b []byte) []byte {
	if !g.started {
		g.started = true
		b = append(b, gzipHeader...)
	}
	if len(g.pending) > 0 {
		g.crc = crc32.Update(g.crc, crc32.IEEETable, g.pending)
		g.size += uint32(len(g.pending))
		b = g.cache.appendDeflated(b, g.pending)
		g.pending = g.pending[:0]
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
	deflateKept    = 64       // events whose compressed bytes are kept
	deflateKeptMax = 16 << 10 // bytes of the largest event kept
)

// deflateCache keeps the compressed bytes of the events compressed last,
// by their bytes, for the streams that write the same events.
type deflateCache struct {
	mu      sync.Mutex
	entries [deflateKept]struct {
		plain    string
		deflated []byte
	}
	next int
}

// appendDeflated appends to b piece compressed alone
// (fanout.AppendDeflated), compressing it only if it is not kept.
func (c *deflateCache) appendDeflated(b, piece []byte) []byte {
	if c == nil || len(piece) > deflateKeptMax {
		return fanout.AppendDeflated(b, piece)
	}
	c.mu.Lock()
	for i := range c.entries {
		if e := &c.entries[i]; e.plain == string(piece) { // no copy: the compiler compares in place
			d := e.deflated
			c.mu.Unlock()
			return append(b, d...)
		}
	}
	c.mu.Unlock()
	d := fanout.AppendDeflated(nil, piece)
	c.mu.Lock()
	c.entries[c.next].plain, c.entries[c.next].deflated = string(piece), d
	c.next = (c.next + 1) % deflateKept
	c.mu.Unlock()
	return append(b, d...)
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
