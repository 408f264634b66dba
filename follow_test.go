package main

import (
	"bufio"
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

// A follower is a test client that reads the feed over one transport the
// way a well-behaved client does: it keeps its cursor and, when its
// connection breaks, resumes from it. It records every message it gets.

type follower struct {
	transport string
	epoch     string // the epoch of the cursor, as the server last named it ("" until it does)
	ids       []uint64
	raw       map[uint64][]byte // id -> the message bytes as received
	resumes   int               // reconnections after a broken connection
	until     uint64            // the last id to read
	err       error
}

// errHaveAll ends a read once the follower has every message it wanted.
var errHaveAll = errors.New("have all messages")

var followTransports = []string{"poll", "longpoll", "sse", "ws"}

// follow reads base's feed over transport from cursor (of epoch, "" for
// none known) until it has the message with id until, or ctx ends. Run it
// in a goroutine.
func follow(ctx context.Context, transport, base, epoch string, cursor, until uint64) *follower {
	f := &follower{transport: transport, epoch: epoch, raw: map[uint64][]byte{}, until: until}
	read := map[string]func(context.Context, string, *uint64) error{
		"poll": f.poll, "longpoll": f.longpoll, "sse": f.sse, "ws": f.ws,
	}[transport]
	for cursor < until {
		err := read(ctx, base, &cursor)
		if ctx.Err() != nil {
			f.err = fmt.Errorf("%s: stopped at cursor %d of %d: %w", transport, cursor, until, ctx.Err())
			return f
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != 1001 && ce.Code != 4001 && ce.Code != 1006 {
			f.err = fmt.Errorf("%s: closed with %d, which forbids reconnecting: %v", transport, ce.Code, err)
			return f
		}
		if err != nil && !errors.Is(err, errHaveAll) && cursor < until {
			f.resumes++
		}
	}
	return f
}

// record notes one message; it stops the read when the follower is done.
func (f *follower) record(raw []byte, cursor *uint64) error {
	var m struct{ ID uint64 }
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("message %s: %w", raw, err)
	}
	f.ids = append(f.ids, m.ID)
	f.raw[m.ID] = append([]byte(nil), raw...)
	*cursor = m.ID
	if m.ID >= f.until {
		return errHaveAll
	}
	return nil
}

type pollAnswer struct {
	Epoch    string            `json:"epoch"`
	Messages []json.RawMessage `json:"messages"`
	Next     uint64            `json:"next"`
	Missed   uint64            `json:"missed"`
	Reset    bool              `json:"reset"`
	More     bool              `json:"more"`
}

// withEpoch adds the epoch to a read's query, as a client that knows it
// sends it back; none is sent before the server named one.
func withEpoch(query, epoch string) string {
	if epoch == "" {
		return query
	}
	return query + "&epoch=" + epoch
}

// serverEpoch asks the server for its epoch: the one of a poll answer.
func serverEpoch(t testing.TB, base string) string {
	t.Helper()
	a, err := getPage(context.Background(), base+"/api/poll")
	if err != nil || a.Epoch == "" {
		t.Fatalf("poll: %+v %v, want an answer with an epoch", a, err)
	}
	return a.Epoch
}

func getPage(ctx context.Context, url string) (pollAnswer, error) {
	var a pollAnswer
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != 200 {
		return a, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return a, json.Unmarshal(body, &a)
}

// pollPages asks for one page and records it, keeping the epoch of the
// answer with its cursor. With pause, a page that says no more messages
// are waiting is followed by the poll interval, as a short-poll client
// waits; "more" makes it ask again at once.
func (f *follower) pollPages(ctx context.Context, url func(cursor uint64, epoch string) string, cursor *uint64, pause time.Duration) error {
	a, err := getPage(ctx, url(*cursor, f.epoch))
	if err != nil {
		return err
	}
	if a.Epoch == "" {
		return fmt.Errorf("%s: answer without an epoch", f.transport)
	}
	f.epoch = a.Epoch
	for _, raw := range a.Messages {
		if err := f.record(raw, cursor); errors.Is(err, errHaveAll) {
			break
		} else if err != nil {
			return err
		}
	}
	*cursor = a.Next
	if !a.More && pause > 0 {
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
	}
	return nil
}

func (f *follower) poll(ctx context.Context, base string, cursor *uint64) error {
	return f.pollPages(ctx, func(c uint64, e string) string {
		return withEpoch(fmt.Sprintf("%s/api/poll?since=%d&limit=1000", base, c), e)
	}, cursor, 20*time.Millisecond)
}

func (f *follower) longpoll(ctx context.Context, base string, cursor *uint64) error {
	return f.pollPages(ctx, func(c uint64, e string) string {
		return withEpoch(fmt.Sprintf("%s/api/longpoll?since=%d&limit=1000&timeout=5", base, c), e)
	}, cursor, 0)
}

// sse reads as a browser's EventSource does: it resumes with the last
// event id it saw, "epoch:cursor", in Last-Event-ID.
func (f *follower) sse(ctx context.Context, base string, cursor *uint64) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/sse", nil)
	lastID := strconv.FormatUint(*cursor, 10)
	if f.epoch != "" {
		lastID = f.epoch + ":" + lastID
	}
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("sse: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	var event, data, id string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if id != "" { // every event names where the stream stands: epoch:cursor
				epoch, n, ok := strings.Cut(id, ":")
				c, err := strconv.ParseUint(n, 10, 64)
				if !ok || epoch == "" || err != nil {
					return fmt.Errorf("sse: event id %q, want epoch:cursor", id)
				}
				f.epoch = epoch
				if event != "" {
					*cursor = c // hello, missed, reset: the cursor the stream continues from
				}
			}
			if event == "" && data != "" {
				if err := f.record([]byte(data), cursor); err != nil {
					return err
				}
			}
			event, data, id = "", "", ""
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case strings.HasPrefix(line, "id: "):
			id = line[len("id: "):]
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF // the stream ended: resume
}

func (f *follower) ws(ctx context.Context, base string, cursor *uint64) error {
	url := withEpoch("ws"+strings.TrimPrefix(base, "http")+"/api/ws?since="+strconv.FormatUint(*cursor, 10), f.epoch)
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(data), `{"type":`) {
			var frame struct{ Type, Epoch string }
			if err := json.Unmarshal(data, &frame); err != nil {
				return fmt.Errorf("ws: frame %s: %w", data, err)
			}
			switch frame.Type {
			case "hello":
				f.epoch = frame.Epoch
			case "reset": // the cursor continues from 0 of the new epoch
				f.epoch, *cursor = frame.Epoch, 0
			}
			continue // missed: the next message says where we are
		}
		if err := f.record(data, cursor); err != nil {
			return err
		}
	}
}

