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
// This file uses github.com/gorilla/websocket in the shape of its chat
// example, a read pump and a write pump, with one change for memory: the
// read pump is the connection's only long-lived goroutine, and the write
// pump runs only while there is something to write. The hub's dispatcher
// wakes every connection after a publish; a wake starts the connection's
// write pump unless it is already running, so there is at most one writer
// per connection (WriteControl, which the library allows from any
// goroutine, is used only for close frames). An idle connection thus costs
// one goroutine, not two (a pump lingers for a second after its last write,
// so a busy connection keeps it). Each message's frame is prepared once and reused
// for every connection.
package transports

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"fourway/feed"
)

const (
	wsBatch        = 64                    // messages read from the feed at a time
	wsReplies      = 64                    // replies (acks, pongs, errors) waiting for the write pump
	wsCloseGrace   = time.Second           // time the client has to answer our close frame
	wsMaxBadFrames = 10                    // bad frames in a row before close 1008
	wsEnvelope     = 1024                  // room for the publish frame around its data
	wsMaxClientID  = 128                   // bytes in a client id
	wsLinger       = 25 * time.Millisecond // how long an idle write pump waits for more work before it ends
	frameSlots     = 1024                  // messages whose frame is kept prepared, at most (and at most --history)
	frameBytes     = 8 << 20               // bytes of prepared frames kept, at most
)

// Close codes of the contract (see README.md).
const (
	closeGoingAway   = websocket.CloseGoingAway       // 1001 server shutting down: reconnect with backoff
	closeUnsupported = websocket.CloseUnsupportedData // 1003 a binary frame arrived: do not reconnect
	closePolicy      = websocket.ClosePolicyViolation // 1008 repeated bad frames: do not reconnect
	closeTooBig      = websocket.CloseMessageTooBig   // 1009 a frame over the limit (sent by the library, see SetReadLimit)
	closeTryLater    = websocket.CloseTryAgainLater   // 1013 at the connection limit: reconnect later
	closeTooSlow     = 4001                           // could not keep up: reconnect at once with the cursor
	closeReplaced    = 4500                           // a newer connection with the same client id: do not reconnect
)

// closeCode is one row of the close-code table that GET /api/config
// serves, so that clients need not keep a copy.
type closeCode struct {
	Code      int    `json:"code"`
	Meaning   string `json:"meaning"`
	Reconnect string `json:"reconnect"` // "now" (with the cursor), "backoff" or "never"
}

var closeCodes = []closeCode{
	{closeGoingAway, "the server is shutting down, after sending every acknowledged message", "backoff"},
	{closeUnsupported, "a binary frame arrived", "never"},
	{closePolicy, "ten bad frames, or ten refused publishes, in a row", "never"},
	{closeTooBig, "a frame over the size limit", "never"},
	{closeTryLater, "the server is at its connection limit", "backoff"},
	{closeTooSlow, "this client could not keep up and was dropped", "now"},
	{closeReplaced, "a newer connection with the same client id replaced this one", "never"},
}

// wsHub knows the open connections by client id, and keeps each message's
// frame prepared once for all of them.
type wsHub struct {
	upgrader websocket.Upgrader

	mu       sync.Mutex
	conns    map[*wsConn]struct{} // every open connection, to wake
	byClient map[string]*wsConn

	frames frameCache
}

// frameCache keeps the prepared frames of recent messages, bounded in
// count (by --history: an older message is not served from the feed
// anyway) and in bytes (so large messages cannot fill the heap).
type frameCache struct {
	slots []atomic.Pointer[preparedFrame] // message id % len -> its frame; read without a lock
	mu    sync.Mutex                      // taken to store a frame
	bytes int                             // size of the frames held, under mu
}

type preparedFrame struct {
	id    uint64
	size  int // bytes held: the data and the encoded frame
	frame *websocket.PreparedMessage
}

