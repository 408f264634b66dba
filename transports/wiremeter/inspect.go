package wiremeter

// The wire inspector: GET /api/inspect shows the last exchanges of each
// transport as they crossed the server's socket, so a learner can see a
// poll's headers, an SSE event's chunk framing and a WebSocket frame's two
// header bytes on the page itself.
//
// It records only while someone looks: each GET /api/inspect keeps it on
// for InspectLease, and nothing is recorded otherwise. Off, it costs one
// atomic load per request (Begin) and one per socket read and write
// (Conn's reads and writes, and Conn.Wrote, load a tap pointer that is nil).
// On, a request of one of the four transports gets a tap on its connection
// from that request on: the tap copies at most a few KiB of what the socket
// carries, and counts the rest by kind (headers, framing, heartbeats,
// payload), bounded per exchange and per transport.
//
// What is recorded:
//
//   - the request line and headers, written as a client sends them
//     ("Name: value", one space), as headerSize counts them: net/http keeps
//     no raw request bytes, and they were read before the handler ran;
//   - the response as written: status line and headers, then the body
//     (polls), the chunks of the SSE stream (the last sseChunksKept, each
//     with its size line and CRLFs), or the WebSocket frames each way (the
//     last wsFramesKept, with FIN, opcode, mask bit, length and the header
//     bytes in hex, a client's payload unmasked).
//
// Compressed bytes (--compress) are shown as they crossed the socket, in
// hex: a gzip body or stream (Content-Encoding: gzip), whose bytes all
// count as payload but for the chunks' framing; a WebSocket frame with
// RSV1 set, marked compressed. Beside them is the size they decode to:
// a poll's body when the whole of it was kept (bodyKept); an SSE chunk and
// a whole compressed message in one frame up to deflatedKept, inflated on
// their own (each event and each message is compressed alone: no context
// takeover). Only while recording, and once per chunk or frame.
//
// Authorization and Cookie values and a ?token= are replaced by the same
// number of "*", so the byte counts stay true and the secrets stay out.

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const (
	InspectLease     = 30 * time.Second // how long one GET /api/inspect keeps the recording on
	exchangesKept    = 4                // per transport: the newest exchanges (a poll each, a stream each)
	sseChunksKept    = 20               // per SSE stream: its newest chunks
	wsFramesKept     = 20               // per WebSocket, each way: its newest frames
	bodyKept         = 4 << 10          // bytes of a poll's body kept as text
	chunkKept        = 1 << 10          // bytes of one SSE chunk kept
	framePayloadKept = 256              // bytes of one WebSocket payload kept
	deflatedKept     = 64 << 10         // compressed bytes of one SSE chunk or WebSocket frame kept to tell the size they decode to
	headKept         = 8 << 10          // a response head longer than this is not parsed further
	sizeLineKept     = 64               // a chunk size line longer than this is not parsed further
)

// Inspector holds the recording: whether it is on, and the exchanges.
type Inspector struct {
	on    atomic.Bool
	mu    sync.Mutex
	off   *time.Timer            // ends the lease
	seq   int64                  // numbers the exchanges
	byKey map[string][]*Exchange // transport -> newest last
}

// Exchange is one request and what was written for it: a poll and its
// answer, or a whole stream (SSE, WebSocket) from its request on.
type Exchange struct {
	mu sync.Mutex // taken by the tap's reads and writes and by the snapshot

	ID        int64          `json:"id"`
	Transport string         `json:"transport"`
	Started   time.Time      `json:"started"`
	Client    string         `json:"client,omitempty"` // a WebSocket's ?client=
	Request   wireText       `json:"request"`          // line and headers, as sent
	Response  wireText       `json:"response"`         // status line and headers, as written
	Body      *wireText      `json:"body,omitempty"`   // a poll's answer
	Chunks    []wireChunk    `json:"chunks,omitempty"` // SSE: the newest chunks
	Frames    *wireFrameSets `json:"frames,omitempty"` // WebSocket
	Parts     wireParts      `json:"parts"`            // every byte of the exchange, by kind
	// Sealed names the protocol of a request that came over TLS
	// ("HTTP/2.0 over TLS"): its socket carries encrypted records, so only
	// the request, as the server parsed it, is shown, and no bytes.
	Sealed string `json:"sealed,omitempty"`
	// Encoding is the response's Content-Encoding ("gzip"), when it has one.
	Encoding string `json:"encoding,omitempty"`

	out     wireReader // the server's writes
	in      wireReader // a WebSocket client's frames
	chunked bool
	ws      bool
}

