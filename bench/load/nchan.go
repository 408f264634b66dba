package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports/wire"
)

// nchan speaks to nginx + Nchan as configured in targets/nchan/nginx.conf: one
// channel, published with POST /pub, read over /sub/poll (interval poll),
// /sub/longpoll, /sub/sse and /sub/ws.
//
// Nchan's ways differ from fourway's, and the bench follows them:
//   - a message id is "<unix seconds>:<tag>", not a counter; the bench checks
//     loss and duplicates with the seq it puts in every message's data, on
//     both servers alike;
//   - a poll or long-poll response carries one message: the client asks
//     again at once after a 200, and an interval poll ends its tick on 304;
//   - the cursor travels as Last-Modified + Etag, sent back as
//     If-Modified-Since + If-None-Match, or as Last-Event-ID;
//   - SSE needs Accept: text/event-stream; WebSocket carries ids only with
//     the ws+meta.nchan subprotocol, which the bench uses so that both
//     servers' WebSockets can resume;
//   - nothing signals a gap: a cursor older than the buffer silently skips.
type nchan struct{}

func (nchan) name() string { return "nchan" }

// publish posts data to the channel, and wants its 201 or, before any
// subscriber, its 202.
func (nchan) publish(ctx context.Context, c *http.Client, base string, data []byte) error {
	status, _, err := postJSON(ctx, c, base+"/pub", data)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusAccepted { // 202: no subscriber yet
		return fmt.Errorf("publish: %d", status)
	}
	return nil
}

// primer publishes a message and returns its id, read back from the
// channel's info (Nchan's publish answer carries none for this use).
func (n nchan) primer(ctx context.Context, c *http.Client, base string) (string, error) {
	if err := n.publish(ctx, c, base, []byte(`{"primer":true}`)); err != nil {
		return "", fmt.Errorf("primer: %w", err)
	}
	return nchanLastMessage(ctx, c, base)
}

