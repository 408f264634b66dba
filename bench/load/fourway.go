package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"fourway/bench/plan"
	"fourway/transports/wire"
)

// fourway speaks fourway's wire contract (see the repository's API
// description): POST /api/messages, and the four subscriber endpoints with
// a decimal cursor and, once the server has named it, the cursor's epoch.
type fourway struct{}

func (fourway) name() string { return "fourway" }

// publish posts data as a message and wants its 201.
func (fourway) publish(ctx context.Context, c *http.Client, base string, data []byte) error {
	status, body, err := postJSON(ctx, c, base+"/api/messages", data)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("publish: %d: %s", status, bytes.TrimSpace(body))
	}
	return nil
}

// primer publishes a message before the subscribers start and returns its
// id: every subscriber starts from it, so none can miss the first message
// of the run however late its first request reaches the server.
func (f fourway) primer(ctx context.Context, c *http.Client, base string) (string, error) {
	status, body, err := postJSON(ctx, c, base+"/api/messages", []byte(`{"primer":true}`))
	if err != nil {
		return "", fmt.Errorf("primer: %w", err)
	}
	var ack wire.Ack
	if err := json.Unmarshal(body, &ack); err != nil || status != http.StatusCreated {
		return "", fmt.Errorf("primer: %d %s %v", status, bytes.TrimSpace(body), err)
	}
	return strconv.FormatUint(ack.ID, 10), nil
}

