// WebSocket: GET /api/ws?since=N&client=C
//
// How it works: an HTTP request asks to "upgrade"; after the 101 answer the
// TCP connection carries WebSocket frames both ways, for as long as both
// sides like. The server sends each message as one text frame the moment it
// is published; the client can publish on the same connection. Nothing is
// resumed by the browser: the client keeps its cursor and reconnects with
// ?since= itself.
//
// What one message costs: a frame header of 2 bytes for a message under 126
// bytes, 4 bytes up to 64 KiB (server to client frames are not masked;
// client to server frames add a 4-byte mask). The handshake is paid once.
//
// What breaks it: proxies that do not pass the Upgrade, idle timeouts on
// middleboxes (hence a ping every 25 s, and a connection from which nothing
// came for 2.5 periods is closed), and dead connections that TCP does not
// notice (the same ping finds them). The browser does not check the Origin
// for you: the server must, or any page can open a socket with your user's
// cookies.
//
// When to pick it: two-way and low latency (chat, games, collaboration), or
// many messages per second per client.
//
// This file uses github.com/gorilla/websocket as its chat example does: a
// read pump and a write pump per connection, and the write pump does every
// write, so there is only ever one writer (WriteControl, which the library
// allows from any goroutine, is used only for close and ping frames). Each
// message's frame is prepared once and reused for every connection.
package transports

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"fourway/feed"
)

const (
	wsBatch        = 64          // messages read from the feed at a time
	wsReplies      = 16          // replies (acks, pongs, errors) queued for the write pump
	wsCloseGrace   = time.Second // time the client has to answer our close frame
	wsMaxBadFrames = 10          // bad frames in a row before close 1008
	wsEnvelope     = 1024        // room for the publish frame around its data
	wsMaxClientID  = 128         // bytes in a client id
	preparedSlots  = 1024        // messages whose frame is kept prepared
)

// Close codes of the contract (see README.md).
const (
	closeGoingAway   = websocket.CloseGoingAway       // 1001 server shutting down: reconnect with backoff
	closeUnsupported = websocket.CloseUnsupportedData // 1003 a binary frame arrived: do not reconnect
	closePolicy      = websocket.ClosePolicyViolation // 1008 repeated bad frames: do not reconnect
	// 1009, a frame over the limit, is sent by the library (SetReadLimit).
	closeTryLater = websocket.CloseTryAgainLater // 1013 at the connection limit: reconnect later
	closeTooSlow  = 4001                         // could not keep up: reconnect at once with the cursor
	closeReplaced = 4500                         // a newer connection with the same client id: do not reconnect
)

// wsHub knows the open connections by client id, and keeps each message's
// frame prepared once for all of them.
type wsHub struct {
	upgrader websocket.Upgrader

	mu       sync.Mutex
	byClient map[string]*wsConn

	prepared [preparedSlots]atomic.Pointer[preparedFrame]
}

type preparedFrame struct {
	id    uint64
	frame *websocket.PreparedMessage
}

func newWSHub(checkOrigin func(*http.Request) bool) *wsHub {
	return &wsHub{
		byClient: map[string]*wsConn{},
		upgrader: websocket.Upgrader{
			// Small read buffers and pooled write buffers: an idle
			// connection then holds no 4 KiB buffer of net/http's.
			ReadBufferSize:  1024,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     checkOrigin,
		},
	}
}

// frame returns m as a prepared text frame, encoding it only the first time.
func (h *wsHub) frame(m feed.Message) (*websocket.PreparedMessage, error) {
	slot := &h.prepared[m.ID%preparedSlots]
	if p := slot.Load(); p != nil && p.id == m.ID {
		return p.frame, nil
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, m.JSON)
	if err != nil {
		return nil, err
	}
	slot.Store(&preparedFrame{id: m.ID, frame: pm})
	return pm, nil
}

// register records wc under its client id and returns the connection it
// replaces, if any.
func (h *wsHub) register(wc *wsConn) (replaced *wsConn) {
	if wc.client == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	replaced = h.byClient[wc.client]
	h.byClient[wc.client] = wc
	return replaced
}

func (h *wsHub) unregister(wc *wsConn) {
	if wc.client == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byClient[wc.client] == wc {
		delete(h.byClient, wc.client)
	}
}

