package direct

// SSE without the library (--sse-writer direct): the same events as
// transports' sse.go sends, framed here and written straight onto the
// socket by a pusher (fanout/push.go), the machinery the WebSocket's
// frames go out through.
// It exists to be measured: beside the library's row, the bench's "SSE
// direct" row is what the protocol itself costs, so a chooser sees the
// cost of the protocol and the cost of the library apart.
//
// The connection is taken from net/http (hijacked) once the request is
// validated, so the response is ours to write, byte for byte what the
// library writes: the status line and headers, then HTTP/1.1 chunks of
// events. One difference, on purpose: where the library flushes one chunk
// per event, a stream that is behind gets all its events in one chunk and
// one write. Hijacking needs HTTP/1, and chunks need HTTP/1.1 (RFC 9112,
// section 6.1: an HTTP/1.0 client cannot read them); on any other
// protocol the library serves the stream.

import (
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"

	"fourway/feed"
	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

// SSEEvents are a stream's events, in order: package transports decides
// which (its sse.go), a writer writes them.
type SSEEvents interface {
	// SendEvents hands the writer, through its Room, Send, Message and
	// End, the events there are to send now, and reports whether the
	// stream ended.
	SendEvents() (ended bool)
	// Tally gathers the framing and heartbeats of the events handed over;
	// the writer adds its chunks' and counts them once per write.
	Tally() *wiremeter.Tally
}

// sseBatch is how many events a chunk may take at a time, while it is
// under a write's worth (fanout.BatchBytes).
const sseBatch = 64

const chunkHead = 10 // room for a chunk's size line: up to 8 hex digits and CRLF

// An SSE is one stream written without the library.
type SSE struct {
	fanout.Pusher // how its bytes go out
	h             *Host
	events        SSEEvents
	tally         *wiremeter.Tally // events.Tally()
	ended         bool             // the end of the stream was handed over

	conn      net.Conn
	head      []byte      // the response's status line and headers, until written
	b         []byte      // the chunk next is gathering, while it does
	began     bool        // and whether it holds an event yet,
	pingFirst bool        // and whether the first is a ": ping" comment
	closed    atomic.Bool // the socket is closed
	dropped   atomic.Bool // dropped as too slow, once
}

// TakeSSE takes the connection of r from net/http, for a stream of
// events. It returns nil, having done nothing, when the connection cannot
// be taken (HTTP/2) or the request is not HTTP/1.1 (an HTTP/1.0 client
// gets the library's stream, whose body the connection's close ends): the
// library serves it then. Once the stream is the events' writer (their
// Room, Send, Message and End are its), Start starts it.
func (h *Host) TakeSSE(w http.ResponseWriter, r *http.Request, events SSEEvents) *SSE {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return nil
	}
	head := sseResponseHead(w.Header())
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	_ = conn.SetDeadline(time.Time{}) // the guard's write deadline was for a response; this is a stream
	// The head goes out with the stream's first write: counted here.
	if cc := wiremeter.ConnOf(r); cc != nil {
		cc.HeadWritten()
		h.Stats.SSE.WroteHead(len(head))
	}
	d := &SSE{h: h, events: events, tally: events.Tally(), conn: conn, head: head}
	d.Pusher.Init(d, fanout.NewSocket(conn, &h.Stats.SSE), h.WriteTimeout)
	return d
}

// Start streams, in a goroutine of its own that calls done once the
// connection is closed, and sends the headers, the hello, and what the
// cursor has to catch up on.
func (d *SSE) Start(done func()) {
	h := d.h
	h.Streams.Add(1) // http.Server.Shutdown does not wait for a hijacked connection
	shard := h.Dispatcher.Add(d)
	d.Wake()
	go func() {
		defer h.Streams.Done()
		defer done()
		d.readUntilClosed()
		shard.Remove(d)
	}()
}

// sseResponseHead is the response the library writes, status line and
// headers (those of the middleware too), for a chunked stream.
func sseResponseHead(h http.Header) []byte {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	b := []byte("HTTP/1.1 200 OK\r\n")
	for _, k := range slices.Sorted(maps.Keys(h)) { // in order, as net/http writes them
		for _, v := range h[k] {
			b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
		}
	}
	b = append(append(append(b, "Date: "...), time.Now().UTC().Format(http.TimeFormat)...), "\r\n"...)
	return append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
}