// nchanLastMessage is the id of the channel's last message, from its
// info (GET /pub as JSON).
func nchanLastMessage(ctx context.Context, c *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/pub", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("channel info: %w", err)
	}
	defer resp.Body.Close()
	var info struct {
		LastMessageID string `json:"last_message_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil || info.LastMessageID == "" {
		return "", fmt.Errorf("channel info: %s %v", resp.Status, err)
	}
	return info.LastMessageID, nil
}

// nchanLastID is the channel's last message id in the order of
// nchanOrder: the SSE watchdog's question, which fourway answers with
// GET /api/stats and Nchan with the channel's info.
func nchanLastID(ctx context.Context, s *sub, c *http.Client) (uint64, error) {
	id, err := nchanLastMessage(ctx, c, s.base)
	if err != nil {
		return 0, err
	}
	n, ok := nchanOrder(id)
	if !ok {
		return 0, fmt.Errorf("channel info: last_message_id %q is not <seconds>:<tag>", id)
	}
	return n, nil
}

// nchanOrder makes a message id "<seconds>:<tag>" a number that orders
// as the channel's messages do (a later second, or a later tag in the
// same second, is a larger number), for the SSE watchdog to compare.
func nchanOrder(id string) (uint64, bool) {
	sec, tag, ok := strings.Cut(id, ":")
	if !ok {
		return 0, false
	}
	a, err1 := strconv.ParseUint(sec, 10, 38)
	b, err2 := strconv.ParseUint(tag, 10, 24)
	return a<<24 | b, err1 == nil && err2 == nil
}

// The peer's heartbeat and hold, which targets/nchan/nginx.conf sets to
// fourway's defaults (transports/serve.go) so that the page's rules meet
// the same server timings on both. Nchan sends no hello naming them.
const (
	// nchanHeartbeat is the WebSocket's: Nchan sends a ping frame this
	// often, which a browser never shows a page, and the client sends the
	// text "ping" this often, which Nchan answers "pong".
	nchanHeartbeat = 25 * time.Second
	// nchanHold is how long Nchan holds a long poll before it answers
	// 408 (nchan_subscriber_timeout).
	nchanHold = 30 * time.Second
)

// config is the peer's settings, as fourway's GET /api/config would give
// them: what the page's rules and the outage report read.
func (nchan) config(context.Context, *http.Client, string) (wire.Config, error) {
	var cfg wire.Config
	cfg.WS.HeartbeatMS = nchanHeartbeat.Milliseconds()
	cfg.LongPoll.TimeoutMS = nchanHold.Milliseconds()
	cfg.SSE.KeepaliveMS = 15000
	return cfg, nil
}

// subscriber is Nchan's client of a transport.
func (nchan) subscriber(transport string) func(context.Context, *sub) {
	switch transport {
	case "poll":
		return nchanPoll
	case "longpoll":
		return nchanLongPoll
	case "sse":
		return nchanSSE
	case "ws":
		return nchanWS
	}
	return nil
}

// nchanCursor is where a poll client is: the id it started from, then the
// Last-Modified and Etag of the last answer.
type nchanCursor struct {
	id, lastModified, etag string
}

// set puts the cursor on a request: the last answer's Last-Modified and
// Etag, or the id the subscriber starts from.
func (c *nchanCursor) set(req *http.Request) {
	if c.lastModified != "" {
		req.Header.Set("If-Modified-Since", c.lastModified)
		req.Header.Set("If-None-Match", c.etag)
		return
	}
	req.Header.Set("If-None-Match", c.id) // "<seconds>:<tag>" alone
}

// update takes the cursor of an answer, when it has one.
func (c *nchanCursor) update(resp *http.Response) {
	if lm, et := resp.Header.Get("Last-Modified"), resp.Header.Get("Etag"); lm != "" && et != "" {
		c.lastModified, c.etag = lm, et
	}
}

// get sends one poll of path from the cursor, and moves the cursor on: it
// returns the message body, or nil on 304 (an interval poll with nothing
// new) and 408 (a long poll held nchanHold).
func (cur *nchanCursor) get(ctx context.Context, s *sub, c *http.Client, path string, onWritten func()) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, permanentError{err}
	}
	cur.set(req)
	resp, body, err := s.read(ctx, c, req, onWritten)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		cur.update(resp)
		return body, nil
	case http.StatusNotModified, http.StatusRequestTimeout:
		cur.update(resp)
		return nil, nil
	}
	return nil, fmt.Errorf("%s %s", path, resp.Status)
}

// nchanPoll polls on its timetable, asking again after each message until
// a 304 ends the tick.
func nchanPoll(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur := &nchanCursor{id: s.cursor}
	var k int64
	for s.waitTick(ctx, &k) {
		for { // one message per answer: ask again until 304
			before := s.snapshot()
			reqCtx, gone, cancel := s.withDeadline(ctx, s.rules.deadline)
			body, err := cur.get(reqCtx, s, c, "/sub/poll", nil)
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
			if body == nil {
				s.exchange(before)
				break
			}
			s.got(body)
			s.unit()
			s.exchange(before)
		}
	}
}

// nchanLongPoll asks again the moment an answer arrives, from its last
// answer's cursor. As the page's client, it gives a request up as lost
// Nchan's hold and longPollGrace after it was sent (a client of Nchan
// cannot ask for a hold, so there is no 1 s first one).
func nchanLongPoll(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur := &nchanCursor{id: s.cursor}
	hold := time.Duration(s.rules.longPollHold(false)) * time.Second
	for ctx.Err() == nil {
		before := s.snapshot()
		reqCtx, gone, cancel := s.withDeadline(ctx, hold+longPollGrace)
		body, err := cur.get(reqCtx, s, c, "/sub/longpoll", s.markReady)
		cancel()
		if err != nil && gone() {
			err = fmt.Errorf("long poll: no answer within the page's deadline (%s + %s): %w", hold, longPollGrace, err)
		}
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		s.rules.answered()
		s.rules.serve(s.win.stormAt.Load())
		if body != nil {
			s.got(body)
			s.unit()
		}
		s.exchange(before)
	}
}

// nchanSSE reads the event stream, and reconnects with Last-Event-ID when
// it breaks, or when the page's watchdog finds it dead (sseWatchdog, on a
// client of its own, asking the channel's info for its last id).
func nchanSSE(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	watch := s.meter.httpClient(s.proto)
	defer watch.CloseIdleConnections()
	lastID := s.cursor
	if n, ok := nchanOrder(lastID); ok {
		s.rules.lastID.Store(n)
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		streamCtx, cut := context.WithCancel(ctx)
		resp, err := openNchanSSE(streamCtx, s, c, lastID)
		if err == nil {
			// Nchan sends no hello event: the stream is ready with its headers.
			s.connected(before)
			s.markReady()
			s.rules.opened()
			s.rules.serve(s.win.stormAt.Load())
			var body io.Reader
			if body, err = s.body(resp); err == nil {
				stopWatch := s.sseWatchdog(ctx, watch, cut, nchanLastID)
				err = readNchanSSE(s, body, &lastID)
				stopWatch()
			}
			resp.Body.Close()
		}
		cut()
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		s.retryPause(ctx, err)
	}
}

// openNchanSSE opens the event stream from lastID, and returns it once
// it answered 200.
func openNchanSSE(ctx context.Context, s *sub, c *http.Client, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/sub/sse", nil)
	if err != nil {
		return nil, permanentError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := s.do(ctx, c, req, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, errors.New("sse: " + resp.Status)
	}
	return resp, nil
}

// readNchanSSE reads one stream until it ends: every event with data is a
// message, and its id is what the next connection sends back. Comments
// (": hi" first, ": ping" every 15 s) are not heard: EventSource never
// shows them a page.
func readNchanSSE(s *sub, body io.Reader, lastID *string) error {
	r := wire.NewSSEReader(body)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if ev.Data == nil {
			continue
		}
		s.rules.heard()
		s.got(ev.Data)
		s.unit()
		if ev.ID != "" {
			*lastID = ev.ID
			if n, ok := nchanOrder(ev.ID); ok {
				s.rules.lastID.Store(n)
			}
		}
	}
}

// nchanWS reads one frame per message, ws+meta.nchan framed with its id,
// and reconnects from the last id when the connection ends, or when the
// page's heartbeat (wsHeartbeat, "ping" every nchanHeartbeat: the
// rules' heartbeat) finds it dead.
func nchanWS(ctx context.Context, s *sub) {
	d := s.wsDialer("ws+meta.nchan")
	wsBase := "ws" + strings.TrimPrefix(s.base, "http")
	lastID := s.cursor
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		s.meter.requests.Add(1)
		conn, resp, err := d.DialContext(ctx, wsBase+"/sub/ws?last_event_id="+url.QueryEscape(lastID), s.headers)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if err := s.checkWSProto(conn, resp); err != nil {
			conn.Close()
			s.giveUp(ctx, err)
			return
		}
		s.connected(before)
		s.markReady()
		s.rules.opened()
		s.rules.serve(s.win.stormAt.Load())
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		stopBeat := s.wsHeartbeat(conn, s.rules.heartbeat, []byte("ping"))
		err = readNchanWS(s, conn, &lastID)
		stopBeat()
		s.retryPause(ctx, err)
		stop()
		conn.Close()
	}
}

// readNchanWS reads one connection until it ends: every frame but the
// heartbeat's "pong" is a message, ws+meta.nchan framed with its id,
// which the next connection sends back.
func readNchanWS(s *sub, conn *websocket.Conn, lastID *string) error {
	var buf bytes.Buffer
	for {
		b, err := s.readFrame(conn, &buf)
		if err != nil {
			return err
		}
		s.rules.heard()
		if string(b) == "pong" { // the heartbeat's answer, not framed with an id
			continue
		}
		// ws+meta.nchan: "id: <id>\ncontent-type: <type>\n\n<body>"
		meta, body, ok := bytes.Cut(b, []byte("\n\n"))
		if !ok {
			s.anomalies++
			continue
		}
		if id, ok := bytes.CutPrefix(meta, []byte("id: ")); ok {
			id, _, _ = bytes.Cut(id, []byte("\n"))
			*lastID = string(id)
		}
		s.got(body)
		s.unit()
	}
}