// wireText is bytes as text, with their count (the text may be cut short).
type wireText struct {
	Text  string `json:"text"`
	Bytes int64  `json:"bytes"`
	// Decoded is the size a gzip body decodes to, when the whole of it
	// was kept (bodyKept) and decodes.
	Decoded int64 `json:"decoded,omitempty"`
}

// wireChunk is one chunk of a chunked response: its size line, its data,
// and the CRLF after the data.
type wireChunk struct {
	SizeLine string `json:"size_line"` // "1f\r\n"
	Data     string `json:"data"`
	Bytes    int64  `json:"bytes"` // of the data
	Framing  int    `json:"framing"`
	Ping     bool   `json:"ping"` // a ": ping" comment, the keepalive
	// Decoded is the size a compressed chunk's data decodes to on its
	// own (after the gzip header, in the stream's first), when it does.
	Decoded int64 `json:"decoded,omitempty"`
}

// wireFrame is one WebSocket frame.
type wireFrame struct {
	Fin     bool   `json:"fin"`
	Opcode  int    `json:"opcode"`
	Op      string `json:"op"` // text, binary, close, ping, pong, continuation
	Masked  bool   `json:"masked"`
	Length  int64  `json:"length"`
	Header  string `json:"header"` // the header bytes in hex, mask key included
	Payload string `json:"payload"`
	// Compressed marks a frame with RSV1 set (permessage-deflate): its
	// payload is shown in hex.
	Compressed bool `json:"compressed,omitempty"`
	// Decoded is the size a compressed frame's payload inflates to: a
	// whole message (FIN set) of up to deflatedKept bytes that inflates.
	Decoded int64 `json:"decoded,omitempty"`
}

type wireFrameSets struct {
	Out []wireFrame `json:"out"` // server to client
	In  []wireFrame `json:"in"`  // client to server
}

// wireParts splits every byte of an exchange by what it is for; they add
// up to what /api/stats counted for it.
type wireParts struct {
	RequestHead  int64 `json:"request_head"`  // request line and headers
	ResponseHead int64 `json:"response_head"` // status line and headers (the 101, for a WebSocket)
	Framing      int64 `json:"framing"`       // chunk size lines and CRLFs, SSE field names, frame headers
	Heartbeats   int64 `json:"heartbeats"`    // ": ping" chunks, ping and pong frames, {"type":"ping"} and its pong
	Payload      int64 `json:"payload"`       // the rest: poll answers' JSON, SSE event data, frame payloads
}

// Begin starts a tap on the connection of r, a request of one of the four
// transports, while the recording is on. It costs one atomic load while
// it is off.
func (in *Inspector) Begin(r *http.Request) {
	if in.on.Load() {
		in.begin(r)
	}
}

func (in *Inspector) begin(r *http.Request) {
	cc := ConnOf(r)
	key := map[string]string{"/api/poll": "poll", "/api/longpoll": "longpoll", "/api/sse": "sse", "/api/ws": "ws"}[r.URL.Path]
	if cc == nil || key == "" {
		cc.untap()
		return
	}
	head := requestHead(r)
	x := &Exchange{
		Transport: key, Started: time.Now(), Client: r.URL.Query().Get("client"),
		Request: wireText{Text: head, Bytes: int64(len(head))}, ws: key == "ws",
	}
	if r.TLS != nil { // encrypted on the socket: the tap would read records, not HTTP
		x.Sealed = r.Proto + " over TLS"
		in.file(key, x)
		cc.untap()
		return
	}
	x.Parts.RequestHead = int64(len(head))
	if x.ws {
		x.Frames = &wireFrameSets{}
		x.in.state = readFrames // a client sends frames only after the 101
	}
	in.file(key, x)
	var tap observer = &wireTap{x: x, in: in}
	cc.tap.Store(&tap)
}

// file numbers x and keeps it among the newest of its transport.
func (in *Inspector) file(key string, x *Exchange) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq++
	x.ID = in.seq
	if in.byKey == nil {
		in.byKey = map[string][]*Exchange{}
	}
	list := append(in.byKey[key], x)
	in.byKey[key] = list[max(0, len(list)-exchangesKept):]
}

