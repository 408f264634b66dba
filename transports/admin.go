package transports

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// The demo controls: POST /api/drop cuts connections as a network failure
// would, POST /api/ticker sets the built-in publisher. They are open when the
// server listens on loopback; elsewhere they need --admin-token.

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
