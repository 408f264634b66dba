package main

// Test clients for the streaming transports: an SSE reader that parses the
// raw stream into events while keeping their exact bytes, and a WebSocket
// client that reads frames with deadlines. Every wait is bounded, so a
// broken server fails a test instead of hanging it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// streamWait bounds every single wait of these tests: long enough for a busy
// 2-core machine running -race, short enough that a failure never hangs.
const streamWait = 10 * time.Second

// ---- SSE ----

// sseEvent is one block of a text/event-stream: the lines up to a blank line.
type sseEvent struct {
	ID      string // value of the id: line
	HasID   bool   // an id: line was present (possibly empty)
	Event   string // value of the event: line ("" for an unnamed event)
	Data    string // value of the data: lines, joined with \n
	Retry   string // value of the retry: line
	Comment string // text of a ": comment" line, without ": "
	Raw     []byte // the exact bytes, blank line included
}

// isComment reports whether the block is a comment only (no field at all).
func (e sseEvent) isComment() bool {
	return !e.HasID && e.Event == "" && e.Data == "" && e.Retry == "" && e.Comment != ""
}

// sseStream is an open SSE response read by a goroutine into events.
type sseStream struct {
	Resp   *http.Response
	events chan sseEvent
	done   chan struct{} // closed when the reader goroutine ends
	err    error         // why the stream ended, valid after done
	cancel context.CancelFunc
}

// sseGet sends GET path (with optional header name/value pairs) and
// returns the response, the stream's body not yet read. The request ends
// when the test ends.
func sseGet(t testing.TB, client *http.Client, url string, header ...string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := client.Do(req)
		got <- answer{resp, err}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			cancel()
			t.Fatalf("GET %s: %v", url, a.err)
		}
		t.Cleanup(func() { cancel(); a.resp.Body.Close() })
		return a.resp, cancel
	case <-time.After(streamWait):
		cancel()
		t.Fatalf("GET %s: no response headers in %v", url, streamWait)
	}
	return nil, nil
}

// sseOpen opens an SSE stream at url and checks that it is one.
func sseOpen(t testing.TB, client *http.Client, url string, header ...string) *sseStream {
	t.Helper()
	resp, cancel := sseGet(t, client, url, header...)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s: status %d %s, want a 200 event stream", url, resp.StatusCode, b)
	}
	s := &sseStream{Resp: resp, events: make(chan sseEvent, 64), done: make(chan struct{}), cancel: cancel}
	go s.read()
	return s
}

// read parses the body into events until it ends.
func (s *sseStream) read() {
	defer close(s.done)
	r := bufio.NewReaderSize(s.Resp.Body, 64<<10)
	var ev sseEvent
	var raw bytes.Buffer
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && raw.Len() == 0 && line == "" {
				err = io.EOF
			} else if err == io.EOF {
				err = fmt.Errorf("stream ended inside an event: %q: %w", raw.String()+line, io.ErrUnexpectedEOF)
			}
			s.err = err
			return
		}
		raw.WriteString(line)
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			ev.Data = strings.Join(data, "\n")
			ev.Raw = bytes.Clone(raw.Bytes())
			select {
			case s.events <- ev:
			case <-s.Resp.Request.Context().Done():
				s.err = context.Canceled
				return
			}
			ev, data = sseEvent{}, nil
			raw.Reset()
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			ev.Comment = value
		case "id":
			ev.ID, ev.HasID = value, true
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.Retry = value
		}
	}
}

// Next returns the next event, comments included, or fails the test if
// none arrives within streamWait.
func (s *sseStream) Next(t testing.TB) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.done:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		t.Fatalf("SSE stream ended while an event was expected: %v", s.err)
	case <-time.After(streamWait):
		t.Fatalf("no SSE event within %v", streamWait)
	}
	return sseEvent{}
}

// NextEvent is Next skipping comments (the keepalive pings).
func (s *sseStream) NextEvent(t testing.TB) sseEvent {
	t.Helper()
	for {
		if ev := s.Next(t); !ev.isComment() {
			return ev
		}
	}
}

// NextMessage returns the next message event (unnamed), failing on any
// other named event; comments are skipped.
func (s *sseStream) NextMessage(t testing.TB) (sseEvent, wireMessage) {
	t.Helper()
	ev := s.NextEvent(t)
	if ev.Event != "" {
		t.Fatalf("got event %q (%q), want a message", ev.Event, ev.Raw)
	}
	return ev, decodeMessage(t, []byte(ev.Data))
}

// Ended waits for the stream to end and returns why (io.EOF for a clean
// end), failing the test if it is still open after streamWait. Events not read
// yet are returned too.
func (s *sseStream) Ended(t testing.TB) ([]sseEvent, error) {
	t.Helper()
	var rest []sseEvent
	deadline := time.After(streamWait)
	for {
		select {
		case ev := <-s.events:
			rest = append(rest, ev)
		case <-s.done:
			for {
				select {
				case ev := <-s.events:
					rest = append(rest, ev)
				default:
					return rest, s.err
				}
			}
		case <-deadline:
			t.Fatalf("SSE stream still open after %v", streamWait)
		}
	}
}