// requestHead is r's request line and headers as a client sends them, in
// the byte count of headerSize, secrets masked.
func requestHead(r *http.Request) string {
	var b strings.Builder
	b.WriteString(r.Method + " " + mask(r.RequestURI) + " " + r.Proto + "\r\n")
	if r.Host != "" {
		b.WriteString("Host: " + r.Host + "\r\n")
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range r.Header[k] {
			if k == "Authorization" || k == "Cookie" {
				v = strings.Repeat("*", len(v))
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// mask hides the value of a ?token= in a request URI, keeping its length.
func mask(uri string) string {
	i := strings.Index(uri, "token=")
	if i < 0 || (i > 0 && uri[i-1] != '?' && uri[i-1] != '&') {
		return uri
	}
	j := i + len("token=")
	end := strings.IndexByte(uri[j:], '&')
	if end < 0 {
		end = len(uri) - j
	}
	return uri[:j] + strings.Repeat("*", end) + uri[j+end:]
}

// wireTap is the tap on one connection: it hands what crosses the socket
// to the exchange in progress, until the recording ends.
type wireTap struct {
	x  *Exchange
	in *Inspector
}

// untap ends the tap of c, if it has one.
func (c *Conn) untap() {
	if c != nil {
		c.tap.Store(nil)
	}
}

// observe hands b, written to (out) or read from the socket, to the
// exchange; once the recording is off, the tap asks to be taken off.
func (tp *wireTap) observe(b []byte, out bool) (more bool) {
	if !tp.in.on.Load() {
		return false
	}
	x := tp.x
	x.mu.Lock()
	defer x.mu.Unlock()
	if out {
		x.out.feed(x, b, true)
	} else if x.ws && x.out.state == readFrames {
		x.in.feed(x, b, false)
	}
	return true
}

// wireReader follows one direction of an exchange through its bytes.
type wireReader struct {
	state int
	buf   []byte // the head, a chunk size line or a frame header being read
	left  int64  // bytes still to come of the body, chunk or payload
	chunk *wireChunk
	frame *wireFrame
	key   [4]byte    // a client frame's mask
	seen  int64      // payload bytes of the frame so far
	hold  []byte     // the payload kept of the current frame
	ev    eventSplit // where the chunks' data is in its events
	gzip  []byte     // a gzip poll body kept whole, to tell the size it decodes to; nil when too long
	// deflated is the compressed data of the chunk or frame being read,
	// kept to tell the size it decodes to; nil when too long.
	deflated []byte
	chunks   int // chunks read so far: the first begins with the gzip header
}

// eventSplit follows SSE events through the data of the chunks that carry
// them, across chunks (a large event can span several), and counts each
// byte by kind: in a comment event (": ping") a heartbeat; in another
// event, the value of a data: line payload, the rest (field names, ids,
// newlines) framing. /api/stats counts by the same rules (sse.go).
type eventSplit struct {
	state   int
	matched int // bytes of "data: " matched at the start of the line
}

const (
	evStart     = iota // at the start of an event
	evLine             // at the start of a line in an event
	evPrefix           // matching "data: " at a line's start
	evValue            // in a data: line's value
	evOther            // in another line
	evComment          // in a comment event
	evCommentNL        // in a comment event, just after a newline
)

func (e *eventSplit) feed(p *wireParts, b []byte) {
	const data = "data: "
	for _, c := range b {
		switch e.state {
		case evStart, evLine:
			switch {
			case c == '\n': // a blank line ends the event
				p.Framing++
				e.state = evStart
			case e.state == evStart && c == ':':
				p.Heartbeats++
				e.state = evComment
			case c == data[0]:
				p.Framing++
				e.state, e.matched = evPrefix, 1
			default:
				p.Framing++
				e.state = evOther
			}
		case evPrefix:
			p.Framing++
			switch {
			case c == '\n':
				e.state = evLine
			case c != data[e.matched]:
				e.state = evOther
			default:
				if e.matched++; e.matched == len(data) {
					e.state = evValue
				}
			}
		case evValue:
			if c == '\n' {
				p.Framing++
				e.state = evLine
			} else {
				p.Payload++
			}
		case evOther:
			p.Framing++
			if c == '\n' {
				e.state = evLine
			}
		case evComment, evCommentNL:
			p.Heartbeats++
			switch {
			case c == '\n' && e.state == evCommentNL:
				e.state = evStart
			case c == '\n':
				e.state = evCommentNL
			default:
				e.state = evComment
			}
		}
	}
}

const (
	readHead      = iota // the response's status line and headers
	readBody             // a Content-Length body (polls)
	readChunkSize        // a chunk size line
	readChunkData        // a chunk's data
	readChunkEnd         // the CRLF after a chunk's data
	readFrames           // WebSocket frames
	readDone             // the rest: counted as payload, not parsed
)

func (w *wireReader) feed(x *Exchange, b []byte, out bool) {
	for len(b) > 0 {
		switch w.state {
		case readHead:
			b = w.feedHead(x, b)
		case readBody:
			b = w.feedBody(x, b)
		case readChunkSize:
			b = w.feedChunkSize(x, b)
		case readChunkData:
			b = w.feedChunkData(x, b)
		case readChunkEnd:
			n := min(len(b), 2-len(w.buf))
			w.buf = append(w.buf, b[:n]...)
			b = b[n:]
			if len(w.buf) == 2 {
				w.endChunk(x)
			}
		case readFrames:
			b = w.feedFrame(x, b, out)
		case readDone:
			x.Parts.Payload += int64(len(b))
			return
		}
	}
}

// feedHead follows the response head through b, and returns what of b
// follows it.
func (w *wireReader) feedHead(x *Exchange, b []byte) []byte {
	start := max(0, len(w.buf)-3) // the blank line may straddle two writes
	w.buf = append(w.buf, b...)
	i := bytes.Index(w.buf[start:], []byte("\r\n\r\n"))
	if i < 0 {
		x.Parts.ResponseHead += int64(len(b))
		if len(w.buf) > headKept {
			w.state, w.buf = readDone, nil
		}
		return nil
	}
	end := start + i + 4             // the head's length
	n := end - (len(w.buf) - len(b)) // of it in b
	x.Parts.ResponseHead += int64(n)
	w.buf, b = w.buf[:end], b[n:]
	x.Response = wireText{Text: string(w.buf), Bytes: int64(end)}
	w.startBody(x)
	return b
}

// feedBody follows a Content-Length body (a poll's answer) through b.
func (w *wireReader) feedBody(x *Exchange, b []byte) []byte {
	n := min(int64(len(b)), w.left)
	switch {
	case x.Body == nil:
	case x.Encoding != "":
		if w.gzip != nil && len(w.gzip)+int(n) <= bodyKept {
			w.gzip = append(w.gzip, b[:n]...)
		} else {
			w.gzip = nil
		}
		if len(x.Body.Text) < 2*bodyKept {
			x.Body.Text += hex.EncodeToString(b[:min(n, int64(bodyKept-len(x.Body.Text)/2))])
		}
	case len(x.Body.Text) < bodyKept:
		x.Body.Text += keep(b[:n], bodyKept-len(x.Body.Text))
	}
	if x.Body != nil {
		x.Body.Bytes += n
	}
	x.Parts.Payload += n
	w.left -= n
	if w.left == 0 {
		w.state = readDone
		if w.gzip != nil && x.Body != nil {
			x.Body.Decoded = gunzippedSize(w.gzip)
			w.gzip = nil
		}
	}
	return b[n:]
}

// feedChunkSize follows a chunk's size line through b.
func (w *wireReader) feedChunkSize(x *Exchange, b []byte) []byte {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		w.buf = append(w.buf, b...)
		x.Parts.Framing += int64(len(b))
		if len(w.buf) > sizeLineKept { // not a chunk size line: stop parsing
			w.state, w.buf = readDone, nil
		}
		return nil
	}
	w.buf = append(w.buf, b[:i+1]...)
	x.Parts.Framing += int64(i + 1)
	b = b[i+1:]
	line := strings.TrimSpace(string(w.buf))
	size, err := strconv.ParseInt(strings.SplitN(line, ";", 2)[0], 16, 64)
	if err != nil {
		w.state = readDone
		return b
	}
	w.chunk = &wireChunk{SizeLine: string(w.buf), Framing: len(w.buf)}
	w.left, w.buf, w.deflated = size, nil, []byte{}
	w.state = readChunkData
	if size == 0 {
		w.state = readChunkEnd
	}
	return b
}

// feedChunkData follows a chunk's data through b, and the SSE events in it.
func (w *wireReader) feedChunkData(x *Exchange, b []byte) []byte {
	n := min(int64(len(b)), w.left)
	if x.Encoding != "" { // compressed: no events to see, all payload
		if len(w.chunk.Data) < chunkKept {
			w.chunk.Data += hex.EncodeToString(b[:min(n, int64(chunkKept-len(w.chunk.Data))/2)])
		}
		w.chunk.Bytes += n
		w.keepDeflated(b[:n])
		x.Parts.Payload += n
		if w.left -= n; w.left == 0 {
			w.state = readChunkEnd
		}
		return b[n:]
	}
	if w.chunk.Bytes == 0 { // a chunk that begins with a comment event is a keepalive's
		w.chunk.Ping = w.ev.state == evStart && b[0] == ':'
	}
	if len(w.chunk.Data) < chunkKept {
		w.chunk.Data += keep(b[:n], chunkKept-len(w.chunk.Data))
	}
	w.chunk.Bytes += n
	w.ev.feed(&x.Parts, b[:n])
	w.left -= n
	if w.left == 0 {
		w.state = readChunkEnd
	}
	return b[n:]
}

// startBody reads the head just written and decides how to follow the body.
func (w *wireReader) startBody(x *Exchange) {
	head := string(w.buf)
	w.buf = nil
	lower := strings.ToLower(head)
	if strings.Contains(lower, "\r\ncontent-encoding: gzip\r\n") {
		x.Encoding = "gzip"
		w.gzip = []byte{}
	}
	switch {
	case strings.HasPrefix(head, "HTTP/1.1 101"):
		w.state = readFrames
	case strings.Contains(lower, "\r\ntransfer-encoding: chunked\r\n"):
		x.chunked = true
		w.state = readChunkSize
	default:
		w.state = readDone
		if i := strings.Index(lower, "\r\ncontent-length: "); i >= 0 {
			v := lower[i+len("\r\ncontent-length: "):]
			if n, err := strconv.ParseInt(v[:strings.IndexByte(v, '\r')], 10, 64); err == nil && n > 0 {
				w.left = n
				w.state = readBody
				x.Body = &wireText{}
			}
		}
	}
}

// endChunk files a chunk whose CRLF came. Its data was split as it came
// (eventSplit); its framing is a heartbeat's when it began with a comment
// event (": ping"), as /api/stats counts it (transports/direct/sse.go, parts.go).
func (w *wireReader) endChunk(x *Exchange) {
	c := w.chunk
	c.Framing += 2
	if x.Encoding != "" && w.deflated != nil {
		data := w.deflated
		if w.chunks == 0 {
			data = afterGzipHeader(data)
		}
		c.Decoded = inflatedSize(data, finalBlock)
	}
	w.chunks++
	w.buf, w.chunk, w.deflated = nil, nil, nil
	w.state = readChunkSize
	if c.SizeLine == "0\r\n" {
		w.state = readDone
	}
	if c.Ping {
		x.Parts.Heartbeats += int64(c.Framing)
		x.Parts.Framing -= int64(c.Framing - 2) // the size line was counted as framing as it came
	} else {
		x.Parts.Framing += 2
	}
	x.Chunks = append(x.Chunks, *c)
	x.Chunks = x.Chunks[max(0, len(x.Chunks)-sseChunksKept):]
}

// feedFrame follows WebSocket frames through b and returns what is left
// of b after the frame it was in.
func (w *wireReader) feedFrame(x *Exchange, b []byte, out bool) []byte {
	if w.frame == nil { // a header: 2 bytes, then 2 or 8 of length, then 4 of mask
		if len(w.buf) < 2 {
			n := min(len(b), 2-len(w.buf))
			w.buf, b = append(w.buf, b[:n]...), b[n:]
			if len(w.buf) < 2 {
				return b
			}
		}
		need := frameHeaderLen(w.buf[1])
		n := min(len(b), need-len(w.buf))
		w.buf, b = append(w.buf, b[:n]...), b[n:]
		if len(w.buf) < need {
			return b
		}
		h := w.buf
		fh := decodeFrameHeader(h)
		f := &wireFrame{Fin: fh.fin, Opcode: int(fh.opcode), Masked: fh.masked, Length: fh.length, Header: hex.EncodeToString(h),
			Compressed: h[0]&0x40 != 0}
		f.Op = map[int]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}[f.Opcode]
		w.key = fh.key
		x.Parts.Framing += int64(len(h))
		w.frame, w.buf, w.seen, w.hold, w.deflated = f, nil, 0, nil, nil
		if f.Compressed && f.Fin {
			w.deflated = []byte{}
		}
		if f.Length == 0 {
			w.endFrame(x, out)
		}
		return b
	}
	f := w.frame
	n := min(int64(len(b)), f.Length-w.seen)
	for i := range n {
		if len(w.hold) >= framePayloadKept && w.deflated == nil {
			break
		}
		c := b[i]
		if f.Masked {
			c ^= w.key[(w.seen+i)%4]
		}
		if len(w.hold) < framePayloadKept {
			w.hold = append(w.hold, c)
		}
		if w.deflated != nil {
			w.keepDeflated([]byte{c})
		}
	}
	w.seen += n
	b = b[n:]
	if w.seen == f.Length {
		w.endFrame(x, out)
	}
	return b
}

// endFrame files a whole frame: pings, pongs and the page's {"type":"ping"}
// and its answer are heartbeats, with their headers.
func (w *wireReader) endFrame(x *Exchange, out bool) {
	f := w.frame
	w.frame = nil
	f.Payload = keep(w.hold, framePayloadKept)
	if f.Compressed {
		f.Payload = hex.EncodeToString(w.hold)
		if w.deflated != nil {
			f.Decoded = inflatedSize(w.deflated, strippedTail+finalBlock)
			w.deflated = nil
		}
	}
	header := int64(len(f.Header) / 2)
	if !f.Compressed && isHeartbeatFrame(byte(f.Opcode), w.hold) {
		x.Parts.Heartbeats += header + f.Length
		x.Parts.Framing -= header
	} else {
		x.Parts.Payload += f.Length
	}
	set := &x.Frames.In
	if out {
		set = &x.Frames.Out
	}
	*set = append(*set, *f)
	*set = (*set)[max(0, len(*set)-wsFramesKept):]
}

// keepDeflated keeps b, compressed data of the chunk or frame being read,
// up to deflatedKept bytes in all; past that it keeps none.
func (w *wireReader) keepDeflated(b []byte) {
	if w.deflated != nil && len(w.deflated)+len(b) <= deflatedKept {
		w.deflated = append(w.deflated, b...)
	} else {
		w.deflated = nil
	}
}

const (
	// strippedTail is the end of the empty block that permessage-deflate
	// takes off each message (RFC 7692 section 7.2.1), given back.
	strippedTail = "\x00\x00\xff\xff"
	// finalBlock is an empty stored block marked last, which ends the
	// data that precedes it.
	finalBlock = "\x01\x00\x00\xff\xff"
)

// inflatedSize is the size raw deflate data b decodes to with tail after
// it, up to 16 MiB; 0 if it does not decode, or refers back to data before
// it (a context kept from an earlier piece).
func inflatedSize(b []byte, tail string) int64 {
	zr := flate.NewReader(io.MultiReader(bytes.NewReader(b), strings.NewReader(tail)))
	n, err := io.Copy(io.Discard, io.LimitReader(zr, 16<<20))
	if err != nil {
		return 0
	}
	return n
}

// afterGzipHeader is b after the gzip header it begins with (RFC 1952
// section 2.3: 10 bytes, when no flag asks for more); b unchanged when it
// does not begin with one.
func afterGzipHeader(b []byte) []byte {
	if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] != 0 {
		return b
	}
	return b[10:]
}

// gunzippedSize is the size gzip body b decodes to, up to 16 MiB; 0 if
// it does not decode.
func gunzippedSize(b []byte) int64 {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, 16<<20))
	if err != nil {
		return 0
	}
	return n
}

