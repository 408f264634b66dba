package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// wsHeartbeat is ws.js's heartbeat: every period it sends ping, a text
// frame the server answers with one of its own (fourway's
// {"type":"ping"} and {"type":"pong"}, at the hello's period; Nchan's
// "ping" and "pong", see nchan.go); a connection from which nothing came
// for two periods is dead, and is closed. The server's own pings are
// control frames, which a browser answers and never shows a page, so
// they do not count as heard.
func (s *sub) wsHeartbeat(conn *websocket.Conn, period time.Duration, ping []byte) (stop func()) {
	if period <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if Mono()-s.rules.lastHeard.Load() > int64(2*period) {
				s.rules.notice(s.win.outageStart.Load(), "watchdog")
				conn.Close()
				return
			}
			// This goroutine is the connection's only writer.
			_ = conn.SetWriteDeadline(time.Now().Add(period))
			if conn.WriteMessage(websocket.TextMessage, ping) != nil {
				return
			}
		}
	}()
	return func() { close(done) }
}

// feedLast asks the server for the id of the feed's last message, in the
// order of rules.lastID, through c.
type feedLast func(ctx context.Context, s *sub, c *http.Client) (uint64, error)

// sseWatchdog is sse.js's watchdog over one stream: every sseWatch, if
// no event came for that long, it asks the feed's last id (last, within
// the same period); a message the server had at the previous check that
// has still not arrived means the stream is dead, and cut is called. A
// quiet feed is never a false alarm, and a check that gets no answer (the
// link is silent too) cannot tell.
func (s *sub) sseWatchdog(ctx context.Context, c *http.Client, cut func(), last feedLast) (stop func()) {
	ctx, stop = context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(s.rules.watch)
		defer t.Stop()
		var suspect uint64 // a message id the server had at the last check; 0: none
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if Mono()-s.rules.lastHeard.Load() < int64(s.rules.watch) {
				continue
			}
			checkCtx, cancel := context.WithTimeout(ctx, s.rules.watch)
			last, err := last(checkCtx, s, c)
			cancel()
			if err != nil {
				continue // cannot tell; ask again next time
			}
			cursor := s.rules.lastID.Load()
			if suspect != 0 && cursor < suspect {
				s.rules.notice(s.win.outageStart.Load(), "watchdog")
				cut()
				return
			}
			suspect = 0
			if last > cursor {
				suspect = last
			}
		}
	}()
	return stop
}

// fourwayLastID is the feed's last message id, from GET /api/stats.
func fourwayLastID(ctx context.Context, s *sub, c *http.Client) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, errors.New("GET /api/stats: " + resp.Status)
	}
	var stats struct {
		Feed struct {
			LastID uint64 `json:"last_id"`
		} `json:"feed"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&stats)
	return stats.Feed.LastID, err
}

// withDeadline is a request's context with the page's deadline d; gone
// reports, after the request, whether the deadline (not the run's end) cut
// it, and if so records the notice.
func (s *sub) withDeadline(ctx context.Context, d time.Duration) (reqCtx context.Context, gone func() bool, cancel func()) {
	reqCtx, cancel = context.WithTimeout(ctx, d)
	gone = func() bool {
		if ctx.Err() == nil && errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
			s.rules.notice(s.win.outageStart.Load(), "deadline")
			return true
		}
		return false
	}
	return reqCtx, gone, cancel
}
