// WebSocket: GET /api/ws?since=N&epoch=E&client=C
//
// How it works: an HTTP request asks to "upgrade"; after the 101 answer the
// TCP connection carries WebSocket frames both ways, for as long as both
// sides like. The server sends each message as one text frame the moment it
// is published; the client can publish on the same connection. Nothing is
// resumed by the browser: the client keeps its cursor and reconnects with
// ?since= itself.
//
//	server: {"type":"hello","next":41,"epoch":"k3x9AbCd","heartbeat_ms":25000}
//	server: {"id":42,"time":1763773323456.789,"data":"hi"}
//	client: {"type":"publish","data":"yo","ref":"r1"}
//	server: {"type":"published","id":43,"ref":"r1"}
//	server: {"id":43,"time":1763773323460.125,"data":"yo"}
//
// What one message costs: a frame header of 2 bytes for a message under 126
// bytes, 4 bytes up to 64 KiB (server to client frames are not masked;
// client to server frames add a 4-byte mask). The handshake is paid once.
// With --compress and a client that offers permessage-deflate, a message
// is deflated once for every connection (fanout/frames.go): an 8.8 KB
// JSON message of repeated keys took 249 bytes on the socket, a 269-byte
// one 157.
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
// This file is the protocol: the upgrade, the read loop and the frames a
// client may send, and how a connection ends. It uses
// github.com/gorilla/websocket for the upgrade and for reading, in the
// shape of its chat example: a read pump per connection, which keeps
// reading (control frames are only handled while reading). The frames the
// server sends are ours, written by ws_writer.go (how they go out,
// cheaply); ws_clients.go knows the connections by client id; package
// fanout frames each message once for all, wakes them on each publish and
// finds the slow ones.
package transports

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"fourway/transports/fanout"
)

const (
	wsCloseGrace   = time.Second // time the client has to answer our close frame
	wsMaxBadFrames = 10          // bad frames (or refused publishes) in a row before close 1008
	wsEnvelope     = 1024        // room for the publish frame around its data
	wsMaxClientID  = 128         // bytes in a client id
)

// How a connection ends, in the words used everywhere in this package:
// a goodbye is a close frame with a code, after which the client has
// wsCloseGrace to answer with its own; a hang-up closes the socket with no
// goodbye, as a network failure would (/api/drop, a failed write). A client
// too slow to keep up is dropped: a goodbye 4001 if it can still be written,
// else a hang-up. Once either began, the connection is ending.

// wsConn is one WebSocket connection.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	client string
	addr   string // the client's address, for the publish rate
	token  string // the publish token the client gave at the upgrade
	live   *fanout.LiveConn
	// deflate: the connection negotiated permessage-deflate (--compress):
	// its messages go in compressed frames, and the client's may come so.
	deflate bool

	ending   atomic.Bool   // a goodbye was said, or the socket hung up: write nothing more
	refused  int32         // publishes refused in a row (token, rate), read pump only
	gone     chan struct{} // closed when the socket is hung up
	goneOnce sync.Once

	writer wsWriter      // ws_writer.go: how its frames go out
	shard  *fanout.Shard // the dispatcher that wakes it
}

func (s *Server) handleWS(c echo.Context) error {
	r := c.Request()
	if !websocket.IsWebSocketUpgrade(r) {
		return fail(c, http.StatusBadRequest, "this endpoint speaks WebSocket: send an Upgrade: websocket request")
	}
	if !s.originAllowed(r) {
		return fail(c, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" may not open a WebSocket here (see --allowed-origins)")
	}
	pos, err := s.startPosition(c, "")
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	token, ok := s.wsToken(c)
	if !ok {
		return refuse(c, errNoPublishToken)
	}
	client := c.QueryParam("client")
	if len(client) > wsMaxClientID {
		return fail(c, http.StatusBadRequest, "client must be at most "+strconv.Itoa(wsMaxClientID)+" bytes")
	}
	if s.shuttingDown() {
		return fail(c, http.StatusServiceUnavailable, errShuttingDown.Error())
	}
	conn, deflate, err := s.ws.upgrade(c.Response(), r, &s.stats.WS) // ws_clients.go
	if err != nil {
		return nil // the upgrader has answered the client
	}
	wc := &wsConn{s: s, conn: conn, client: client, addr: c.RealIP(), token: token, deflate: deflate, gone: make(chan struct{})}
	s.openWS(wc, pos)
	return nil // the connection is hijacked: echo must not write to it
}

