package wiremeter

// What the counting conn (conn.go) sees of the framing it did not write
// itself: a WebSocket client's frames, and the chunks net/http writes
// around the SSE events of the library's writer (transports/sse_stream.go).
// Each is followed byte by byte as it crosses the socket, in the clear
// only (under TLS the socket carries records), and split by the wire
// inspector's rules (inspect.go) into framing and heartbeats, so that
// /api/stats and the inspector agree. Neither keeps anything but a few bytes of state, and
// each adds to the transport's figures once per read or write. A client's
// bytes are whatever it sends: nothing here may panic on them
// (FuzzWireFollowers).

import "math"

// frameFollower follows a WebSocket client's frames: a header of 2 bytes,
// 2 or 8 more of length, 4 of mask key (a client's frames are masked),
// then the payload.
type frameFollower struct {
	head    [14]byte // the header so far
	headLen int
	hdr     frameHeader // once whole
	size    int64       // the header's size once whole; 0 while in a header
	left    int64       // payload bytes of the frame still to come
	keep    bool        // the payload is as long as a heartbeat's: keep it, unmasked
	unmask  int         // payload bytes unmasked into kept so far
	kept    [15]byte
}

// follow counts the frames' parts in b, the next bytes read, for t.
func (f *frameFollower) follow(t *Counters, b []byte) {
	var framing, beats int64
	for len(b) > 0 {
		if f.size == 0 { // in a header
			n := copy(f.head[f.headLen:f.need()], b)
			f.headLen += n
			b = b[n:]
			if f.headLen < 2 || f.headLen < f.need() {
				continue
			}
			f.start()
			if f.left > 0 {
				continue
			}
		} else {
			n := min(int64(len(b)), f.left)
			if f.keep {
				for i := range int(n) {
					f.kept[f.unmask] = b[i] ^ f.hdr.key[f.unmask%4]
					f.unmask++
				}
			}
			f.left -= n
			b = b[n:]
			if f.left > 0 {
				continue
			}
		}
		if isHeartbeatFrame(f.hdr.opcode, f.kept[:f.unmask]) { // the frame is whole
			beats += f.size + f.hdr.length
		} else {
			framing += f.size
		}
		f.size, f.headLen = 0, 0
	}
	if framing != 0 {
		t.framing[In].Add(framing)
	}
	if beats != 0 {
		t.heartbeats[In].Add(beats)
	}
}

// need is the size of the header in progress, as far as it is known: 2
// until its second byte came.
func (f *frameFollower) need() int {
	if f.headLen < 2 {
		return 2
	}
	return frameHeaderLen(f.head[1])
}

// start reads the whole header of a frame.
func (f *frameFollower) start() {
	f.hdr = decodeFrameHeader(f.head[:f.headLen])
	f.size, f.left, f.unmask = int64(f.headLen), f.hdr.length, 0
	n := f.hdr.length
	f.keep = f.hdr.masked && (n == 4 || n == int64(len(f.kept))) // "ping", {"type":"ping"} and their pongs
}

// chunkFollower follows the chunks of an HTTP/1.1 chunked body: a size
// line in hex, the data, a CRLF; a last chunk of size 0, then trailers
// and a blank line. The framing of a chunk that begins an event with a
// comment (": ping", written alone by the library) is a heartbeat's; the
// comment itself was counted when it was handed to the library
// (transports/sse.go).
type chunkFollower struct {
	state   int
	size    int64 // the size line's value so far, then the data still to come
	line    int64 // bytes of the chunk's framing so far, until its kind is known
	ping    bool  // the chunk in progress is a comment's
	midLine bool  // in a size line's extension, or a trailer line with text
	tail    [2]byte
	done    bool
}

// begin readies c for a body that has not begun: its first chunk begins
// an event.
func (c *chunkFollower) begin() { *c = chunkFollower{tail: [2]byte{'\n', '\n'}} }

const (
	chunkSize  = iota // in a size line
	chunkData         // in the data
	chunkCRLF         // in the CRLF after the data
	chunkTrail        // after the last chunk: trailers, then a blank line
)

// follow counts the chunk framing in b, the next bytes written, for t, and
// reports whether the body has ended.
func (c *chunkFollower) follow(t *Counters, b []byte) (ended bool) {
	var framing, beats int64
	add := func(n int64) {
		if c.ping {
			beats += n
		} else {
			framing += n
		}
	}
	for len(b) > 0 && !c.done {
		switch c.state {
		case chunkSize:
			b = c.sizeLine(b, &framing)
		case chunkData:
			if c.line > 0 { // the data's first byte decides whose the framing is
				c.ping = c.tail == [2]byte{'\n', '\n'} && b[0] == ':'
				add(c.line)
				c.line, c.midLine = 0, false
			}
			n := min(int64(len(b)), c.size)
			if n >= 2 {
				c.tail = [2]byte{b[n-2], b[n-1]}
			} else {
				c.tail = [2]byte{c.tail[1], b[0]}
			}
			c.size -= n
			b = b[n:]
			if c.size == 0 {
				c.state = chunkCRLF
			}
		case chunkCRLF:
			n := min(len(b), 2-int(c.line))
			c.line += int64(n)
			b = b[n:]
			if c.line == 2 {
				add(2)
				c.line, c.state = 0, chunkSize
			}
		case chunkTrail:
			ch := b[0]
			b = b[1:]
			framing++
			if ch == '\n' {
				c.done = !c.midLine
				c.midLine = false
			} else if ch != '\r' {
				c.midLine = true
			}
		}
	}
	if framing != 0 {
		t.framing[Out].Add(framing)
	}
	if beats != 0 {
		t.heartbeats[Out].Add(beats)
	}
	return c.done
}

// sizeLine follows a chunk's size line through b, adding to framing the
// last chunk's, and returns what of b follows the line.
func (c *chunkFollower) sizeLine(b []byte, framing *int64) []byte {
	i := 0
	for ; i < len(b); i++ {
		ch := b[i]
		c.line++
		if ch == '\n' {
			i++
			if c.size == 0 {
				c.state, c.ping = chunkTrail, false
				*framing += c.line
				c.line, c.midLine = 0, false
			} else {
				c.state = chunkData
			}
			break
		}
		if v, ok := hexDigit(ch); ok && !c.midLine {
			if c.size > math.MaxInt64>>4 { // not net/http's: stop following
				c.done, i = true, len(b)-1
				continue
			}
			c.size = c.size<<4 | v
		} else if ch != '\r' {
			c.midLine = true // a chunk extension: up to the line's end
		}
	}
	return b[i:]
}

func hexDigit(ch byte) (int64, bool) {
	switch {
	case '0' <= ch && ch <= '9':
		return int64(ch - '0'), true
	case 'a' <= ch && ch <= 'f':
		return int64(ch-'a') + 10, true
	case 'A' <= ch && ch <= 'F':
		return int64(ch-'A') + 10, true
	}
	return 0, false
}
