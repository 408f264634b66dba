package transports

// The hub: every open WebSocket by client id (the dispatchers of
// dispatch.go wake them), and the cache that frames each message once for
// all of them.

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed"
)

const (
	frameSlots = 1024    // messages whose frame is kept, at most (and at most --history)
	frameBytes = 8 << 20 // bytes of frames kept, at most
)

// wsHub knows the open connections by client id, and keeps each message's
// frame encoded once for all of them.
type wsHub struct {
	upgrader websocket.Upgrader

	mu       sync.Mutex
	byClient map[string]*wsConn

	frames frameCache
}

// frameCache keeps the frames of recent messages, bounded in count (by
// --history: an older message is not served from the feed anyway) and in
// bytes (so large messages cannot fill the heap).
type frameCache struct {
	slots []atomic.Pointer[encodedFrame] // message id % len -> its frame; read without a lock
	mu    sync.Mutex                     // taken to store a frame
	bytes int                            // size of the frames held, under mu
}

type encodedFrame struct {
	id    uint64
	time  float64 // with id, names the message: a feed whose epoch changes (a recreated JetStream stream) reuses ids
	frame []byte  // the whole text frame, header and message
}

func newWSHub(checkOrigin func(*http.Request) bool, history int) *wsHub {
	h := &wsHub{
		byClient: map[string]*wsConn{},
		frames:   frameCache{slots: make([]atomic.Pointer[encodedFrame], max(1, min(history, frameSlots)))},
		upgrader: websocket.Upgrader{
			// Small read buffers, and no write buffer at all: frames go
			// out as bytes of our own (ws_writer.go), so an idle
			// connection holds no 4 KiB buffer of net/http's. A client's
			// frames are small (pings, pongs, publishes); a larger one is
			// read in pieces.
			ReadBufferSize:  512,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     checkOrigin,
		},
	}
	return h
}

// frame returns m as a text frame, encoding it only the first time, unless
// the cache is full of frames of newer messages. Never modify the bytes.
func (fc *frameCache) frame(m feed.Message) []byte {
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if p := slot.Load(); p != nil && p.id == m.ID && p.time == m.Time {
		return p.frame
	}
	p := &encodedFrame{id: m.ID, time: m.Time, frame: appendFrame(nil, opText, m.JSON)}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	old := slot.Load()
	if old != nil && old.id > m.ID {
		return p.frame // a slow reader's old message: keep the newer frame
	}
	total := fc.bytes + len(p.frame)
	if old != nil {
		total -= len(old.frame)
	}
	if total <= frameBytes {
		slot.Store(p)
		fc.bytes = total
	}
	return p.frame
}

// held is the bytes of frames the cache keeps now.
func (fc *frameCache) held() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.bytes
}

// register records wc under its client id, and returns the connection
// with that id it replaces, if any.
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

// wake, blockedFor and dropSlow make a connection a subscriber of the
// dispatchers (dispatch.go).
func (wc *wsConn) wake()                              { wc.writer.wake() }
func (wc *wsConn) blockedFor(now int64) time.Duration { return wc.writer.blockedFor(now) }

// dropSlow drops a client that could not keep up: a goodbye 4001, and it
// resumes from its cursor (a hang-up, if even the close frame cannot be
// written in time). Never blocks.
func (wc *wsConn) dropSlow() {
	if wc.goodbye(closeTooSlow, "too slow: reconnect with your cursor") {
		wc.s.stats.WS.Dropped()
	}
}
