package transports

// The wire inspector's two ends in the server: a tap begins on each
// request of the four transports while someone looks, and GET
// /api/inspect shows what the taps recorded (wiremeter/inspect.go).

import (
	"net/http"

	"fourway/transports/wiremeter"

	"github.com/labstack/echo/v4"
)

// inspectRequests starts a tap for each request of the four transports
// while the recording is on.
func (s *Server) inspectRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.inspect.Begin(c.Request())
		return next(c)
	}
}

// GET /api/inspect: the newest exchanges of each transport, newest last,
// and the recording kept on for wiremeter.InspectLease from now. ?client=
// keeps only the WebSocket exchanges of that client id.
func (s *Server) handleInspect(c echo.Context) error {
	wasOn, exchanges := s.inspect.Look(c.QueryParam("client"))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{
		"was_recording": wasOn, "lease_ms": wiremeter.InspectLease.Milliseconds(), "transports": exchanges,
	})
}
