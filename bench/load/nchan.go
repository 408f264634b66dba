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
	"strings"

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
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.LastMessageID == "" {
		return "", fmt.Errorf("channel info: %s %v", resp.Status, err)
	}
	return info.LastMessageID, nil
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
// returns the message body, or nil on 304.
func (cur *nchanCursor) get(ctx context.Context, s *sub, c *http.Client, path string, onWritten func()) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, err
	}
	cur.set(req)
	resp, err := s.do(ctx, c, req, onWritten)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r, err := s.body(resp)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r)
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
			body, err := cur.get(ctx, s, c, "/sub/poll", nil)
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
// answer's cursor.
func nchanLongPoll(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur := &nchanCursor{id: s.cursor}
	for ctx.Err() == nil {
		before := s.snapshot()
		body, err := cur.get(ctx, s, c, "/sub/longpoll", s.markReady)
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
// it breaks.
func nchanSSE(ctx context.Context, s *sub) {
	c := s.meter.httpClient(s.proto)
	defer c.CloseIdleConnections()
	lastID := s.cursor
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/sub/sse", nil)
		if err != nil {
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", lastID)
		resp, err := s.do(ctx, c, req, nil)
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			s.retryPause(ctx, errors.New("sse: "+resp.Status))
			continue
		}
		// Nchan sends no hello event: the stream is ready with its headers.
		s.connected(before)
		s.markReady()
		s.rules.opened()
		s.rules.serve(s.win.stormAt.Load())
		body, err := s.body(resp)
		if err == nil {
			err = readNchanSSE(s, body, &lastID)
		}
		resp.Body.Close()
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		s.retryPause(ctx, err)
	}
}

// readNchanSSE reads one stream until it ends: every event with data is a
// message, and its id is what the next connection sends back.
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
		if ev.Data != nil {
			s.got(ev.Data)
			s.unit()
		}
		if ev.ID != "" {
			*lastID = ev.ID
		}
	}
}

// nchanWS reads one frame per message, ws+meta.nchan framed with its id,
// and reconnects from the last id when the connection ends.
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
		var buf bytes.Buffer
		for {
			b, err := s.readFrame(conn, &buf)
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			// ws+meta.nchan: "id: <id>\ncontent-type: <type>\n\n<body>"
			meta, body, ok := bytes.Cut(b, []byte("\n\n"))
			if !ok {
				s.anomalies++
				continue
			}
			if id, ok := bytes.CutPrefix(meta, []byte("id: ")); ok {
				id, _, _ = bytes.Cut(id, []byte("\n"))
				lastID = string(id)
			}
			s.got(body)
			s.unit()
		}
		stop()
		conn.Close()
	}
}
