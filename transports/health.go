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
// A feed that is still opening (feed.Pending: NATS was not ready when the
// node started) is starting, not lost: /healthz answers 503 with
// {"status":"starting","reason":"..."}, the reads and publishes 503 with
// those two fields beside the error (the page says the server is
// starting), and no stream is told goodbye, since none could open.
//
// A feed that cannot lose anything (feed.Memory) is always healthy.

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"fourway/feed"
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

// starting is a feed's health while it is still opening.
type starting struct {
	Status string `json:"status"` // always "starting"
	Reason string `json:"reason"` // what it waits for, in words
}

// startingOf returns the starting state err says, if it says one.
func startingOf(err error) (starting, bool) {
	var se *feed.StartingError
	if !errors.As(err, &se) {
		return starting{}, false
	}
	return starting{Status: "starting", Reason: se.Reason}, true
}

// handleHealthz answers 200 ok; 503 with {"status":"starting","reason":...}
// while the feed is still opening; or 503 with the reason while the feed
// cannot reach its broker.
func (s *Server) handleHealthz(c echo.Context) error {
	err := s.feedHealth()
	if err == nil {
		return c.String(http.StatusOK, "ok")
	}
	if st, ok := startingOf(err); ok {
		return c.JSON(http.StatusServiceUnavailable, st)
	}
	return c.String(http.StatusServiceUnavailable, "unavailable: "+err.Error())
}

// requireHealthyFeed answers 503 while the feed cannot reach its broker,
// or is starting.
// Whether the feed can lose it is decided once, when the routes are made:
// for one that cannot, the handler is next itself.
func (s *Server) requireHealthyFeed(next echo.HandlerFunc) echo.HandlerFunc {
	h, ok := s.feed.(healthChecker)
	if !ok {
		return next
	}
	return func(c echo.Context) error {
		err := h.Health()
		if err == nil {
			return next(c)
		}
		if st, ok := startingOf(err); ok {
			return c.JSON(http.StatusServiceUnavailable, struct {
				Error string `json:"error"`
				starting
			}{"this node is starting (" + st.Reason + "): try again in a moment, or another node, with your cursor", st})
		}
		return fail(c, http.StatusServiceUnavailable, "this node cannot reach the feed ("+err.Error()+"): try another node, with your cursor")
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
		if _, ok := startingOf(err); ok {
			continue // no stream could open yet: none to tell
		}
		switch {
		case err == nil:
			since, told = time.Time{}, false
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= healthGrace:
			n := s.live.Goodbye(nodeLostFeed)
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
