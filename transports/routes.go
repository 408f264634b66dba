package transports

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes maps the whole API surface. No timeout middleware anywhere: it
// breaks SSE and WebSocket (see the package's lessons in sse.go and ws.go).
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Clients are addressed by their socket address: X-Forwarded-For is
	// written by anyone, so it is trusted from no one.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(middleware.Recover())
	e.Use(s.countRequests)
	e.Use(s.guard) // guard.go: Host, page headers, body and write deadlines
	e.Use(s.inspectRequests)
	e.Use(s.blockUpgrades)

	e.POST("/api/messages", s.handlePublish, s.sameOrigin, s.requireHealthyFeed) // publish.go

	// health.go: a node cut from its feed's broker sends readers elsewhere.
	e.GET("/api/poll", s.handlePoll, s.requireHealthyFeed)         // poll.go
	e.GET("/api/longpoll", s.handleLongPoll, s.requireHealthyFeed) // longpoll.go
	e.GET("/api/sse", s.handleSSE, s.requireHealthyFeed)           // sse.go
	e.GET("/api/ws", s.handleWS, s.requireHealthyFeed)             // ws.go

	e.GET("/api/config", s.handleConfig) // config.go: the settings a client must know
	e.GET("/api/stats", s.handleStats)
	e.GET("/api/inspect", s.handleInspect, s.requireAdmin) // inspect.go: the last exchanges, as they crossed the socket
	e.GET("/metrics", echo.WrapHandler(s.metricsHandler()))
	e.Match(getHead, "/healthz", s.handleHealthz) // health.go

	e.POST("/api/drop", s.handleDrop, s.sameOrigin, s.requireAdmin)
	e.POST("/api/ticker", s.handleTicker, s.sameOrigin, s.requireAdmin)
	e.POST("/api/block", s.handleBlock, s.sameOrigin, s.requireAdmin) // block.go: refuse one client's WebSocket upgrades

	if s.cfg.Static != nil {
		e.Match(getHead, "/*", echo.StaticDirectoryHandler(s.cfg.Static, true))
	}
	return e
}

var getHead = []string{http.MethodGet, http.MethodHead}
