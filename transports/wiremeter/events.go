package wiremeter

import (
	"net/http"
	"strconv"
)

// The events a transport's code reports, one call each: the counting
// conn sees the bytes, but only the code that serves a client knows that
// it joined, that a message went out, or that it was dropped.

// Joined counts a client that connected (a stream) or began to wait (a
// held long poll).
func (t *Counters) Joined() { t.clients.Add(1) }

// Left counts a client that joined and is gone.
func (t *Counters) Left() { t.clients.Add(-1) }

// Delivered counts n messages handed to a client's socket.
func (t *Counters) Delivered(n int) { t.messages.Add(int64(n)) }

// Answered counts a poll's answer of n messages; one of none is empty.
func (t *Counters) Answered(n int) {
	t.messages.Add(int64(n))
	if n == 0 {
		t.empty.Add(1)
	}
}

// Dropped counts a subscriber dropped because its socket stopped taking
// bytes.
func (t *Counters) Dropped() { t.dropped.Add(1) }

// WroteHead counts n bytes of a response head written by a writer of its
// own, which the counting conn was told not to follow (Conn.HeadWritten).
func (t *Counters) WroteHead(n int) { t.headsOut.Add(int64(n)) }

// WroteFraming counts n bytes of framing written outside a Tally (a
// lone frame's header).
func (t *Counters) WroteFraming(n int) { t.framing[Out].Add(int64(n)) }

// FollowFrames has the counting conn of r, if it has one, count the
// client's WebSocket frames for t by kind (parts.go), from the next byte
// it reads: call it once the upgrade is answered.
func FollowFrames(r *http.Request, t *Counters) {
	if c := ConnOf(r); c != nil {
		c.FollowFrames(t)
	}
}

// FollowChunks has the counting conn of r, if it has one, follow the
// HTTP/1.1 chunks of r's response for t (parts.go).
func FollowChunks(r *http.Request, t *Counters) {
	if c := ConnOf(r); c != nil {
		c.FollowChunks(t)
	}
}

// A Tally gathers the framing and heartbeat bytes of what a writer of
// frames or events hands to the socket, to add them to the counters once
// per write (Flush): an atomic add per write at most, not one per frame.
// It follows the wire inspector's rules (inspect.go), so the two agree.
// Only the one who writes uses it.
type Tally struct {
	framing, heartbeats int64
}

// Framing tallies n bytes that wrap a payload.
func (y *Tally) Framing(n int) { y.framing += int64(n) }

// Heartbeat tallies n bytes of a keepalive, whole.
func (y *Tally) Heartbeat(n int) { y.heartbeats += int64(n) }

// Flush adds what was tallied to t's bytes out, and starts over.
func (y *Tally) Flush(t *Counters) {
	if y.framing != 0 {
		t.framing[Out].Add(y.framing)
		y.framing = 0
	}
	if y.heartbeats != 0 {
		t.heartbeats[Out].Add(y.heartbeats)
		y.heartbeats = 0
	}
}

// SSEEvent tallies an SSE event whose fields have these sizes, as it is
// written: "id: ", "data: ", "event: " and "retry: " lines when it has
// data, a ": " comment line, then a blank line. An event of a comment
// alone (": ping") is a heartbeat; otherwise all but its data is framing.
// An event of neither (the end of a stream) is not written at all.
func (y *Tally) SSEEvent(id, event, retry, data, comment int) {
	n := 0
	if data > 0 {
		n += len("id: \n") + id + len("data: \n") + data
		if event > 0 {
			n += len("event: \n") + event
		}
		if retry > 0 {
			n += len("retry: \n") + retry
		}
	}
	if comment > 0 {
		n += len(": \n") + comment
	}
	n += len("\n")
	switch {
	case data == 0 && comment > 0:
		y.heartbeats += int64(n)
	case data > 0 || comment > 0:
		y.framing += int64(n - data)
	}
}

// SSEMessage tallies what wraps a message's JSON in its SSE event:
// "id: epoch:id\ndata: " and "\n\n".
func (y *Tally) SSEMessage(epoch string, id uint64) {
	var digits [20]byte
	y.framing += int64(len("id: ") + len(epoch) + len(":") + len(strconv.AppendUint(digits[:0], id, 10)) + len("\ndata: ") + len("\n\n"))
}