// originAllowed is the upgrader's CheckOrigin: a request without Origin
// (not a browser) passes; a browser's must be this host or one listed in
// --allowed-origins.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

func (s *Server) handleWS(c echo.Context) error {
	r := c.Request()
	if !websocket.IsWebSocketUpgrade(r) {
		return fail(c, http.StatusBadRequest, "this endpoint speaks WebSocket: send an Upgrade: websocket request")
	}
	if !s.originAllowed(r) {
		return fail(c, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" may not open a WebSocket here (see --allowed-origins)")
	}
	cursor, err := s.startCursor(c, "")
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	client := c.QueryParam("client")
	if len(client) > wsMaxClientID {
		return fail(c, http.StatusBadRequest, "client must be at most "+strconv.Itoa(wsMaxClientID)+" bytes")
	}
	if s.isClosing() {
		return fail(c, http.StatusServiceUnavailable, errClosing.Error())
	}
	conn, err := s.ws.upgrader.Upgrade(c.Response(), r, nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	lc, ok := s.live.add("ws", conn.NetConn(), s.cfg.MaxClients)
	if !ok {
		deadline := time.Now().Add(s.cfg.WriteTimeout)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeTryLater, "the server is at its connection limit"), deadline)
		conn.Close()
		return nil
	}
	wc := &wsConn{
		s: s, conn: conn, client: client, live: lc,
		replies:  make(chan []byte, wsReplies),
		quit:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
	s.stats.ws.clients.Add(1)
	if old := s.ws.register(wc); old != nil {
		old.close(closeReplaced, "replaced by a newer connection with the same client id")
	}
	s.streams.Add(2)
	go wc.writePump(cursor)
	go wc.readPump()
	return nil // the connection is hijacked: echo must not write to it
}

// wsConn is one WebSocket connection and its two pumps.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	client string
	live   *liveConn

	replies   chan []byte   // frames for the write pump from the read pump
	quit      chan struct{} // closed once a close frame was sent
	closeOnce sync.Once
	readDone  chan struct{} // closed when the read pump returns
}

// close sends a close frame with code (safe from any goroutine) and tells
// the write pump to stop.
func (wc *wsConn) close(code int, reason string) {
	wc.closeOnce.Do(func() {
		deadline := time.Now().Add(wc.s.cfg.WriteTimeout)
		_ = wc.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
		close(wc.quit)
	})
}

// writePump sends the hello, then every message after the cursor, the
// replies of the read pump, and a ping every heartbeat. It is the only
// goroutine that writes data frames to the connection.
func (wc *wsConn) writePump(cursor uint64) {
	s := wc.s
	defer wc.finish()
	ping := time.NewTicker(s.cfg.Heartbeat)
	defer ping.Stop()

	hello := `{"type":"hello","next":` + strconv.FormatUint(cursor, 10) +
		`,"heartbeat_ms":` + strconv.FormatInt(s.cfg.Heartbeat.Milliseconds(), 10) + `}`
	if !wc.write([]byte(hello)) {
		return
	}
	live := false // caught up with the feed at least once
	for {
		for {
			if live && s.feed.LastID()-cursor > uint64(s.cfg.SendQueue) {
				s.stats.ws.dropped.Add(1)
				wc.close(closeTooSlow, "too slow: reconnect with your cursor")
				return
			}
			p := s.feed.Read(cursor, wsBatch)
			if p.Missed > 0 && !wc.write([]byte(`{"type":"missed","count":`+strconv.FormatUint(p.Missed, 10)+`}`)) {
				return
			}
			if p.Reset && !wc.write([]byte(`{"type":"reset"}`)) {
				return
			}
			for _, m := range p.Messages {
				if !wc.writeMessage(m) {
					return
				}
			}
			cursor = p.Next
			if len(p.Messages) < wsBatch {
				break
			}
		}
		live = true
		if s.isClosing() && cursor >= s.feed.LastID() {
			wc.close(closeGoingAway, "the server is shutting down")
			return
		}
		select {
		case <-s.feed.Changed(cursor):
		case b := <-wc.replies:
			if !wc.write(b) {
				return
			}
		case <-ping.C:
			if !wc.wrote(wc.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout))) {
				return
			}
		case <-s.closing:
		case <-wc.quit:
			return
		case <-wc.readDone:
			return
		}
	}
}