// readUntilClosed reads, and throws away, what the client sends after its
// request (a browser sends nothing) until the connection is closed: by the
// client, which is how its leaving is seen, or by the server.
func (d *SSE) readUntilClosed() {
	var b [64]byte
	for {
		if _, err := d.conn.Read(b[:]); err != nil {
			d.hangUp()
			return
		}
	}
}

// Next gathers one chunk of the events there are to send now (SSEEvents
// decides which), after the response head the first time, and the end of
// the chunked body once the stream ended.
func (d *SSE) Next(b []byte) (_, shared []byte, last bool) {
	d.b = append(b, make([]byte, chunkHead)...)
	d.began, d.pingFirst = false, false
	d.ended = d.events.SendEvents()
	b, d.b = d.b, nil
	framing := 0 // the chunk's: its size line, its CRLF, the last chunk
	if size := len(b) - chunkHead; size == 0 {
		b = b[:0]
	} else {
		line := strconv.AppendInt(make([]byte, 0, chunkHead), int64(size), 16)
		line = append(line, "\r\n"...)
		start := chunkHead - len(line)
		copy(b[start:], line)
		b = append(b[start:], "\r\n"...)
		framing = len(line) + len("\r\n")
	}
	if d.pingFirst { // a chunk that begins with a keepalive is the keepalive's (as the inspector counts it)
		d.tally.Heartbeat(framing)
	} else {
		d.tally.Framing(framing)
	}
	if d.ended {
		b = append(b, "0\r\n\r\n"...)
		d.tally.Framing(len("0\r\n\r\n"))
	}
	d.tally.Flush(&d.h.Stats.SSE)
	if d.head != nil {
		b = append(d.head, b...)
		d.head = nil
	}
	return b, nil, d.ended
}

// Room, Send, Message and End take the events of SendEvents: as many as
// fit in one write.
func (d *SSE) Room() int64 {
	if len(d.b) >= fanout.BatchBytes {
		return 0
	}
	return sseBatch
}

func (d *SSE) Send(ev *sse.Event) {
	if !d.began {
		d.began, d.pingFirst = true, len(ev.Data) == 0 && len(ev.Comment) > 0
	}
	d.b = appendEvent(d.b, ev)
}

func (d *SSE) Message(epoch string, m feed.Message) {
	d.began = true
	b := append(d.b, "id: "...)
	b = append(append(b, epoch...), ':')
	b = strconv.AppendUint(b, m.ID, 10)
	b = append(append(append(b, "\ndata: "...), m.JSON...), "\n\n"...)
	d.b = b
}

func (d *SSE) End() {} // Next ends the body once the stream ended

// appendEvent appends ev as the library writes it: id, data, event and
// retry lines, or a comment, then a blank line.
func appendEvent(b []byte, ev *sse.Event) []byte {
	if len(ev.Data) > 0 {
		b = append(append(append(b, "id: "...), ev.ID...), '\n')
		b = append(append(append(b, "data: "...), ev.Data...), '\n')
		if len(ev.Event) > 0 {
			b = append(append(append(b, "event: "...), ev.Event...), '\n')
		}
		if len(ev.Retry) > 0 {
			b = append(append(append(b, "retry: "...), ev.Retry...), '\n')
		}
	}
	if len(ev.Comment) > 0 {
		b = append(append(append(b, ": "...), ev.Comment...), '\n')
	}
	return append(b, '\n')
}

// Sent is told the end of the body is out: the stream is over.
func (d *SSE) Sent() { d.hangUp() }

// Failed hangs up after a failed write. One that missed its deadline is a
// client that stopped reading: it counts as dropped.
func (d *SSE) Failed(err error) {
	if fanout.IsTimeout(err) && !d.ended && !d.dropped.Swap(true) {
		d.h.Stats.SSE.Dropped()
	}
	d.hangUp()
}

func (d *SSE) HungUp() bool { return d.closed.Load() }

// hangUp closes the socket, which ends readUntilClosed.
func (d *SSE) hangUp() {
	d.closed.Store(true)
	_ = d.conn.Close()
}

// DropSlow makes the stream, with Wake and BlockedFor of its pusher, a
// subscriber of the dispatchers (fanout/dispatch.go): a client whose socket has
// taken no bytes for the send timeout is hung up, and the browser resumes
// with Last-Event-ID.
func (d *SSE) DropSlow() {
	if !d.dropped.Swap(true) {
		d.h.Stats.SSE.Dropped()
	}
	d.hangUp()
}
