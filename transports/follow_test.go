package transports_test

// A follower is a test client that reads the feed over one transport the
// way a well-behaved client does: it keeps its cursor and, when its
// connection breaks, resumes from it. It records every message it gets.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"fourway/transports/wire"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

type follower struct {
	transport string
	epoch     string // the epoch of the cursor, as the server last named it ("" until it does)
	ids       []uint64
	raw       map[uint64][]byte // id -> the message bytes as received
	at        []time.Time       // when each of ids arrived
	resumes   int               // reconnections after a broken connection
	until     uint64            // the last id to read
	err       error
}

// followClient keeps a connection open for every follower, as a browser
// keeps its own: http.DefaultClient keeps two per host, so dozens of polls
// would each open a connection of their own, and spend the test on it.
var followClient = &http.Client{Transport: func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone() // trusting the pass over TLS's certificate
	t.MaxIdleConnsPerHost = 1000
	return t
}()}

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
	f.at = append(f.at, time.Now())
	f.raw[m.ID] = append([]byte(nil), raw...)
	*cursor = m.ID
	if m.ID >= f.until {
		return errHaveAll
	}
	return nil
}

// largestGap is the longest time between two messages in a row.
func largestGap(at []time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(at); i++ {
		gap = max(gap, at[i].Sub(at[i-1]))
	}
	return gap
}

// pollPages asks for one page and records it, keeping the epoch of the
// answer with its cursor. With pause, a page that says no more messages
// are waiting is followed by the poll interval, as a short-poll client
// waits; "more" makes it ask again at once.
func (f *follower) pollPages(ctx context.Context, url func(cursor uint64, epoch string) string, cursor *uint64, pause time.Duration) error {
	a, err := wire.GetPage(ctx, followClient, url(*cursor, f.epoch))
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
		return base + "/api/poll?limit=1000&" + wire.Query(c, e)
	}, cursor, 20*time.Millisecond)
}

func (f *follower) longpoll(ctx context.Context, base string, cursor *uint64) error {
	return f.pollPages(ctx, func(c uint64, e string) string {
		return base + "/api/longpoll?limit=1000&timeout=5&" + wire.Query(c, e)
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
	resp, err := followClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("sse: status %d", resp.StatusCode)
	}
	r := wire.NewSSEReader(resp.Body)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return io.ErrUnexpectedEOF // the stream ended: resume
		}
		if err != nil {
			return err
		}
		if ev.IsComment() {
			continue
		}
		// Every event names where the stream stands: epoch:cursor.
		epoch, c, err := wire.ParseEventID(ev.ID)
		if err != nil {
			return fmt.Errorf("sse: %w", err)
		}
		f.epoch = epoch
		if ev.Event != "" {
			*cursor = c // hello, missed, reset: the cursor the stream continues from
			continue
		}
		if err := f.record(ev.Data, cursor); err != nil {
			return err
		}
	}
}

func (f *follower) ws(ctx context.Context, base string, cursor *uint64) error {
	url := "ws" + strings.TrimPrefix(base, "http") + "/api/ws?" + wire.Query(*cursor, f.epoch)
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var buf bytes.Buffer
	for {
		data, err := wire.ReadFrame(conn, &buf)
		if err != nil {
			return err
		}
		if wire.IsFrame(data) {
			frame, err := wire.DecodeFrame(data)
			if err != nil {
				return fmt.Errorf("ws: %w", err)
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
