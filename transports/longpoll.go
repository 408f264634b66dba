// Long polling: GET /api/longpoll?since=N&limit=L&timeout=S
//
// How it works: like a short poll, but when nothing after the cursor exists
// the server holds the request open until a message is published, the
// timeout passes (then it answers with an empty list and the same cursor),
// or the client goes away. The client asks again at once with "next", so
// there is almost always one request waiting at the server: a message is
// delivered about one round trip after it is published.
//
// What one message costs: still a whole HTTP request and response, but now
// per message (or per batch, when several arrive before the client is back)
// instead of per tick, plus one empty answer per timeout on a quiet feed.
// Between a message and the client's next request there is a gap in which
// new messages queue; the cursor makes sure none is lost.
//
// What breaks it: proxies and load balancers with read timeouts shorter than
// the hold time cut held requests (hence the 30 s default, under the common
// 60 to 90 s), and each waiting client holds a connection: a browser allows
// six per host over HTTP/1.1, and long polls count against them.
//
// When to pick it: near-real-time delivery where streaming is not allowed
// through, or as the fallback behind SSE or WebSocket.
package transports

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

const maxLongPollTimeout = 120 // seconds a client may ask the server to hold

func (s *Server) handleLongPoll(c echo.Context) error {
	pos, limit, err := s.pollParams(c)
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	hold := s.cfg.LongPollTimeout
	if c.QueryParam("timeout") != "" {
		secs, err := parseInt(c, "timeout", 0, 1, maxLongPollTimeout)
		if err != nil {
			return fail(c, http.StatusBadRequest, err.Error())
		}
		hold = time.Duration(secs) * time.Second
	}
	t := &s.stats.LongPoll

	if a := s.answer(pos, limit); a.news || s.shuttingDown() {
		return s.writeAnswer(c, t, a)
	}

	if s.cfg.LongPollWriter == longPollWriterDirect {
		if held, err := s.holdDirect(c, pos, limit, hold); held { // longpoll_direct.go
			return err
		}
	}
	cut := newRequestCut(c.Request()) // live.go
	lc, ok := s.live.add("longpoll", cut.hangUp, s.cfg.MaxClients)
	if !ok {
		return refuseAtLimit(c) // live.go
	}
	defer s.live.remove(lc)
	s.live.sayGoodbyeWith(lc, cut.goodbye)
	t.Joined()
	defer t.Left()

	select {
	case <-s.feed.Changed(pos.cursor):
	case <-s.holds.after(hold):
	case <-s.shutdown: // shutting down: answer now, the client will come back
	case <-cut.cut: // /api/drop: the socket is closed, or under HTTP/2 the stream is reset
		if why, ok := cut.saidGoodbye(); ok {
			return answerGoodbye(c, why) // health.go: the node lost its feed
		}
		panic(http.ErrAbortHandler)
	case <-c.Request().Context().Done():
		// The client left. Returning would make net/http finish with an
		// empty 200; aborting closes the connection without a word.
		panic(http.ErrAbortHandler)
	}
	return s.writeAnswer(c, t, s.answer(pos, limit))
}

// holdSlack bounds how late a held poll's timeout may be answered, so
// that the polls held in the same moment share one timer: at most a tenth
// of the hold late, and at most this, never early.
const holdSlack = 100 * time.Millisecond

// holdTimers are the timeouts of the held long polls: one timer, and one
// channel it closes, for every deadline slot that some poll waits on,
// instead of one per poll. A timer is not stopped when its polls are
// answered first: it fires once, for nobody, and is gone.
type holdTimers struct {
	mu    sync.Mutex
	slots map[int64]chan struct{} // deadline (UnixNano), rounded up to its slot -> closed once it passed
}

// after returns a channel closed once hold has passed, a little later at
// most (holdSlack).
func (ht *holdTimers) after(hold time.Duration) <-chan struct{} {
	slot := int64(max(time.Millisecond, min(holdSlack, hold/10)))
	deadline := (time.Now().Add(hold).UnixNano() + slot - 1) / slot * slot
	ht.mu.Lock()
	defer ht.mu.Unlock()
	if ch, ok := ht.slots[deadline]; ok {
		return ch
	}
	if ht.slots == nil {
		ht.slots = map[int64]chan struct{}{}
	}
	ch := make(chan struct{})
	ht.slots[deadline] = ch
	time.AfterFunc(time.Until(time.Unix(0, deadline)), func() {
		ht.mu.Lock()
		delete(ht.slots, deadline)
		ht.mu.Unlock()
		close(ch)
	})
	return ch
}
