// Package wire is the client side of fourway's wire contract (transports/CONTRACT.md,
// "The wire contract"), written once for every client in this repository:
// the bench, the transports' tests and the page's tests. It decodes what the
// server sends (messages, poll answers, Server-Sent Events, WebSocket
// frames) and knows nothing of the server's code.
//
// It has no test helpers: a caller decides what an error means. Its
// files, from the top down:
//
//	ws.go    WebSocket frames: hello, acks, errors, the reason of a refusal
//	sse.go   Server-Sent Events: the reader, the hello, reset and missed
//	wire.go  messages, poll answers, cursors and SSE ids, GET /api/config
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Message is one message as every transport carries it:
//
//	{"id":42,"time":1763773323456.789,"data":{"user":"ana","text":"hi"}}
type Message struct {
	ID   uint64          `json:"id"`   // positive, consecutive
	Time float64         `json:"time"` // Unix milliseconds, with a fraction
	Data json.RawMessage `json:"data"` // the published JSON value, compacted
}

// DecodeMessage decodes one message; a message without an id is an error.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("not a message: %.80q: %w", b, err)
	}
	if m.ID == 0 {
		return m, fmt.Errorf("not a message: %.80q has no id", b)
	}
	return m, nil
}

// MessageID reads the id of an encoded message without decoding it: the
// server writes the id first, as {"id":N,...}. It is for clients that read
// many messages and must stay light (the bench).
func MessageID(b []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"id":`))
	if !ok {
		return 0, false
	}
	var n uint64
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + uint64(rest[i]-'0')
	}
	return n, i > 0 && i < len(rest) && (rest[i] == ',' || rest[i] == '}')
}

// Ack is the answer to a publish, 201 {"id":42,"time":...}.
type Ack struct {
	ID   uint64  `json:"id"`
	Time float64 `json:"time"`
}

// Error is the body of every error answer, {"error":"what is wrong"}.
type Error struct {
	Error string `json:"error"`
}

// Page is the answer of a short or a long poll:
//
//	{"epoch":"E","messages":[...],"next":44}
//
// plus "missed":K, "reset":true and "more":true when they apply.
type Page struct {
	Epoch    string            `json:"epoch"`
	Messages []json.RawMessage `json:"messages"`
	Next     uint64            `json:"next"`   // the cursor of the next request
	Missed   uint64            `json:"missed"` // messages gone before the first one here
	Reset    bool              `json:"reset"`  // the cursor was of another epoch, or ahead
	More     bool              `json:"more"`   // more are waiting: ask again at once
}

// GetPage sends GET target (a poll or a long poll) with c and decodes the
// answer. An answer other than 200 is an error that says its status and
// body.
func GetPage(ctx context.Context, c *http.Client, target string) (Page, error) {
	var p Page
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return p, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return p, err
	}
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("GET %s: %s: %s", target, resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("GET %s: the answer is not a page: %w", target, err)
	}
	return p, nil
}

// Query is a read's position: since=N, and &epoch=E once the server has
// named the epoch of N ("" sends none, and the cursor is taken unchecked).
func Query(cursor uint64, epoch string) string {
	q := "since=" + strconv.FormatUint(cursor, 10)
	if epoch != "" {
		q += "&epoch=" + url.QueryEscape(epoch)
	}
	return q
}

// ParseEventID splits an SSE event id, "epoch:cursor", as the server writes
// every one.
func ParseEventID(id string) (epoch string, cursor uint64, err error) {
	epoch, n, ok := strings.Cut(id, ":")
	if !ok || epoch == "" || n == "" {
		return "", 0, fmt.Errorf("event id %q, want epoch:cursor", id)
	}
	for _, d := range []byte(n) {
		if d < '0' || d > '9' {
			return "", 0, fmt.Errorf("event id %q, want epoch:cursor", id)
		}
		if cursor > (1<<64-1-uint64(d-'0'))/10 {
			return "", 0, fmt.Errorf("event id %q: the cursor is out of range", id)
		}
		cursor = cursor*10 + uint64(d-'0')
	}
	return epoch, cursor, nil
}

// Config is the answer of GET /api/config: the settings a client must
// know and may not guess.
type Config struct {
	Poll struct {
		LimitDefault int `json:"limit_default"`
		LimitMax     int `json:"limit_max"`
	} `json:"poll"`
	LongPoll struct {
		TimeoutMS    int64  `json:"timeout_ms"`
		TimeoutMaxMS int64  `json:"timeout_max_ms"`
		Writer       string `json:"writer"` // "nethttp" or "direct"
	} `json:"longpoll"`
	SSE struct {
		RetryMS     int64  `json:"retry_ms"`
		KeepaliveMS int64  `json:"keepalive_ms"`
		Writer      string `json:"writer"` // "r3labs" or "direct"
	} `json:"sse"`
	WS struct {
		HeartbeatMS int64       `json:"heartbeat_ms"`
		CloseCodes  []CloseCode `json:"close_codes"`
	} `json:"ws"`
	MaxMessage        int  `json:"max_message"`
	PublishNeedsToken bool `json:"publish_needs_token"`
}

// CloseCode is one row of the WebSocket close-code table.
type CloseCode struct {
	Code      int    `json:"code"`
	Meaning   string `json:"meaning"`
	Reconnect string `json:"reconnect"` // "now", "backoff" or "never"
}