// Close hangs up, as a browser tab that is closed does.
func (s *sseStream) Close() {
	s.cancel()
	s.Resp.Body.Close()
	<-s.done
}

// ---- messages and the HTTP endpoints ----

// wireMessage is a decoded message; its bytes are kept apart where they matter.
type wireMessage struct {
	ID   uint64          `json:"id"`
	Time float64         `json:"time"`
	Data json.RawMessage `json:"data"`
}

func decodeMessage(t testing.TB, b []byte) wireMessage {
	t.Helper()
	var m wireMessage
	if err := json.Unmarshal(b, &m); err != nil || m.ID == 0 {
		t.Fatalf("not a message: %q (%v)", b, err)
	}
	return m
}

// publishData publishes one JSON value with POST /api/messages and returns
// its id.
func publishData(t testing.TB, base, data string) uint64 {
	t.Helper()
	resp, err := http.Post(base+"/api/messages", "application/json", strings.NewReader(data))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ack struct{ ID uint64 }
	if resp.StatusCode != 201 || json.Unmarshal(b, &ack) != nil || ack.ID == 0 {
		t.Fatalf("publish %.40q: %d %s, want 201 with an id", data, resp.StatusCode, b)
	}
	return ack.ID
}

// publishN publishes n small messages {"n":i} and returns the last id.
func publishN(t testing.TB, base string, n int) uint64 {
	t.Helper()
	var id uint64
	for i := range n {
		id = publishData(t, base, `{"n":`+strconv.Itoa(i)+`}`)
	}
	return id
}

// pollRaw returns the raw bytes of every retained message by id, read with
// GET /api/poll?since=0 page by page.
func pollRaw(t testing.TB, base string) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	cursor := uint64(0)
	for {
		resp, err := http.Get(base + "/api/poll?limit=1000&since=" + strconv.FormatUint(cursor, 10))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Messages []json.RawMessage
			Next     uint64
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("poll: %d %v", resp.StatusCode, err)
		}
		for _, raw := range page.Messages {
			out[decodeMessage(t, raw).ID] = raw
		}
		if len(page.Messages) == 0 {
			return out
		}
		cursor = page.Next
	}
}

// transportFigures is one transport's part of GET /api/stats.
type transportFigures struct {
	Clients, Requests, Messages, Empty, Dropped int64
	BytesIn                                     int64 `json:"bytes_in"`
	BytesOut                                    int64 `json:"bytes_out"`
}

func fetchStats(t testing.TB, base, transport string) transportFigures {
	t.Helper()
	return getStats(t, base).Transports[transport]
}

// dropConns calls POST /api/drop?transport=... and returns how many were cut.
func dropConns(t testing.TB, base, transport string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/drop?transport="+transport, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Dropped int }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 {
		t.Fatalf("drop %s: %d %v", transport, resp.StatusCode, err)
	}
	return a.Dropped
}

// dialSmallReadBuffer dials TCP with a receive buffer of 4 KiB, so that a
// client that stops reading has its socket full after a few kilobytes.
func dialSmallReadBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// readsInOrder reads messages with next in a goroutine, each of which must
// have the id after the one before, from 1. It returns the last id read so
// far, and a channel that gets the error that stopped the reading.
func readsInOrder(next func() ([]byte, error)) (*atomic.Uint64, <-chan error) {
	var last atomic.Uint64
	failed := make(chan error, 1)
	go func() {
		for {
			b, err := next()
			if err != nil {
				failed <- err
				return
			}
			var m struct{ ID uint64 }
			if json.Unmarshal(b, &m) != nil || m.ID != last.Load()+1 {
				failed <- fmt.Errorf("got %.60q after message %d, want message %d", b, last.Load(), last.Load()+1)
				return
			}
			last.Store(m.ID)
		}
	}()
	return &last, failed
}

