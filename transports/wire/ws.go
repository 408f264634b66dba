package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
)

// A WebSocket carries one text frame per message, the message's bytes, and
// frames of the contract that say something else, each a JSON object with
// a "type": hello, reset, missed, published, error and pong.

// IsFrame reports whether b is a frame of the contract rather than a
// message: it starts {"type":, where a message starts {"id":.
func IsFrame(b []byte) bool { return bytes.HasPrefix(b, []byte(`{"type":`)) }

// Frame is a frame of the contract other than a message; each type has
// the fields it needs:
//
//	{"type":"hello","next":41,"epoch":"E","heartbeat_ms":25000}
//	{"type":"reset","epoch":"NEW"}
//	{"type":"missed","missed":7}
//	{"type":"published","id":43,"ref":"r1"}
//	{"type":"error","error":"...","ref":"r1","retry_after_ms":800}
//	{"type":"pong"}
type Frame struct {
	Type         string          `json:"type"`
	Next         uint64          `json:"next"`
	Epoch        string          `json:"epoch"`
	HeartbeatMS  int64           `json:"heartbeat_ms"`
	Node         string          `json:"node"` // the hello's: the node serving the connection, when several serve the feed
	Missed       uint64          `json:"missed"`
	ID           uint64          `json:"id"`
	Ref          json.RawMessage `json:"ref"`
	Error        string          `json:"error"`
	RetryAfterMS int64           `json:"retry_after_ms"`
}

// DecodeFrame decodes a frame of the contract.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil || f.Type == "" {
		return f, fmt.Errorf("frame %.80q is not a frame of the contract (%v)", b, err)
	}
	return f, nil
}

// DecodeHello decodes b, which must be the hello, the first frame of every
// connection, with a next and an epoch.
func DecodeHello(b []byte) (Frame, error) {
	var f struct {
		Frame
		Next *uint64 `json:"next"`
	}
	if err := json.Unmarshal(b, &f); err != nil || f.Type != "hello" || f.Next == nil || f.Epoch == "" {
		return Frame{}, fmt.Errorf("frame %.80q, want a hello with next and epoch (%v)", b, err)
	}
	f.Frame.Next = *f.Next
	return f.Frame, nil
}

// ReadFrame reads the next data frame into buf and returns its bytes,
// valid until the next call: one buffer for every frame keeps a reader of
// many connections light.
func ReadFrame(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RetryIn reads the wait that a refusal at the server's connection limit
// (--max-clients) asks for, from the words that end its reason: a close
// 1013's reason, or a 503's error, "...; retry in 7 s", whole seconds (a
// 503 says the same in Retry-After). ok is false when reason names no wait.
func RetryIn(reason string) (seconds int, ok bool) {
	_, after, found := strings.Cut(reason, "; retry in ")
	digits, whole := strings.CutSuffix(after, " s")
	if !found || !whole || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}
