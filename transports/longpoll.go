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
	"time"

	"github.com/labstack/echo/v4"

	"fourway/transports/direct"
	"fourway/transports/fanout"
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

	if s.cfg.LongPollWriter == direct.LongPollDirect {
		if held, err := s.holdDirect(c, pos, limit, hold); held { // direct.go
			return err
		}
	}
	cut := fanout.NewRequestCut(c.Request())
	lc, ok := s.live.Add("longpoll", cut.HangUp, s.cfg.MaxClients)
	if !ok {
		return refuseAtLimit(c) // limit.go
	}
	defer s.live.Remove(lc)
	s.live.SayGoodbyeWith(lc, cut.Goodbye)
	t.Joined()
	defer t.Left()

	select {
	case <-s.feed.Changed(pos.cursor):
	case <-s.holds.After(hold):
	case <-s.shutdown: // shutting down: answer now, the client will come back
	case <-cut.Cut(): // /api/drop: the socket is closed, or under HTTP/2 the stream is reset
		if why, ok := cut.SaidGoodbye(); ok {
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
