package transports

// The hub: every open WebSocket by client id, the dispatcher that wakes
// them all after each publish and drops the ones whose socket stopped
// taking bytes, and the cache that prepares each message's frame once for
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
	frameSlots = 1024    // messages whose frame is kept prepared, at most (and at most --history)
	frameBytes = 8 << 20 // bytes of prepared frames kept, at most
)

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

// wakeAll wakes every connection's writer, after dropping those whose
// socket has taken no bytes for longer than sendTimeout: a write of theirs
// has been blocked on a full send buffer that long. Dropping here rather
// than in the writer catches a client whose writer is stuck in that
// write. A connection that is merely behind the feed (a burst moved the
// head before its writer ran) is woken like any other: it catches up, or is
// told what it missed.
func (h *wsHub) wakeAll(sendTimeout time.Duration) {
	now := time.Now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for wc := range h.conns {
		if wc.writer.blockedFor(now) > sendTimeout {
			wc.dropSlow()
			continue
		}
		wc.writer.wake()
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
		case <-s.shutdown:
			s.ws.wakeAll(s.cfg.SendTimeout)
			return
		}
	}
}

// dropSlow drops a client that could not keep up: a goodbye 4001, and it
// resumes from its cursor (a hang-up, if even the close frame cannot be
// written in time). Never blocks.
func (wc *wsConn) dropSlow() {
	if !wc.ending.Swap(true) {
		wc.s.stats.ws.dropped.Add(1)
		go wc.writeGoodbye(closeTooSlow, "too slow: reconnect with your cursor")
	}
}
