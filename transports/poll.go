// Short polling: GET /api/poll?since=N&limit=L
//
// How it works: the client asks "anything after N?" on a timetable, say
// every 3 seconds, and the server answers at once, with the new messages or
// with an empty list. The client keeps the "next" cursor of each answer and
// sends it with the following request; an answer with "more":true means
// more are waiting, so it asks again at once.
//
// What one message costs: a whole HTTP request and response, some 300 to
// 900 bytes of request line and headers, often for nothing: most polls of a
// quiet feed come back empty, and the stats count those "empty" answers.
// Latency is half the interval on average and a whole interval at worst.
//
// What breaks it: nothing much. Every proxy, cache (hence Cache-Control:
// no-store), firewall and idle timeout lets short requests through. That
// robustness, and a server that keeps no per-client state at all, is why
// it is still the fallback of fallbacks.
//
// When to pick it: updates that may be seconds late, few clients or long
// intervals, or an environment where nothing else gets through.
package transports

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func (s *Server) handlePoll(c echo.Context) error {
	pos, limit, err := s.pollParams(c)
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	return s.writeAnswer(c, &s.stats.Poll, s.answer(pos, limit))
}
