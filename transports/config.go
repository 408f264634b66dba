package transports

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// GET /api/config: what a client must know of this server's settings and
// may not guess, so the page repeats none of them: the limits a poll may
// ask for, the SSE retry and keepalive, the WebSocket heartbeat and what
// each close code means.

type clientConfig struct {
	Poll struct {
		LimitDefault int `json:"limit_default"`
		LimitMax     int `json:"limit_max"`
	} `json:"poll"`
	LongPoll struct {
		TimeoutMS    int64  `json:"timeout_ms"`     // the hold when a request names no ?timeout=
		TimeoutMaxMS int64  `json:"timeout_max_ms"` // the longest ?timeout= (which is in seconds)
		Writer       string `json:"writer"`         // "nethttp" (net/http) or "direct" (package direct)
	} `json:"longpoll"`
	SSE struct {
		RetryMS     int64  `json:"retry_ms"`
		KeepaliveMS int64  `json:"keepalive_ms"`
		Writer      string `json:"writer"` // "r3labs" (the library) or "direct" (package direct)
	} `json:"sse"`
	WS struct {
		HeartbeatMS int64       `json:"heartbeat_ms"`
		CloseCodes  []closeCode `json:"close_codes"`
	} `json:"ws"`
	MaxMessage        int    `json:"max_message"`
	PublishNeedsToken bool   `json:"publish_needs_token"`
	Node              string `json:"node,omitempty"` // which node answered, when several serve one feed
}

func (s *Server) handleConfig(c echo.Context) error {
	var cc clientConfig
	cc.Poll.LimitDefault, cc.Poll.LimitMax = defaultLimit, maxLimit
	cc.LongPoll.TimeoutMS, cc.LongPoll.TimeoutMaxMS = s.cfg.LongPollTimeout.Milliseconds(), maxLongPollTimeout*1000
	cc.LongPoll.Writer = s.cfg.LongPollWriter
	cc.SSE.RetryMS, cc.SSE.KeepaliveMS, cc.SSE.Writer = sseRetry.Milliseconds(), s.cfg.SSEKeepalive.Milliseconds(), s.cfg.SSEWriter
	cc.WS.HeartbeatMS, cc.WS.CloseCodes = s.cfg.Heartbeat.Milliseconds(), closeCodes
	cc.MaxMessage, cc.PublishNeedsToken = s.cfg.MaxMessage, s.cfg.PublishToken != ""
	cc.Node = s.cfg.Node
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cc)
}
