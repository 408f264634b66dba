package transports

// Blocking WebSocket for one client, as a proxy that does not pass the
// Upgrade would: a demo control for the page's "auto" panel, which starts
// on long polling, upgrades to WebSocket, and must fall back when the
// upgrade is refused (what Socket.IO and SockJS do).
//
// POST /api/block?client=C&ws=off cuts the WebSocket of client id C, if it
// has one, and from then on takes the Upgrade header off its requests to
// /api/ws, as such a proxy does: handleWS answers them 400, and the
// browser sees the upgrade fail. ws=on lifts it. Off for everyone, it
// costs one atomic load per request.

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

const maxBlocked = 1024 // client ids blocked at once, at most

// blockUpgrades takes the Upgrade off a blocked client's WebSocket request.
func (s *Server) blockUpgrades(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.blocked.n.Load() > 0 && c.Request().URL.Path == "/api/ws" {
			b := &s.blocked
			b.mu.Lock()
			_, blocked := b.ids[c.QueryParam("client")]
			b.mu.Unlock()
			if blocked {
				c.Request().Header.Del("Upgrade")
			}
		}
		return next(c)
	}
}

func (s *Server) handleBlock(c echo.Context) error {
	client := c.QueryParam("client")
	ws := c.QueryParam("ws")
	if client == "" || len(client) > wsMaxClientID || (ws != "on" && ws != "off") {
		return fail(c, http.StatusBadRequest, "give client (a WebSocket client id) and ws=off to block its upgrades, or ws=on to allow them")
	}
	b := &s.blocked
	b.mu.Lock()
	if b.ids == nil {
		b.ids = map[string]struct{}{}
	}
	if ws == "off" {
		if len(b.ids) >= maxBlocked {
			b.mu.Unlock()
			return fail(c, http.StatusServiceUnavailable, "too many clients blocked; allow some first")
		}
		b.ids[client] = struct{}{}
	} else {
		delete(b.ids, client)
	}
	b.n.Store(int64(len(b.ids)))
	b.mu.Unlock()

	cut := 0
	if ws == "off" {
		s.ws.mu.Lock()
		wc := s.ws.byClient[client]
		s.ws.mu.Unlock()
		if wc != nil {
			wc.hangUp()
			cut = 1
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"client": client, "ws": ws, "cut": cut})
}
