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

// sseWatchdog is sse.js's watchdog over one stream: once no event came
// for sseWatch it asks the feed's last id (last, with a deadline of
// sseWatch), and calls cut when the stream is dead: a message the server
// had at one check that has still not arrived at the next, sseWatch later;
// or sseUnanswered checks in a row that got no answer while the stream
// brought nothing either (a silent link: the check crosses it too), asked
// one right after the other. A quiet feed is never a false alarm.
func (s *sub) sseWatchdog(ctx context.Context, c *http.Client, cut func(), last feedLast) (stop func()) {
	ctx, stop = context.WithCancel(ctx)
	go func() {
		var w sseChecks
		pause := time.Duration(0) // the wait before the next check, besides the silence
		for s.sseSilent(ctx, pause) {
			switch s.sseCheck(ctx, c, &w, last) {
			case checkDead:
				s.rules.notice(s.win.outageStart.Load(), "watchdog")
				cut()
				return
			case checkAgain:
				pause = 0
			default:
				pause = s.rules.watch
			}
		}
	}()
	return stop
}

// sseChecks is what the SSE watchdog remembers between its checks.
type sseChecks struct {
	suspect    uint64 // a message id the server had at the last check; 0: none
	unanswered int    // checks in a row with no answer, the stream silent all along
}

// The verdicts of one check.
const (
	checkWait  = iota // nothing wrong as far as it can tell: check again after a watch
	checkAgain        // no answer: check again at once
	checkDead         // the stream is dead
)

// sseSilent waits pause, then until the stream has brought nothing for a
// watch, and tells whether it has (false: the run or the stream ended).
func (s *sub) sseSilent(ctx context.Context, pause time.Duration) bool {
	for {
		wait := max(pause, time.Duration(s.rules.lastHeard.Load()+int64(s.rules.watch)-Mono()))
		if wait <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		pause = 0
	}
}

// sseCheck asks the feed's last id once, within a watch, and judges the
// stream by the answer, or by its absence.
func (s *sub) sseCheck(ctx context.Context, c *http.Client, w *sseChecks, feedLast feedLast) int {
	asked := Mono()
	checkCtx, cancel := context.WithTimeout(ctx, s.rules.watch)
	last, err := feedLast(checkCtx, s, c)
	unanswered := err != nil && ctx.Err() == nil && errors.Is(checkCtx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if !unanswered || s.rules.lastHeard.Load() >= asked { // another failure, or an event meanwhile: no sign
			w.unanswered = 0
			return checkWait
		}
		w.unanswered++
		if w.unanswered >= sseUnanswered {
			return checkDead
		}
		return checkAgain
	}
	w.unanswered = 0
	cursor := s.rules.lastID.Load()
	if w.suspect != 0 && cursor < w.suspect {
		return checkDead
	}
	w.suspect = 0
	if last > cursor {
		w.suspect = last
	}
	return checkWait
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