// keep is b as text, at most n bytes of it, cut on a character boundary.
func keep(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return string(b)
}

// Look returns the newest exchanges of each transport, newest last, and
// keeps the recording on for InspectLease from now; it reports whether it
// was on already. A client id other than "" keeps only the WebSocket
// exchanges of that client. The exchanges encode as GET /api/inspect
// shows them.
func (in *Inspector) Look(client string) (wasOn bool, exchanges map[string][]*Exchange) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.off == nil {
		in.off = time.AfterFunc(InspectLease, func() { in.on.Store(false) })
	} else {
		in.off.Reset(InspectLease)
	}
	wasOn = in.on.Swap(true)
	out := map[string][]*Exchange{}
	for _, key := range []string{"poll", "longpoll", "sse", "ws"} {
		for _, x := range in.byKey[key] {
			if key == "ws" && client != "" && x.Client != client {
				continue
			}
			out[key] = append(out[key], x.snapshot())
		}
	}
	return wasOn, out
}

// snapshot copies x under its lock, for encoding.
func (x *Exchange) snapshot() *Exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	c := &Exchange{
		ID: x.ID, Transport: x.Transport, Started: x.Started, Client: x.Client,
		Request: x.Request, Response: x.Response, Chunks: slices.Clone(x.Chunks), Parts: x.Parts, Sealed: x.Sealed, Encoding: x.Encoding,
	}
	if x.Body != nil {
		b := *x.Body
		c.Body = &b
	}
	if x.Frames != nil {
		c.Frames = &wireFrameSets{Out: slices.Clone(x.Frames.Out), In: slices.Clone(x.Frames.In)}
	}
	return c
}