// stuckReaderIsDropped publishes messages of 30 KB, one after another,
// until the server counts the one subscriber of transport that stopped
// reading as dropped and gone, the healthy one still there. That must come
// within a few --send-timeouts of the first publish, because its socket
// took no bytes: a write that missed the deadline of --write-timeout (10 s)
// would come later. The healthy one, read by readsInOrder, must then get
// every message published, on the same connection. It returns the number
// of messages published.
func stuckReaderIsDropped(t testing.TB, ts *testServer, transport string, healthy *atomic.Uint64, failed <-chan error) uint64 {
	t.Helper()
	big := `"` + strings.Repeat("x", 30<<10) + `"`
	start := time.Now()
	var last uint64
	for {
		last = publishData(t, ts.URL, big)
		st := fetchStats(t, ts.URL, transport)
		if st.Dropped == 1 && st.Clients == 1 {
			break
		}
		if st.Dropped > 1 || time.Since(start) > 8*time.Second {
			t.Fatalf("%v after the first of %d publishes: %s clients %d, dropped %d; want the stuck reader dropped, the healthy one kept",
				time.Since(start).Round(time.Millisecond), last, transport, st.Clients, st.Dropped)
		}
	}
	awaitCond(t, "the healthy reader to get every message", func() bool {
		select {
		case err := <-failed:
			t.Fatalf("healthy reader, after message %d of %d: %v", healthy.Load(), last, err)
		default:
		}
		return healthy.Load() == last
	})
	if st := fetchStats(t, ts.URL, transport); st.Dropped != 1 || st.Clients != 1 {
		t.Fatalf("%s clients %d, dropped %d; want the healthy reader still there, and only the stuck one dropped", transport, st.Clients, st.Dropped)
	}
	return last
}

// awaitCond polls cond until it holds, failing the test after streamWait.
func awaitCond(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, streamWait, cond)
}

// jsonError checks that resp is status with a JSON {"error": "..."} body.
func jsonError(t testing.TB, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d %q, want %d", resp.StatusCode, body, status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("body %q, want {\"error\":\"...\"}", body)
	}
}

// ---- WebSocket ----

// wsClient is one WebSocket connection read with deadlines.
type wsClient struct {
	*websocket.Conn
}

var wsDialer = websocket.Dialer{HandshakeTimeout: streamWait}

// wsTryDial opens ts's WebSocket with query (such as "since=3") and
// optional header name/value pairs. On a refused handshake it returns the
// response, whose body gorilla keeps.
func wsTryDial(t testing.TB, ts *testServer, query string, header ...string) (*wsClient, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	url := ts.WS() + "/api/ws"
	if query != "" {
		url += "?" + query
	}
	conn, resp, err := wsDialer.Dial(url, h)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{conn}, resp, nil
}

// wsDial opens ts's WebSocket and fails the test if the upgrade fails.
func wsDial(t testing.TB, ts *testServer, query string, header ...string) *wsClient {
	t.Helper()
	c, resp, err := wsTryDial(t, ts, query, header...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial ws ?%s: %v (status %d)", query, err, status)
	}
	return c
}

// wsDialHello opens a connection and reads its hello.
func wsDialHello(t testing.TB, ts *testServer, query string, header ...string) (*wsClient, wsHello) {
	t.Helper()
	c := wsDial(t, ts, query, header...)
	return c, c.Hello(t)
}

type wsHello struct {
	Type        string
	Next        uint64
	Epoch       string
	HeartbeatMS int64 `json:"heartbeat_ms"`
}

// Read returns the next data frame, failing the test if none comes in time.
func (c *wsClient) Read(t testing.TB) (int, []byte) {
	t.Helper()
	kind, b, err := c.TryRead()
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	return kind, b
}

// TryRead returns the next data frame or the error that ended the connection.
func (c *wsClient) TryRead() (int, []byte, error) {
	c.SetReadDeadline(time.Now().Add(streamWait))
	return c.ReadMessage()
}

// ReadText returns the next frame, which must be a text frame.
func (c *wsClient) ReadText(t testing.TB) []byte {
	t.Helper()
	kind, b := c.Read(t)
	if kind != websocket.TextMessage {
		t.Fatalf("frame of type %d %q, want a text frame", kind, b)
	}
	return b
}

// Hello reads the first frame, which must be the hello, with an epoch.
func (c *wsClient) Hello(t testing.TB) wsHello {
	t.Helper()
	b := c.ReadText(t)
	var h wsHello
	if err := json.Unmarshal(b, &h); err != nil || h.Type != "hello" || h.Epoch == "" {
		t.Fatalf("first frame %q, want a hello with an epoch", b)
	}
	return h
}

// Message reads the next frame, which must be a message (no "type").
func (c *wsClient) Message(t testing.TB) ([]byte, wireMessage) {
	t.Helper()
	b := c.ReadText(t)
	if bytes.HasPrefix(b, []byte(`{"type":`)) {
		t.Fatalf("frame %q, want a message", b)
	}
	return b, decodeMessage(t, b)
}

// Send writes one text frame.
func (c *wsClient) Send(t testing.TB, frame string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(streamWait))
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("ws write %.60q: %v", frame, err)
	}
}

// ClosedWith reads until the connection ends and checks the close code,
// returning the text frames that came before it.
func (c *wsClient) ClosedWith(t testing.TB, code int) [][]byte {
	t.Helper()
	var before [][]byte
	for {
		_, b, err := c.TryRead()
		if err == nil {
			before = append(before, b)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
		}
		return before
	}
}
