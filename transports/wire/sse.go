package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Event is one block of a text/event-stream, the lines up to a blank line:
//
//	id: k3x9AbCd:42
//	data: {"id":42,"time":1763773323456.789,"data":"hi"}
//
// A message is an unnamed event; hello, missed and reset are named; a
// keepalive is a comment block, ": ping".
type Event struct {
	ID      string // the id: line's value
	HasID   bool   // an id: line was there, even an empty one
	Event   string // the event: line's value, "" for a message
	Data    []byte // the data: lines joined with \n; nil when there was none
	Retry   string // the retry: line's value
	Comment string // the text of a ": comment" line, without ": "
	Raw     []byte // the block's exact bytes, its blank line included
}

// IsComment reports whether the block is a comment and nothing else (the
// keepalive).
func (e Event) IsComment() bool {
	return !e.HasID && e.Event == "" && e.Data == nil && e.Retry == "" && e.Comment != ""
}

// Clone returns e with its own copies of Data and Raw, which SSEReader
// reuses.
func (e Event) Clone() Event {
	if e.Data != nil {
		e.Data = bytes.Clone(e.Data)
	}
	e.Raw = bytes.Clone(e.Raw)
	return e
}

// SSEReader parses a text/event-stream into events.
type SSEReader struct {
	br   *bufio.Reader
	line []byte // a line longer than br's buffer, put together
	raw  []byte // the current block's bytes
	data []byte // the current block's data
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next block, comments included. Its Data and Raw are
// valid until the next call (Clone keeps them). When the stream ends
// between two blocks Next returns io.EOF; inside a block, an error that
// wraps io.ErrUnexpectedEOF.
func (r *SSEReader) Next() (Event, error) {
	var ev Event
	r.raw, r.data = r.raw[:0], r.data[:0]
	hasData := false
	for {
		line, err := r.readLine()
		r.raw = append(r.raw, line...)
		if err != nil {
			if err == io.EOF && len(r.raw) == 0 {
				return ev, io.EOF
			}
			if err == io.EOF {
				err = fmt.Errorf("the stream ended inside an event: %q: %w", r.raw, io.ErrUnexpectedEOF)
			}
			return ev, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if hasData {
				ev.Data = r.data
			}
			ev.Raw = r.raw
			return ev, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "":
			ev.Comment = string(value)
		case "id":
			ev.ID, ev.HasID = string(value), true
		case "event":
			ev.Event = string(value)
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data, hasData = append(r.data, value...), true
		case "retry":
			ev.Retry = string(value)
		}
	}
}

// readLine returns the next line with its \n, however long it is.
func (r *SSEReader) readLine() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return b, err
	}
	r.line = append(r.line[:0], b...)
	for err == bufio.ErrBufferFull {
		b, err = r.br.ReadSlice('\n')
		r.line = append(r.line, b...)
	}
	return r.line, err
}

// SSEHello is the data of the hello event, the first of every stream:
//
//	{"next":41,"epoch":"k3x9AbCd","retry_ms":2000,"keepalive_ms":15000,"proto":"HTTP/1.1"}
//
// Its id is "epoch:next".
type SSEHello struct {
	Next        uint64 `json:"next"`  // the position the stream starts from
	Epoch       string `json:"epoch"` // the epoch of next
	RetryMS     int64  `json:"retry_ms"`
	KeepaliveMS int64  `json:"keepalive_ms"`
	Proto       string `json:"proto"` // the protocol the stream's request came over: "HTTP/1.1", "HTTP/2.0"
	Node        string `json:"node"`  // the node serving the stream, when several serve the feed
}

// DecodeSSEHello decodes ev, which must be the hello: named hello, with a
// next, an epoch, and the id that says both.
func DecodeSSEHello(ev Event) (SSEHello, error) {
	var h struct {
		SSEHello
		Next *uint64 `json:"next"`
	}
	if ev.Event != "hello" {
		return SSEHello{}, fmt.Errorf("event %q, want the hello", ev.Raw)
	}
	if err := json.Unmarshal(ev.Data, &h); err != nil || h.Next == nil || h.Epoch == "" {
		return SSEHello{}, fmt.Errorf("hello %q, want next and epoch in its data (%v)", ev.Raw, err)
	}
	h.SSEHello.Next = *h.Next
	if epoch, next, err := ParseEventID(ev.ID); err != nil || epoch != h.Epoch || next != *h.Next {
		return h.SSEHello, fmt.Errorf("hello %q: its id is not epoch:next", ev.Raw)
	}
	return h.SSEHello, nil
}

// Reset is the data of a reset event, {"reset":true,"epoch":"NEW"}: the
// stream goes on from cursor 0 of NEW.
type Reset struct {
	Reset bool   `json:"reset"`
	Epoch string `json:"epoch"`
}

// Missed is the data of a missed event, {"missed":K}: K messages are gone
// before the next one.
type Missed struct {
	Missed uint64 `json:"missed"`
}
