package transports

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The demo controls: POST /api/drop cuts connections as a network failure
// would, POST /api/ticker sets the built-in publisher, POST /api/tunnel
// silences one of the --links. They are open when the server listens on
// loopback; elsewhere they need --admin-token.

const minTickerPeriod = 10 * time.Millisecond // at most 100 messages per second

func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.AdminToken != "" {
		return requireBearer(s.cfg.AdminToken, "the demo controls")(next)
	}
	return func(c echo.Context) error {
		if !s.adminOpen {
			return fail(c, http.StatusForbidden, "the demo controls are off: the server does not listen on loopback and no --admin-token is set")
		}
		return next(c)
	}
}

func (s *Server) handleDrop(c echo.Context) error {
	transport := c.QueryParam("transport")
	switch transport {
	case "ws", "sse", "longpoll", "all":
	default:
		return fail(c, http.StatusBadRequest, "transport must be ws, sse, longpoll or all, not "+strconv.Quote(transport))
	}
	n := s.live.HangUp(transport)
	s.log.Info("dropped connections", "transport", transport, "count", n)
	return c.JSON(http.StatusOK, map[string]any{"dropped": n, "transport": transport})
}

func (s *Server) handleTicker(c echo.Context) error {
	every, err := time.ParseDuration(c.QueryParam("every"))
	if err != nil || every < 0 || (every > 0 && every < minTickerPeriod) {
		return fail(c, http.StatusBadRequest, "every must be a Go duration of at least "+minTickerPeriod.String()+" (such as 1s or 250ms), or 0 to stop")
	}
	s.ticker.set(every)
	return c.JSON(http.StatusOK, map[string]string{"every": every.String()})
}

// The longest and shortest silence POST /api/tunnel makes.
const (
	minTunnel = 10 * time.Millisecond
	maxTunnel = 10 * time.Minute
)

// handleTunnel silences one of the --links for a while (?link=3g&for=20s):
// every byte crossing it is held, nothing is closed, and all of it is
// delivered when the link comes back, as a train in a tunnel meets.
func (s *Server) handleTunnel(c echo.Context) error {
	name := c.QueryParam("link")
	i := slices.IndexFunc(s.cfg.Links, func(l Link) bool { return l.Name == name })
	if i < 0 {
		names := make([]string, len(s.cfg.Links))
		for k, l := range s.cfg.Links {
			names[k] = l.Name
		}
		if len(names) == 0 {
			return fail(c, http.StatusNotFound, "this server opened no link: start it with --links")
		}
		return fail(c, http.StatusNotFound, "link must be one of "+strings.Join(names, ", ")+", not "+strconv.Quote(name))
	}
	d, err := time.ParseDuration(c.QueryParam("for"))
	if err != nil || d < minTunnel || d > maxTunnel {
		return fail(c, http.StatusBadRequest, "for must be a Go duration from "+minTunnel.String()+" to "+maxTunnel.String()+" (such as 20s), not "+strconv.Quote(c.QueryParam("for")))
	}
	s.cfg.Links[i].Tunnel(d)
	s.log.Info("tunnel", "link", name, "for", d)
	return c.JSON(http.StatusOK, map[string]any{"link": name, "silent_ms": d.Milliseconds()})
}
