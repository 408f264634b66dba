package transports

// Health, for a feed that can lose its broker (feed.JetStream, cut from
// NATS): while it cannot reach it, this node has nothing new to give, so it
// says so instead of serving a feed that silently stands still.
//
//   - GET /healthz answers 503 with the reason, for a load balancer.
//   - The reads and publishes answer 503 too, so a proxy that passes a 503
//     on to the next node (deploy/nginx.conf does) moves every request to a
//     healthy node, and a client without a proxy retries with its cursor.
//   - The streams open on this node (WebSocket, SSE, held long polls) are
//     hung up once the feed has been unreachable for healthGrace: their
//     clients reconnect, elsewhere, from their cursor, and lose nothing.
//
// A feed that cannot lose anything (feed.Memory) is always healthy.

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	healthEvery = 250 * time.Millisecond // how often the streams' node checks its feed
	healthGrace = 2 * time.Second        // unreachable this long, the streams are hung up: a blip is not worth a reconnect of every client
)

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

// watchHealth hangs up every stream once the feed has been unreachable for
// healthGrace, and again after each recovery, until the shutdown.
func (s *Server) watchHealth() {
	if _, ok := s.feed.(healthChecker); !ok {
		return
	}
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	var since time.Time // when the feed became unreachable; zero while it is not
	hungUp := false
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		err := s.feedHealth()
		switch {
		case err == nil:
			since, hungUp = time.Time{}, false
		case since.IsZero():
			since = time.Now()
		case !hungUp && time.Since(since) >= healthGrace:
			hungUp = true
			n := s.live.hangUp("all")
			s.log.Warn("the feed is unreachable: hung up the streams, to resume on another node", "streams", n, "err", err)
		}
	}
}
