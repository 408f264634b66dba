package transports

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes maps the whole API surface. No timeout middleware anywhere: it
// breaks SSE and WebSocket (see the package's lessons in sse.go and ws.go).
//
// Every middleware is composed with its handler once, here. echo composes
// what it is given per request (e.Use's chain in ServeHTTP, a route's own
// in the route's handler: a closure for each, every request), so e.Use
// gets one middleware that returns the chain made here, whose last step
// calls the handler the router found for this request, c.Handler(); and a
// route gets its handler with its middleware already applied.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Clients are addressed by their socket address: X-Forwarded-For is
	// written by anyone, so it is trusted from no one.
	e.IPExtractor = echo.ExtractIPDirect()
	chain := with(func(c echo.Context) error { return c.Handler()(c) },
		middleware.Recover(),
		s.countRequests,
		s.guard, // guard.go: Host, page headers, body and write deadlines
		s.inspectRequests,
		s.blockUpgrades)
	e.Use(func(echo.HandlerFunc) echo.HandlerFunc { return chain })

	e.POST("/api/messages", with(s.handlePublish, s.sameOrigin, s.requireHealthyFeed)) // publish.go

	// health.go: a node cut from its feed's broker sends readers elsewhere.
	e.GET("/api/poll", with(s.handlePoll, s.requireHealthyFeed))         // poll.go
	e.GET("/api/longpoll", with(s.handleLongPoll, s.requireHealthyFeed)) // longpoll.go
	e.GET("/api/sse", with(s.handleSSE, s.requireHealthyFeed))           // sse.go
	e.GET("/api/ws", with(s.handleWS, s.requireHealthyFeed))             // ws.go

	e.GET("/api/config", s.handleConfig) // config.go: the settings a client must know
	e.GET("/api/stats", s.handleStats)
	e.GET("/api/inspect", with(s.handleInspect, s.requireAdmin)) // inspect.go, wiremeter/inspect.go: the last exchanges, as they crossed the socket
	e.GET("/metrics", echo.WrapHandler(s.metricsHandler()))
	e.Match(getHead, "/healthz", s.handleHealthz) // health.go

	e.POST("/api/drop", with(s.handleDrop, s.sameOrigin, s.requireAdmin))
	e.POST("/api/ticker", with(s.handleTicker, s.sameOrigin, s.requireAdmin))
	e.POST("/api/block", with(s.handleBlock, s.sameOrigin, s.requireAdmin)) // block.go: refuse one client's WebSocket upgrades

	e.POST("/api/tunnel", with(s.handleTunnel, s.sameOrigin, s.requireAdmin)) // admin.go: silence one of the --links for a while

	if s.cfg.Static != nil {
		e.Match(getHead, "/*", echo.StaticDirectoryHandler(s.cfg.Static, true))
	}
	return e
}

// with returns h behind the middleware, the first given running first.
func with(h echo.HandlerFunc, middleware ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	return h
}

var getHead = []string{http.MethodGet, http.MethodHead}