func newWSHub(checkOrigin func(*http.Request) bool, history int) *wsHub {
	return &wsHub{
		conns:    map[*wsConn]struct{}{},
		byClient: map[string]*wsConn{},
		frames:   frameCache{slots: make([]atomic.Pointer[preparedFrame], max(1, min(history, frameSlots)))},
		upgrader: websocket.Upgrader{
			// Small read buffers and pooled write buffers: an idle
			// connection then holds no 4 KiB buffer of net/http's.
			ReadBufferSize:  1024,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     checkOrigin,
		},
	}
}

// frame returns m as a prepared text frame, encoding it only the first
// time, unless the cache is full of frames of newer messages.
func (fc *frameCache) frame(m feed.Message) (*websocket.PreparedMessage, error) {
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if p := slot.Load(); p != nil && p.id == m.ID {
		return p.frame, nil
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, m.JSON)
	if err != nil {
		return nil, err
	}
	p := &preparedFrame{id: m.ID, size: 2*len(m.JSON) + 16, frame: pm}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	old := slot.Load()
	if old != nil && old.id > m.ID {
		return pm, nil // a slow reader's old message: keep the newer frame
	}
	total := fc.bytes + p.size
	if old != nil {
		total -= old.size
	}
	if total <= frameBytes {
		slot.Store(p)
		fc.bytes = total
	}
	return pm, nil
}

// held is the bytes of prepared frames the cache keeps now.
func (fc *frameCache) held() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.bytes
}

// register records wc, under its client id too, and returns the
// connection with that id it replaces, if any.
func (h *wsHub) register(wc *wsConn) (replaced *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[wc] = struct{}{}
	if wc.client != "" {
		replaced = h.byClient[wc.client]
		h.byClient[wc.client] = wc
	}
	return replaced
}

func (h *wsHub) unregister(wc *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, wc)
	if wc.client != "" && h.byClient[wc.client] == wc {
		delete(h.byClient, wc.client)
	}
}

// wakeAll wakes every connection's write pump, after dropping those whose
// socket has taken no bytes for longer than sendTimeout: a write of theirs
// has been blocked on a full send buffer that long. Dropping here rather
// than in the write pump catches a client whose pump is stuck in that
// write. A connection that is merely behind the feed (a burst moved the
// head before its pump ran) is woken like any other: it catches up, or is
// told what it missed.
func (h *wsHub) wakeAll(sendTimeout time.Duration) {
	now := time.Now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for wc := range h.conns {
		if since := wc.writingSince.Load(); since != 0 && time.Duration(now-since) > sendTimeout {
			wc.tooSlow()
			continue
		}
		wc.wake()
	}
}

// dispatchWS wakes every connection after each publish (several
// publishes that come while it works are one wake), and once more when a
// shutdown begins, so each connection drains and says goodbye. The first
// WebSocket starts it (so Handler works without Serve); it runs until the
// shutdown.
func (s *Server) dispatchWS() {
	last := s.feed.LastID()
	for {
		select {
		case <-s.feed.Changed(last):
			last = s.feed.LastID()
			s.ws.wakeAll(s.cfg.SendTimeout)
		case <-s.closing:
			s.ws.wakeAll(s.cfg.SendTimeout)
			return
		}
	}
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
	// Browsers cannot set headers on a WebSocket, so the publish token may
	// come in the query too. A wrong token is refused before the upgrade;
	// none at all makes a connection that reads but may not publish.
	token, given := bearer(r)
	if q := c.QueryParam("token"); q != "" && !given {
		token, given = q, true
	}
	if given && s.cfg.PublishToken != "" && !tokenMatches(token, s.cfg.PublishToken) {
		return refuse(c, errNoPublishToken)
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
	wc := &wsConn{
		s: s, conn: conn, client: client, addr: c.RealIP(), token: token,
		epoch: pos.epoch,
		nudge: make(chan struct{}, 1),
		taken: make(chan struct{}, 1),
		gone:  make(chan struct{}),
	}
	lc, ok := s.live.add("ws", wc.cutNow, s.cfg.MaxClients)
	if !ok {
		deadline := time.Now().Add(s.cfg.WriteTimeout)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeTryLater, "the server is at its connection limit"), deadline)
		conn.Close()
		return nil
	}
	wc.live = lc
	s.dispatcher.Do(func() { go s.dispatchWS() })
	wc.cursor.Store(pos.cursor)
	wc.ping = time.AfterFunc(s.cfg.Heartbeat, func() { wc.pingDue.Store(true); wc.wake() })
	s.stats.ws.clients.Add(1)
	s.streams.Add(1)
	if old := s.ws.register(wc); old != nil {
		go old.close(closeReplaced, "replaced by a newer connection with the same client id")
	}
	wc.wake() // the hello, and what the cursor has to catch up on
	go wc.readPump()
	return nil // the connection is hijacked: echo must not write to it
}

