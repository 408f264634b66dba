package transports

// Health, for a feed that can lose its broker (feed.JetStream, cut from
// NATS): while it cannot reach it, this node has nothing new to give, so it
// says so instead of serving a feed that silently stands still.
//
//   - GET /healthz answers 503 with the reason, for a load balancer.
//   - The reads and publishes answer 503 too, so a proxy that passes a 503
//     on to the next node (deploy/nginx.conf does) moves every request to a
//     healthy node, and a client without a proxy retries with its cursor.
//   - The streams open on this node are told goodbye once the feed has
//     been unreachable for healthGrace, each in its transport's words, so
//     that they reconnect at once, elsewhere, from their cursor, and lose
//     nothing: a WebSocket gets close 1012 with the reason (see
//     closeNodeLost in ws.go for why not 1013), an SSE stream an "end"
//     event with the reason before its end, a held long poll a 503 with
//     the same JSON error as the reads get, and Retry-After: 0.
//
// A feed that cannot lose anything (feed.Memory) is always healthy.

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	healthEvery = 250 * time.Millisecond // how often the streams' node checks its feed
	healthGrace = 2 * time.Second        // unreachable this long, the streams are told goodbye: a blip is not worth a reconnect of every client
)

// nodeLostFeed is the goodbye of a node cut from its feed's broker, in
// every transport's words: short enough for a WebSocket close frame's
// reason (123 bytes).
const nodeLostFeed = "this node cannot reach the feed: reconnect now, to another node, with your cursor"

// healthChecker is a feed that can lose its broker, as feed.JetStream can.
type healthChecker interface{ Health() error }

// feedHealth is nil while the feed can serve.
func (s *Server) feedHealth() error {
	if h, ok := s.feed.(healthChecker); ok {
		return h.Health()
	}
	return nil
}

// handleHealthz answers 200 ok, or 503 with the reason while the feed
// cannot reach its broker.
func (s *Server) handleHealthz(c echo.Context) error {
	if err := s.feedHealth(); err != nil {
		return c.String(http.StatusServiceUnavailable, "unavailable: "+err.Error())
	}
	return c.String(http.StatusOK, "ok")
}

// requireHealthyFeed answers 503 while the feed cannot reach its broker.
// Whether the feed can lose it is decided once, when the routes are made:
// for one that cannot, the handler is next itself.
func (s *Server) requireHealthyFeed(next echo.HandlerFunc) echo.HandlerFunc {
	h, ok := s.feed.(healthChecker)
	if !ok {
		return next
	}
	return func(c echo.Context) error {
		if err := h.Health(); err != nil {
			return fail(c, http.StatusServiceUnavailable, "this node cannot reach the feed ("+err.Error()+"): try another node, with your cursor")
		}
		return next(c)
	}
}

// watchHealth says goodbye to every stream once the feed has been
// unreachable for healthGrace, and at every check after that until it is
// back (a stream that slipped in meanwhile is told too; a connection says
// its goodbye once), until the shutdown.
func (s *Server) watchHealth() {
	if _, ok := s.feed.(healthChecker); !ok {
		return
	}
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	var since time.Time // when the feed became unreachable; zero while it is not
	told := false       // the goodbyes of this outage began
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		err := s.feedHealth()
		switch {
		case err == nil:
			since, told = time.Time{}, false
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= healthGrace:
			n := s.live.goodbye(nodeLostFeed)
			if !told {
				s.log.Warn("the feed is unreachable: told the streams goodbye, to resume on another node", "streams", n, "err", err)
			}
			told = true
		}
	}
}

// answerGoodbye answers a held long poll told goodbye: 503 with the
// reason, as the reads of a node cut from its feed get, and Retry-After: 0,
// since another node can answer at once (a proxy that passes a 503 on, as
// deploy/nginx.conf does, sends the request there by itself).
func answerGoodbye(c echo.Context, why string) error {
	c.Response().Header().Set("Retry-After", "0")
	return fail(c, http.StatusServiceUnavailable, why)
}