// check reports whether f got exactly the ids from..to, each once, in order.
func (f *follower) check(from, to uint64) error {
	if f.err != nil {
		return f.err
	}
	want := from
	for i, id := range f.ids {
		if id != want {
			return fmt.Errorf("%s: message %d has id %d, want %d (gap or duplicate)", f.transport, i, id, want)
		}
		want++
	}
	if want != to+1 {
		return fmt.Errorf("%s: got ids %d..%d, want %d..%d", f.transport, from, want-1, from, to)
	}
	return nil
}

// postMessage publishes body and returns the status and answer.
func postMessage(t testing.TB, base, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/messages", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type statsAnswer struct {
	Feed struct {
		LastID    uint64 `json:"last_id"`
		OldestID  uint64 `json:"oldest_id"`
		Published uint64 `json:"published"`
	}
	Transports map[string]struct {
		Clients, Requests, Messages, Empty, Dropped int64
		BytesIn                                     int64 `json:"bytes_in"`
		BytesOut                                    int64 `json:"bytes_out"`
	}
}

func getStats(t testing.TB, base string) statsAnswer {
	t.Helper()
	resp, err := http.Get(base + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s statsAnswer
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func httpPost(url string, body io.Reader) (*http.Response, error) {
	return http.Post(url, "text/plain", body)
}

// countingDialer dials connections that count the bytes the client's
// socket reads and writes.
type countingDialer struct {
	read, written atomic.Int64
}

type countedConn struct {
	net.Conn
	d *countingDialer
}

func (c countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.written.Add(int64(n))
	return n, err
}

func (d *countingDialer) dialWS(ctx context.Context, url string) (*websocket.Conn, error) {
	wd := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countedConn{c, d}, nil
	}}
	conn, _, err := wd.DialContext(ctx, url, nil)
	return conn, err
}