// config is the server's GET /api/config: the settings the page's
// clients read before they start (the long poll's hold, the heartbeat).
func (fourway) config(ctx context.Context, c *http.Client, base string) (wire.Config, error) {
	var cfg wire.Config
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/config", nil)
	if err != nil {
		return cfg, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return cfg, fmt.Errorf("GET /api/config: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cfg, fmt.Errorf("GET /api/config: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("GET /api/config: %w", err)
	}
	return cfg, nil
}

// subscriber is a row's client: a writer row's is its base's (the two rows
// differ in the server's writer, not on the wire).
func (fourway) subscriber(transport string) func(context.Context, *sub) {
	switch plan.BaseTransport(transport) {
	case "poll":
		return fourwayPoll
	case "longpoll":
		return fourwayLongPoll
	case "sse":
		return fourwaySSE
	case "ws":
		return fourwayWS
	}
	return nil
}

const pollLimit = 1000

// fourwayGetPage sends one poll or long poll to target and returns its
// page: an answer that asking again cannot change is a permanentError.
func fourwayGetPage(ctx context.Context, s *sub, c *http.Client, target string, onWritten func()) (wire.Page, error) {
	var p wire.Page
	resp, body, err := s.get(ctx, c, target, onWritten)
	if err != nil {
		return p, err
	}
	if resp.StatusCode != http.StatusOK {
		return p, statusError("poll", resp.Status, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, permanentError{fmt.Errorf("poll: the answer does not decode (%d bytes): %w", len(body), err)}
	}
	if p.More && len(p.Messages) == 0 {
		// Asking again at once would get the same answer: no progress.
		return p, fmt.Errorf(`poll: "more":true with no message (next %d)`, p.Next)
	}
	return p, nil
}

// pollCursor is where a reader stands: the next cursor and its epoch, as
// the server last gave them.
type pollCursor struct {
	next  uint64
	epoch string
}

// query is the read's position: ?since=N, and &epoch=E once the server
// has named the epoch of N.
func (cur pollCursor) query() string { return wire.Query(cur.next, cur.epoch) }

// startCursor is where a subscriber starts: after the primer.
func startCursor(s *sub) (pollCursor, error) {
	n, err := strconv.ParseUint(s.cursor, 10, 64)
	if err != nil {
		return pollCursor{}, permanentError{fmt.Errorf("the primer's id %q is not a cursor: %w", s.cursor, err)}
	}
	return pollCursor{next: n}, nil
}

// takePage takes a page's messages and moves the cursor on: to the
// page's next, and its epoch; a missed or reset page is an anomaly.
func (s *sub) takePage(cur *pollCursor, p wire.Page) {
	if p.Missed > 0 || p.Reset {
		s.anomalies++
	}
	if p.Epoch == "" {
		s.anomalies++ // the contract says always; keep the epoch we had
	} else {
		cur.epoch = p.Epoch
		s.feedEpoch = p.Epoch
	}
	cur.next = p.Next
	for _, m := range p.Messages {
		s.got(m)
	}
	if len(p.Messages) > 0 {
		s.unit()
	}
}

// fourwayPoll polls on its timetable; an answer with "more":true is
// followed at once by the next request, as the contract asks.
func fourwayPoll(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	var k int64
	for s.waitTick(ctx, &k) {
		for {
			before := s.snapshot()
			reqCtx, gone, cancel := s.withDeadline(ctx, s.rules.deadline)
			p, err := fourwayGetPage(reqCtx, s, c, s.base+"/api/poll?"+cur.query()+"&limit="+strconv.Itoa(pollLimit), nil)
			cancel()
			if err != nil && gone() {
				err = fmt.Errorf("poll: no answer within the page's deadline (%s): %w", s.rules.deadline, err)
			}
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			s.markReady()
			s.rules.answered()
			s.rules.serve(s.win.stormAt.Load())
			s.takePage(&cur, p)
			s.exchange(before)
			if !p.More {
				break
			}
		}
	}
}

// fourwayLongPoll asks again the moment an answer arrives. It is ready once
// its first request is on the wire: the server holds it from then on. As
// the page's client, it asks for a hold of 1 s after a start or a failure,
// then the server's default, and gives a request up as lost that many
// seconds and longPollGrace after it was sent.
func fourwayLongPoll(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	for first := true; ctx.Err() == nil; {
		before := s.snapshot()
		hold := s.rules.longPollHold(first)
		reqCtx, gone, cancel := s.withDeadline(ctx, time.Duration(hold)*time.Second+longPollGrace)
		p, err := fourwayGetPage(reqCtx, s, c, s.base+"/api/longpoll?"+cur.query()+"&limit="+strconv.Itoa(pollLimit)+"&timeout="+strconv.Itoa(hold), s.markReady)
		cancel()
		if err != nil && gone() {
			err = fmt.Errorf("long poll: no answer within the page's deadline (%d s + %s): %w", hold, longPollGrace, err)
		}
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			first = true
			s.retryPause(ctx, err)
			continue
		}
		first = false
		s.rules.answered()
		s.rules.serve(s.win.stormAt.Load())
		s.takePage(&cur, p)
		s.exchange(before)
	}
}

// fourwaySSE reads the event stream as an EventSource would, and reconnects
// with Last-Event-ID (the last event's whole id, "EPOCH:ID") when it
// breaks, or when the page's watchdog finds it dead (sseWatchdog, on a
// client of its own: the stream holds the first's one connection). Deliveries are checked by the message JSON, as on every
// transport; the event ids are checked against it too.
func fourwaySSE(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	watch := s.meter.httpClient(s.proto)
	defer watch.CloseIdleConnections()
	if n, err := strconv.ParseUint(s.cursor, 10, 64); err == nil {
		s.rules.lastID.Store(n)
	}
	lastID := s.cursor // a bare id is accepted, with no epoch check
	var feedEpoch string
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		streamCtx, cut := context.WithCancel(ctx)
		resp, err := openFourwaySSE(streamCtx, s, c, attempt > 0, lastID)
		if err == nil {
			s.rules.heard()
			var body io.Reader
			if body, err = s.body(resp); err == nil {
				stopWatch := s.sseWatchdog(ctx, watch, cut, fourwayLastID)
				err = readFourwaySSE(s, before, body, &feedEpoch, &lastID)
				stopWatch()
			}
			resp.Body.Close()
			s.feedEpoch = feedEpoch
		}
		cut()
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		s.retryPause(ctx, err)
	}
}