// wsToken is the publish token of an upgrade request. Browsers cannot set
// headers on a WebSocket, so it may come in the query too. A wrong token
// is refused before the upgrade (ok is false); none at all makes a
// connection that reads but may not publish.
func (s *Server) wsToken(c echo.Context) (token string, ok bool) {
	token, given := bearer(c.Request())
	if q := c.QueryParam("token"); q != "" && !given {
		token, given = q, true
	}
	return token, !given || s.cfg.PublishToken == "" || tokenMatches(token, s.cfg.PublishToken)
}

// openWS starts an upgraded connection at pos: it counts it, replaces an
// older connection with the same client id, and starts the read pump and
// the writer, whose first frame is the hello.
func (s *Server) openWS(wc *wsConn, pos position) {
	lc, ok := s.live.Add("ws", wc.hangUp, s.cfg.MaxClients)
	if !ok {
		s.refuseWSAtLimit(wc.conn) // limit.go
		return
	}
	wc.live = lc
	wc.writer.init(wc, pos)
	s.live.SayGoodbyeWith(lc, func(why string) { wc.goodbye(closeNodeLost, why) }) // health.go
	s.stats.WS.Joined()
	s.streams.Add(1)
	wc.shard = s.subs.Add(wc)
	if old := s.ws.register(wc); old != nil {
		old.goodbye(closeReplaced, "replaced by a newer connection with the same client id")
	}
	wc.writer.Wake() // the hello, and what the cursor has to catch up on
	go wc.readPump()
}

// readPump reads the client's frames until the connection ends, then cleans
// up. It is the connection's one long-lived goroutine. Reading never stops,
// because control frames (ping, pong, close) are only processed while
// reading.
func (wc *wsConn) readPump() {
	defer wc.cleanUp()
	wc.watchForSilence()
	bad := 0
	for {
		kind, data, err := wc.readMessage()
		if err == errSaidGoodbye {
			continue // wait for the client's close frame, or the grace period
		}
		if err != nil {
			return
		}
		if wc.ending.Load() {
			continue // we said goodbye: only the client's close frame matters now
		}
		wc.heardFrom()
		if kind == websocket.BinaryMessage {
			wc.goodbye(closeUnsupported, "binary frames are not accepted: send JSON text frames")
			continue // wait for the client's close frame, or the grace period
		}
		reply, ok := wc.handleFrame(data)
		if ok {
			bad = 0
		} else if bad++; bad >= wsMaxBadFrames || wc.refused >= wsMaxBadFrames {
			wc.goodbye(closePolicy, "too many bad frames or refused publishes")
			continue
		}
		if !wc.writer.replyText(reply) {
			return
		}
	}
}

// errSaidGoodbye is readMessage's when the message it read was refused
// with a goodbye.
var errSaidGoodbye = errors.New("the message was refused with a goodbye")

// readMessage reads the client's next message. Its size is bounded twice:
// on the wire by the read limit (past it the library closes with 1009),
// and once inflated, for a compressed message (--compress): a few KiB of
// deflate can inflate to gigabytes (a deflate bomb), so reading stops one
// byte past the limit, holding no more than that, and the client is told
// 1009; the rest of its frames are skipped unread by the next NextReader.
// A compressed message that does not inflate is told 1007. Both are
// goodbyes (errSaidGoodbye).
func (wc *wsConn) readMessage() (kind int, data []byte, err error) {
	kind, r, err := wc.conn.NextReader()
	if err != nil {
		return 0, nil, err
	}
	limit := int64(wc.s.cfg.MaxMessage) + wsEnvelope
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	var corrupt flate.CorruptInputError
	switch {
	case err == nil && int64(len(data)) > limit:
		wc.goodbye(closeTooBig, "a message over the size limit, once inflated")
		return kind, nil, errSaidGoodbye
	case wc.deflate && (errors.As(err, &corrupt) || errors.Is(err, io.ErrUnexpectedEOF)):
		wc.goodbye(closeBadData, "a compressed message that does not inflate")
		return kind, nil, errSaidGoodbye
	}
	return kind, data, err
}

// watchForSilence sets the read limit and the read deadline: a connection
// from which nothing, not even a pong, arrives for two and a half
// heartbeats is dead. The client's pings are signs of life too. The
// library's own handlers of pings and close frames would write to the
// socket: here, their answers are frames for our writer (ws_writer.go).
func (wc *wsConn) watchForSilence() {
	c := wc.conn
	c.SetReadLimit(int64(wc.s.cfg.MaxMessage) + wsEnvelope) // on the wire; past it the library closes with 1009 (inflated: readMessage)
	wc.heardFrom()
	c.SetPongHandler(func(string) error { wc.heardFrom(); return nil })
	c.SetPingHandler(func(data string) error {
		wc.heardFrom()
		wc.writer.replyPong([]byte(data))
		return nil
	})
	c.SetCloseHandler(func(code int, _ string) error {
		wc.goodbye(code, "") // the answer to the client's goodbye echoes its code
		return nil
	})
}