// wsConn is one WebSocket connection.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	client string
	addr   string // the client's address, for the publish rate
	token  string // the publish token the client gave at the upgrade
	live   *liveConn

	wakes     atomic.Int64  // wakes not yet served; the write pump runs while > 0
	nudge     chan struct{} // wakes a lingering write pump
	repliesMu sync.Mutex
	replies   [][]byte      // frames for the write pump from the read pump; nil when idle
	taken     chan struct{} // signalled when the write pump takes the replies
	gone      chan struct{} // closed when the socket is cut
	goneOnce  sync.Once
	pingDue   atomic.Bool // set by the heartbeat timer
	ping      *time.Timer // fires every heartbeat
	closing   atomic.Bool // a close frame was sent, or the socket is being cut

	// Written by the write pump only (one runs at a time); read by the
	// dispatcher to find connections whose socket stopped taking bytes.
	cursor       atomic.Uint64 // the last id written
	writingSince atomic.Int64  // UnixNano when the write in progress began, 0 between writes
	epoch        string        // the epoch of cursor ("" until the first read, if the client named none)
	helloSent    bool

	refused int // publishes refused in a row (token, rate), read pump only
}

// wake asks the write pump to look for work, starting it if it is not
// running. Safe from any goroutine; never blocks.
func (wc *wsConn) wake() {
	if wc.wakes.Add(1) == 1 {
		go wc.writePump()
		return
	}
	select { // a running pump sees the count change; a lingering one needs a nudge
	case wc.nudge <- struct{}{}:
	default:
	}
}

// writePump writes everything there is to write, then lingers for wsLinger
// in case more comes (a busy connection keeps its pump, and the stack it
// grew), then stops. Only one runs at a time for a connection: it is
// started by the wake that finds the counter at zero, and it sets the
// counter back to zero only when no wake came in since it last looked.
func (wc *wsConn) writePump() {
	linger := time.NewTimer(wsLinger)
	defer linger.Stop()
	for {
		n := wc.wakes.Load()
		if !wc.writeAll() {
			wc.cut()
			return
		}
		if wc.wakes.Load() != n {
			continue
		}
		linger.Reset(wsLinger)
		select {
		case <-wc.nudge:
			continue
		case <-linger.C:
		case <-wc.gone:
		}
		if wc.wakes.CompareAndSwap(n, 0) {
			return
		}
	}
}