// openFourwaySSE opens the event stream, again with Last-Event-ID after a
// break, and returns it once it answered 200; an answer that asking again
// cannot change is a permanentError.
func openFourwaySSE(ctx context.Context, s *sub, c *http.Client, again bool, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/sse?since="+s.cursor, nil)
	if err != nil {
		return nil, permanentError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	if again {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := s.do(ctx, c, req, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, statusError("sse", resp.Status, resp.StatusCode, body)
	}
	return resp, nil
}

// readFourwaySSE reads one stream until it ends, keeping the stream's
// epoch and the last event id, which the next connection sends back.
func readFourwaySSE(s *sub, before counts, body io.Reader, feedEpoch, lastID *string) error {
	r := wire.NewSSEReader(body)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return io.ErrUnexpectedEOF // a stream of the contract never ends by itself
		}
		if err != nil {
			return err
		}
		if ev.IsComment() {
			continue // ": ping": EventSource never shows a page a comment
		}
		s.rules.heard()
		switch ev.Event {
		case "hello": // data {"next":N,"epoch":"E",...}, id E:N
			s.connected(before)
			s.markReady()
			s.rules.opened()
			s.rules.serve(s.win.stormAt.Load())
			if h, err := wire.DecodeSSEHello(ev); err != nil {
				s.anomalies++
			} else {
				*feedEpoch = h.Epoch
			}
		case "":
			s.got(ev.Data)
			s.unit()
			if id, ok := wire.MessageID(ev.Data); ok {
				s.rules.lastID.Store(id)
			}
			if !sseIDMatches(ev.ID, *feedEpoch, ev.Data) {
				s.anomalies++
			}
		case "reset": // data {"reset":true,"epoch":"NEW"}: ids continue from 0 of NEW
			s.anomalies++
			var r wire.Reset
			if json.Unmarshal(ev.Data, &r) == nil && r.Epoch != "" {
				*feedEpoch = r.Epoch
			}
		default: // missed
			s.anomalies++
		}
		if ev.ID != "" {
			*lastID = ev.ID
		}
	}
}

// sseIDMatches reports whether a message event's id is "EPOCH:ID" with the
// stream's epoch and the id of the message it carries.
func sseIDMatches(id, feedEpoch string, msg []byte) bool {
	epoch, cursor, err := wire.ParseEventID(id)
	msgID, ok := wire.MessageID(msg)
	return err == nil && ok && feedEpoch != "" && epoch == feedEpoch && cursor == msgID
}

// fourwayWS reads one text frame per message, and reconnects with
// ?since=N&epoch=E, its last id and that id's epoch, when the connection
// ends (4001: it fell behind).
func fourwayWS(ctx context.Context, s *sub) {
	d := s.wsDialer()
	wsBase := "ws" + strings.TrimPrefix(s.base, "http")
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		s.meter.requests.Add(1)
		conn, resp, err := d.DialContext(ctx, wsBase+"/api/ws?"+cur.query(), s.headers)
		var body []byte
		if resp != nil && resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
		}
		if err != nil {
			if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
				err = statusError("ws", resp.Status, resp.StatusCode, body)
			}
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			s.retryPause(ctx, err)
			continue
		}
		if err := s.checkWSProto(conn, resp); err != nil {
			conn.Close()
			s.giveUp(ctx, err)
			return
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		err = readFourwayWS(s, before, conn, &cur)
		s.retryPause(ctx, err)
		stop()
		conn.Close()
		s.feedEpoch = cur.epoch
	}
}

// readFourwayWS reads one connection until it ends, keeping the cursor
// and its epoch, which the next connection sends back. From the hello on,
// the page's heartbeat runs beside it (wsHeartbeat).
func readFourwayWS(s *sub, before counts, conn *websocket.Conn, cur *pollCursor) error {
	var buf bytes.Buffer // one buffer for every frame: the load generator must stay light
	stopBeat := func() {}
	defer func() { stopBeat() }()
	for {
		b, err := s.readFrame(conn, &buf)
		if err != nil {
			return err
		}
		s.rules.heard()
		if id, ok := wire.MessageID(b); ok {
			s.got(b)
			s.unit()
			cur.next = id
			continue
		}
		f, _ := wire.DecodeFrame(b)
		switch f.Type {
		case "hello": // {"type":"hello","next":N,"epoch":"E","heartbeat_ms":P,...}
			s.connected(before)
			s.markReady()
			s.rules.opened()
			s.rules.serve(s.win.stormAt.Load())
			h, err := wire.DecodeHello(b)
			if err != nil || f.Next != cur.next {
				s.anomalies++
			}
			stopBeat()
			stopBeat = s.wsHeartbeat(conn, time.Duration(h.HeartbeatMS)*time.Millisecond, []byte(`{"type":"ping"}`))
			if f.Epoch != "" {
				cur.epoch = f.Epoch
			}
		case "reset": // {"type":"reset","epoch":"NEW"}: the cursor goes on from 0 of NEW
			s.anomalies++
			if f.Epoch != "" {
				cur.next, cur.epoch = 0, f.Epoch
			}
		case "pong": // the answer to the heartbeat's ping: heard, which was its job
		default: // missed, error, or not a frame of the contract
			s.anomalies++
		}
	}
}