// write sends one text frame; false means the connection is done.
func (wc *wsConn) write(b []byte) bool {
	_ = wc.conn.SetWriteDeadline(time.Now().Add(wc.s.cfg.WriteTimeout))
	return wc.wrote(wc.conn.WriteMessage(websocket.TextMessage, b))
}

// wrote checks the outcome of a write. A write that missed its deadline
// means a client that stopped reading: it is dropped like one that fell
// behind, without a close frame, since nothing more can be written.
func (wc *wsConn) wrote(err error) bool {
	var ne net.Error // the library hides os.ErrDeadlineExceeded behind its own net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		wc.s.stats.ws.dropped.Add(1)
	}
	return err == nil
}

func (wc *wsConn) writeMessage(m feed.Message) bool {
	pm, err := wc.s.ws.frame(m)
	if err != nil {
		return false
	}
	_ = wc.conn.SetWriteDeadline(time.Now().Add(wc.s.cfg.WriteTimeout))
	if !wc.wrote(wc.conn.WritePreparedMessage(pm)) {
		return false
	}
	wc.s.stats.ws.messages.Add(1)
	return true
}

// finish runs when the write pump stops: it gives the client a moment to
// answer a close frame, then closes the socket and forgets the connection.
func (wc *wsConn) finish() {
	s := wc.s
	select {
	case <-wc.readDone:
	case <-time.After(wsCloseGrace):
	}
	wc.conn.Close()
	<-wc.readDone
	s.ws.unregister(wc)
	s.live.remove(wc.live)
	s.stats.ws.clients.Add(-1)
	s.streams.Done()
}

// readPump reads the client's frames until the connection ends. Reading
// never stops, because control frames (ping, pong, close) are only
// processed while reading.
func (wc *wsConn) readPump() {
	s := wc.s
	defer s.streams.Done()
	defer close(wc.readDone)
	c := wc.conn
	c.SetReadLimit(int64(s.cfg.MaxMessage) + wsEnvelope) // past it the library closes with 1009
	// A connection from which nothing, not even a pong, arrives for two
	// and a half heartbeats is dead.
	silence := s.cfg.Heartbeat * 5 / 2
	_ = c.SetReadDeadline(time.Now().Add(silence))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(silence)) })
	bad := 0
	for {
		kind, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(silence))
		if kind == websocket.BinaryMessage {
			wc.close(closeUnsupported, "binary frames are not accepted: send JSON text frames")
			return
		}
		reply, ok := wc.handleFrame(data)
		if ok {
			bad = 0
		} else if bad++; bad >= wsMaxBadFrames {
			wc.close(closePolicy, "too many bad frames")
			return
		}
		select {
		case wc.replies <- reply:
		case <-wc.quit:
			return
		}
	}
}

// wsFrame is a frame from a client.
type wsFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	Ref  json.RawMessage `json:"ref"`
}

// handleFrame answers one text frame from the client; ok is false for a bad
// frame, which gets an error frame.
func (wc *wsConn) handleFrame(data []byte) (reply []byte, ok bool) {
	if string(data) == "ping" {
		return []byte("pong"), true
	}
	var f wsFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return wsError(`a frame must be a JSON object such as {"type":"publish","data":"hi"}, or the text ping`, nil), false
	}
	ref := compactRef(f.Ref)
	switch f.Type {
	case "ping":
		return []byte(`{"type":"pong"}`), true
	case "publish":
		if len(f.Data) == 0 {
			return wsError(`a publish frame needs "data"`, ref), false
		}
		m, err := wc.s.publish(f.Data)
		if err != nil {
			return wsError(err.Error(), ref), false
		}
		b := []byte(`{"type":"published","id":` + strconv.FormatUint(m.ID, 10))
		if ref != nil {
			b = append(append(b, `,"ref":`...), ref...)
		}
		return append(b, '}'), true
	}
	return wsError(`unknown frame type `+strconv.Quote(f.Type)+`: use "publish" or "ping"`, ref), false
}

func wsError(msg string, ref []byte) []byte {
	b, _ := json.Marshal(msg)
	out := append([]byte(`{"type":"error","error":`), b...)
	if ref != nil {
		out = append(append(out, `,"ref":`...), ref...)
	}
	return append(out, '}')
}

func compactRef(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return nil
	}
	return buf.Bytes()
}
