package transports

import (
	"net/http"
	"strconv"
	"time"

	"fourway/transports/fanout"

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
	// Heartbeats is what one heartbeat period costs one client on the
	// wire, in bytes, both ways, over HTTP/1.1 in the clear: the rule the
	// server counts heartbeats by, so that a client's figures need no copy
	// of it.
	Heartbeats struct {
		SSE int `json:"sse_bytes"` // the ": ping" comment in its chunk
		WS  int `json:"ws_bytes"`  // the server's ping and its pong, a client's {"type":"ping"} and our {"type":"pong"}
	} `json:"heartbeats"`
	TickerMS          int64  `json:"ticker_ms"` // the built-in ticker's period now (POST /api/ticker changes it), 0 when off
	MaxMessage        int    `json:"max_message"`
	PublishNeedsToken bool   `json:"publish_needs_token"`
	Node              string `json:"node,omitempty"` // which node answered, when several serve one feed
	// Compress says whether the server compresses for the clients that
	// ask (--compress): permessage-deflate on WebSockets, gzip on SSE and
	// poll answers.
	Compress bool `json:"compress"`

	// The emulated links in front of the server (--links), when there are some.
	Links []Link `json:"links,omitempty"`
}

// Link is an emulated network link in front of the server (--links,
// package transports/links): a client that connects to URL reaches this
// server through it, slower. GET /api/config lists the links; a page
// loaded through one is the server's own page (guard.go's originAllowed);
// POST /api/tunnel silences one for a while.
type Link struct {
	Name          string `json:"name"`
	URL           string `json:"url"`
	RTTMS         int64  `json:"rtt_ms"`
	JitterMS      int64  `json:"jitter_ms,omitempty"`
	DownKbps      int    `json:"down_kbps,omitempty"` // absent: not limited
	UpKbps        int    `json:"up_kbps,omitempty"`
	OutageEveryMS int64  `json:"outage_every_ms,omitempty"` // a silence of outage_ms every outage_every_ms (the train)
	OutageMS      int64  `json:"outage_ms,omitempty"`
	// Tunnel silences the link for d, both ways, closing nothing, then
	// brings it back.
	Tunnel func(d time.Duration) `json:"-"`
}

func (s *Server) handleConfig(c echo.Context) error {
	var cc clientConfig
	cc.Poll.LimitDefault, cc.Poll.LimitMax = defaultLimit, maxLimit
	cc.LongPoll.TimeoutMS, cc.LongPoll.TimeoutMaxMS = s.cfg.LongPollTimeout.Milliseconds(), maxLongPollTimeout*1000
	cc.LongPoll.Writer = s.cfg.LongPollWriter
	cc.SSE.RetryMS, cc.SSE.KeepaliveMS, cc.SSE.Writer = sseRetry.Milliseconds(), s.cfg.SSEKeepalive.Milliseconds(), s.cfg.SSEWriter
	cc.WS.HeartbeatMS, cc.WS.CloseCodes = s.cfg.Heartbeat.Milliseconds(), closeCodes
	cc.MaxMessage, cc.PublishNeedsToken = s.cfg.MaxMessage, s.cfg.PublishToken != ""
	cc.Node, cc.Compress = s.cfg.Node, s.cfg.Compress
	cc.Heartbeats.SSE, cc.Heartbeats.WS = sseHeartbeatBytes(), wsHeartbeatBytes()
	cc.TickerMS = s.ticker.period().Milliseconds()
	cc.Links = s.cfg.Links
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cc)
}

// sseHeartbeatBytes is one ": ping" comment as the SSE writers send it, in
// its HTTP/1.1 chunk: the size line in hex, CRLF, the comment, CRLF.
func sseHeartbeatBytes() int {
	comment := len(": ping\n\n")
	return len(strconv.FormatInt(int64(comment), 16)) + 2 + comment + 2
}

// wsHeartbeatBytes is one heartbeat period of a WebSocket client that
// answers the server's ping and sends its own JSON ping, as the page does:
// the server's ping frame (no payload) and the client's pong (masked: 4
// bytes of mask key), the client's {"type":"ping"} (masked) and the
// server's answer, as handleFrame gives it.
func wsHeartbeatBytes() int {
	const mask = 4
	ping := []byte(`{"type":"ping"}`)
	pong, _ := (&wsConn{}).handleFrame(ping)
	return len(fanout.AppendFrame(nil, fanout.OpPing, nil)) + len(fanout.AppendFrame(nil, fanout.OpPong, nil)) + mask +
		len(fanout.AppendFrame(nil, fanout.OpText, ping)) + mask + len(fanout.AppendFrame(nil, fanout.OpText, pong))
}