// writeAll sends the hello, every message after the cursor, the read
// pump's replies and a due ping. It returns false when the connection must
// end: a write failed, or a close frame was sent.
func (wc *wsConn) writeAll() bool {
	s := wc.s
	if wc.closing.Load() {
		return false
	}
	if !wc.helloSent {
		wc.helloSent = true
		epoch := wc.epoch
		if epoch == "" {
			epoch = s.feed.Epoch()
		}
		hello := `{"type":"hello","next":` + strconv.FormatUint(wc.cursor.Load(), 10) + `,"epoch":"` + epoch +
			`","heartbeat_ms":` + strconv.FormatInt(s.cfg.Heartbeat.Milliseconds(), 10) + `}`
		if !wc.write([]byte(hello)) {
			return false
		}
	}
	for {
		p := s.feed.Read(wc.epoch, wc.cursor.Load(), wsBatch)
		wc.epoch = p.Epoch
		if p.Reset && !wc.write([]byte(`{"type":"reset","epoch":"`+p.Epoch+`"}`)) {
			return false
		}
		if p.Missed > 0 && !wc.write([]byte(`{"type":"missed","missed":`+strconv.FormatUint(p.Missed, 10)+`}`)) {
			return false
		}
		for _, m := range p.Messages {
			if wc.closing.Load() || !wc.writeMessage(m) {
				return false // dropped or cut meanwhile: let the close frame through
			}
			wc.cursor.Store(m.ID)
		}
		wc.cursor.Store(p.Next)
		if !p.More {
			break
		}
	}
	wc.repliesMu.Lock()
	replies := wc.replies
	wc.replies = nil
	wc.repliesMu.Unlock()
	select {
	case wc.taken <- struct{}{}:
	default:
	}
	for _, b := range replies {
		if !wc.write(b) {
			return false
		}
	}
	if wc.pingDue.Swap(false) {
		wc.writing()
		if !wc.wrote(wc.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout))) {
			return false
		}
		wc.ping.Reset(s.cfg.Heartbeat)
	}
	if s.isClosing() && wc.cursor.Load() >= s.feed.LastID() {
		wc.close(closeGoingAway, "the server is shutting down")
		return false
	}
	return true
}

// write sends one text frame; false means the connection is done.
func (wc *wsConn) write(b []byte) bool {
	_ = wc.conn.SetWriteDeadline(wc.writing().Add(wc.s.cfg.WriteTimeout))
	return wc.wrote(wc.conn.WriteMessage(websocket.TextMessage, b))
}

func (wc *wsConn) writeMessage(m feed.Message) bool {
	pm, err := wc.s.ws.frames.frame(m)
	if err != nil {
		return false
	}
	_ = wc.conn.SetWriteDeadline(wc.writing().Add(wc.s.cfg.WriteTimeout))
	if !wc.wrote(wc.conn.WritePreparedMessage(pm)) {
		return false
	}
	wc.s.stats.ws.messages.Add(1)
	return true
}

// writing marks the start of a write, for the dispatcher's check, and
// returns the time.
func (wc *wsConn) writing() time.Time {
	now := time.Now()
	wc.writingSince.Store(now.UnixNano())
	return now
}

// wrote checks the outcome of a write. A write that missed its deadline
// means a client that stopped reading: it is dropped like one whose socket
// stopped taking bytes, without a close frame, since nothing more can be
// written.
func (wc *wsConn) wrote(err error) bool {
	wc.writingSince.Store(0)
	var ne net.Error // the library hides os.ErrDeadlineExceeded behind its own net.Error
	if errors.As(err, &ne) && ne.Timeout() && !wc.closing.Swap(true) {
		wc.s.stats.ws.dropped.Add(1)
		wc.cutNow()
	}
	return err == nil
}

// close says goodbye with code. Safe from any goroutine; it may block for
// up to wsCloseGrace, so callers that must not wait run it in a goroutine.
func (wc *wsConn) close(code int, reason string) {
	if !wc.closing.Swap(true) {
		wc.sendClose(code, reason)
	}
}

// sendClose writes the close frame and gives the client wsCloseGrace to
// answer it. When the frame cannot even be written in that time (the client
// stopped reading and the socket is full), the socket is cut instead.
func (wc *wsConn) sendClose(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	if wc.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsCloseGrace)) != nil {
		wc.cutNow()
		return
	}
	_ = wc.conn.NetConn().SetReadDeadline(time.Now().Add(wsCloseGrace))
}

// tooSlow drops a client that could not keep up: close 4001, and it
// resumes from its cursor. Never blocks.
func (wc *wsConn) tooSlow() {
	if !wc.closing.Swap(true) {
		wc.s.stats.ws.dropped.Add(1)
		go wc.sendClose(closeTooSlow, "too slow: reconnect with your cursor")
	}
}