// heardFrom pushes the read deadline back by two and a half heartbeats.
// After a goodbye only the grace period counts.
func (wc *wsConn) heardFrom() {
	if !wc.ending.Load() {
		_ = wc.conn.SetReadDeadline(time.Now().Add(wc.s.cfg.Heartbeat * 5 / 2))
	}
}

// goodbye says goodbye with code, once: the writer sends the close frame
// after what it is writing, and nothing after it; then the client has
// wsCloseGrace to answer. If the frame is not out within wsCloseGrace
// (the client stopped reading and its socket is full), the socket is hung
// up instead. It reports whether this call said it. Safe from any
// goroutine; never blocks.
func (wc *wsConn) goodbye(code int, reason string) bool {
	if wc.ending.Swap(true) {
		return false
	}
	bye := closeFrame(code, reason) // ws_writer.go
	wc.writer.farewell.Store(&bye)
	time.AfterFunc(wsCloseGrace, func() {
		select {
		case <-wc.writer.saidBye:
		default:
			wc.hangUp()
		}
	})
	wc.writer.Wake()
	return true
}

// saidGoodbye runs once the close frame is out: the client's answer must
// come within wsCloseGrace.
func (wc *wsConn) saidGoodbye() {
	close(wc.writer.saidBye)
	_ = wc.conn.NetConn().SetReadDeadline(time.Now().Add(wsCloseGrace))
}

// hangUp closes the socket without a goodbye, and releases a read pump
// that waits for the writer. Safe from any goroutine, any number of times.
func (wc *wsConn) hangUp() {
	wc.ending.Store(true)
	wc.conn.Close()
	wc.goneOnce.Do(func() { close(wc.gone) })
}

// hungUp reports whether the socket was hung up.
func (wc *wsConn) hungUp() bool {
	select {
	case <-wc.gone:
		return true
	default:
		return false
	}
}

// cleanUp runs when the read pump stops: the connection is over, once a
// goodbye on its way is out (the answer to the client's own goodbye,
// say), or its grace has passed.
func (wc *wsConn) cleanUp() {
	s := wc.s
	if wc.writer.farewell.Load() != nil {
		select {
		case <-wc.writer.saidBye:
		case <-wc.gone: // the grace passed, or a write failed
		}
	}
	wc.hangUp() // a writer still running stops at its next write
	wc.writer.stop()
	wc.shard.Remove(wc)
	s.ws.unregister(wc)
	s.live.Remove(wc.live)
	s.stats.WS.Left()
	s.streams.Done()
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
	if !utf8.Valid(data) { // RFC 6455 text frames are UTF-8; the library does not check
		return wsError("a text frame must be valid UTF-8", nil), false
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
		return wc.handlePublish(f.Data, ref)
	}
	return wsError(`unknown frame type `+strconv.Quote(f.Type)+`: use "publish" or "ping"`, ref), false
}

// handlePublish publishes the data of a publish frame, if this client may,
// and says so with its id.
func (wc *wsConn) handlePublish(data json.RawMessage, ref []byte) (reply []byte, ok bool) {
	if len(data) == 0 {
		return wsError(`a publish frame needs "data"`, ref), false
	}
	if no := wc.s.mayPublish(wc.addr, wc.token); no != nil {
		wc.refused++
		return wsRefusal(no, ref), false
	}
	wc.refused = 0
	m, err := wc.s.publish(data)
	if err != nil {
		return wsError(err.Error(), ref), false
	}
	b := []byte(`{"type":"published","id":` + strconv.FormatUint(m.ID, 10))
	if ref != nil {
		b = append(append(b, `,"ref":`...), ref...)
	}
	return append(b, '}'), true
}

func wsError(msg string, ref []byte) []byte {
	out := append([]byte(`{"type":"error","error":`), jsonString(msg)...)
	if ref != nil {
		out = append(append(out, `,"ref":`...), ref...)
	}
	return append(out, '}')
}

// wsRefusal is the error frame of a refused publish; a rate refusal says
// when to try again, as HTTP's Retry-After does.
func wsRefusal(no *refusal, ref []byte) []byte {
	b := wsError(no.msg, ref)
	if no.retryAfter > 0 {
		b = append(b[:len(b)-1], `,"retry_after_ms":`...)
		b = append(strconv.AppendInt(b, max(1, no.retryAfter.Milliseconds()), 10), '}')
	}
	return b
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
