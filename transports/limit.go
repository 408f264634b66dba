package transports

// What a client refused at --max-clients is told: when to come back.

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// A client refused at --max-clients is told when to come back: an SSE
// stream or a long poll in a 503's Retry-After header (RFC 9110: whole
// seconds) and in its error, a WebSocket in its close 1013's reason, both
// in the same words:
//
//	the server is at its connection limit; retry in 7 s
//
// Each refusal draws its own wait, at random over 1 to RetryAfterMax
// seconds (full jitter), so that the hundreds refused in one moment (all
// the clients of a restarted server, say) do not all come back in the
// same second: a herd of n refused returns at about n/RetryAfterMax a
// second. Never 0, which says "at once" (a node cut from its feed, in
// health.go): a client refused for the limit that came back at once would
// only be refused again.

// RetryAfterMax bounds the wait a refusal asks for, in seconds. A restart
// storm of 1,500 clients at once (600 WebSocket, 600 SSE, 300 long polls)
// is absorbed in under half a second, some 3,000 new clients a second: over
// 10 s, a herd of 30,000 refused comes back no faster than that, and none
// of them waits longer than half the page's own backoff cap (20 s).
const RetryAfterMax = 10

// drawRetryAfter is the wait of one refusal, in whole seconds: 1 to
// RetryAfterMax, uniformly. math/rand/v2's functions are safe for
// concurrent use and cost a few nanoseconds, without a lock.
func drawRetryAfter() int { return 1 + rand.IntN(RetryAfterMax) }

// atLimitReason says the refusal with its wait, well within the 123 bytes
// of a close frame's reason.
func atLimitReason(secs int) string {
	return atLimit + "; retry in " + strconv.Itoa(secs) + " s"
}

// refuseAtLimit answers an SSE stream or a long poll refused at
// --max-clients: 503, Retry-After, and the reason with the same wait.
func refuseAtLimit(c echo.Context) error {
	secs := drawRetryAfter()
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return fail(c, http.StatusServiceUnavailable, atLimitReason(secs))
}

// closeAtLimit is the close frame of a WebSocket refused at --max-clients:
// 1013 (Try Again Later), its reason saying the wait.
func closeAtLimit() []byte {
	return websocket.FormatCloseMessage(closeTryLater, atLimitReason(drawRetryAfter()))
}

// refuseWSAtLimit closes a WebSocket refused at --max-clients, just
// upgraded, with its close 1013.
func (s *Server) refuseWSAtLimit(conn *websocket.Conn) {
	deadline := time.Now().Add(s.cfg.WriteTimeout)
	if conn.WriteControl(websocket.CloseMessage, closeAtLimit(), deadline) == nil {
		s.stats.WS.WroteFraming(2) // the close frame's header
	}
	conn.Close()
}