// cut ends the connection from the write side: after a close frame the
// read pump waits for the client's answer (or the grace period); after a
// failed write the socket is closed at once.
func (wc *wsConn) cut() {
	if !wc.closing.Swap(true) {
		wc.cutNow()
	}
}

// cutNow closes the socket without a goodbye, as /api/drop and a failed
// write do, and releases a read pump that waits for the write pump.
func (wc *wsConn) cutNow() {
	wc.closing.Store(true)
	wc.conn.Close()
	wc.goneOnce.Do(func() { close(wc.gone) })
}

// readPump reads the client's frames until the connection ends, then cleans
// up. It is the connection's one long-lived goroutine. Reading never stops,
// because control frames (ping, pong, close) are only processed while
// reading.
func (wc *wsConn) readPump() {
	s := wc.s
	defer wc.finish()
	c := wc.conn
	c.SetReadLimit(int64(s.cfg.MaxMessage) + wsEnvelope) // past it the library closes with 1009
	// A connection from which nothing, not even a pong, arrives for two
	// and a half heartbeats is dead.
	silence := s.cfg.Heartbeat * 5 / 2
	extend := func() {
		if !wc.closing.Load() { // after a close frame, only the grace period counts
			_ = c.SetReadDeadline(time.Now().Add(silence))
		}
	}
	extend()
	c.SetPongHandler(func(string) error { extend(); return nil })
	c.SetPingHandler(func(data string) error { // the client's pings are signs of life too
		extend()
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(s.cfg.WriteTimeout))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil // as the library's own ping handler: a failed pong is not fatal here
		}
		return err
	})
	bad := 0
	for {
		kind, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if wc.closing.Load() {
			continue // we said goodbye: only the client's close frame matters now
		}
		extend()
		if kind == websocket.BinaryMessage {
			wc.close(closeUnsupported, "binary frames are not accepted: send JSON text frames")
			continue // wait for the client's close frame, or the grace period
		}
		reply, ok := wc.handleFrame(data)
		if ok {
			bad = 0
		} else if bad++; bad >= wsMaxBadFrames || wc.refused >= wsMaxBadFrames {
			wc.close(closePolicy, "too many bad frames or refused publishes")
			continue
		}
		if !wc.queueReply(reply) {
			return
		}
	}
}

// queueReply hands a reply to the write pump. When wsReplies are already
// waiting, the read pump waits too (the client then feels TCP's
// backpressure), but only for one write timeout: a client that does not
// read its answers for that long is too slow. It returns false when the
// socket was cut while waiting.
func (wc *wsConn) queueReply(reply []byte) bool {
	var timeout <-chan time.Time
	for {
		wc.repliesMu.Lock()
		room := len(wc.replies) < wsReplies
		if room {
			wc.replies = append(wc.replies, reply)
		}
		wc.repliesMu.Unlock()
		wc.wake()
		if room {
			return true
		}
		if timeout == nil {
			timeout = time.After(wc.s.cfg.WriteTimeout)
		}
		select {
		case <-wc.taken:
		case <-wc.gone:
			return false
		case <-timeout:
			wc.tooSlow()
			return true // keep reading, for the client's close frame
		}
	}
}

// finish runs when the read pump stops: the connection is over.
func (wc *wsConn) finish() {
	s := wc.s
	wc.cutNow() // a write pump still running stops at its next check
	wc.ping.Stop()
	s.ws.unregister(wc)
	s.live.remove(wc.live)
	s.stats.ws.clients.Add(-1)
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
		if len(f.Data) == 0 {
			return wsError(`a publish frame needs "data"`, ref), false
		}
		if no := wc.s.mayPublish(wc.addr, wc.token); no != nil {
			wc.refused++
			return wsRefusal(no, ref), false
		}
		wc.refused = 0
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
