package transports

// The hub: every open WebSocket by client id, in shards of which each has
// a dispatcher that wakes its connections after each publish (their frames
// are written right there, see ws_writer.go) and drops the ones whose
// socket stopped taking bytes; and the cache that frames each message once
// for all of them.

import (
	"net/http"
	"runtime"
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

	shards []wsShard // one dispatcher each, one per core
	next   atomic.Uint32

	frames frameCache
}

// wsShard is a share of the connections, woken by one dispatcher.
type wsShard struct {
	mu    sync.Mutex
	conns map[*wsConn]struct{}
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
	frame []byte // the whole text frame, header and message
}

func newWSHub(checkOrigin func(*http.Request) bool, history int) *wsHub {
	h := &wsHub{
		byClient: map[string]*wsConn{},
		shards:   make([]wsShard, max(1, runtime.GOMAXPROCS(0))),
		frames:   frameCache{slots: make([]atomic.Pointer[encodedFrame], max(1, min(history, frameSlots)))},
		upgrader: websocket.Upgrader{
			// Small read buffers, and no write buffer at all: frames go
			// out as bytes of our own (ws_writer.go), so an idle
			// connection holds no 4 KiB buffer of net/http's.
			ReadBufferSize:  1024,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     checkOrigin,
		},
	}
	for i := range h.shards {
		h.shards[i].conns = map[*wsConn]struct{}{}
	}
	return h
}

// frame returns m as a text frame, encoding it only the first time, unless
// the cache is full of frames of newer messages. Never modify the bytes.
func (fc *frameCache) frame(m feed.Message) []byte {
	slot := &fc.slots[m.ID%uint64(len(fc.slots))]
	if p := slot.Load(); p != nil && p.id == m.ID {
		return p.frame
	}
	p := &encodedFrame{id: m.ID, frame: appendFrame(nil, opText, m.JSON)}
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

// register records wc in a shard, under its client id too, and returns the
// connection with that id it replaces, if any.
func (h *wsHub) register(wc *wsConn) (replaced *wsConn) {
	wc.shard = &h.shards[int(h.next.Add(1))%len(h.shards)]
	wc.shard.mu.Lock()
	wc.shard.conns[wc] = struct{}{}
	wc.shard.mu.Unlock()
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
	wc.shard.mu.Lock()
	delete(wc.shard.conns, wc)
	wc.shard.mu.Unlock()
	if wc.client == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byClient[wc.client] == wc {
		delete(h.byClient, wc.client)
	}
}

// wakeAll wakes every connection of the shard, after dropping those whose
// socket has taken no bytes for longer than sendTimeout: a write of theirs
// has been blocked on a full send buffer that long. Dropping here rather
// than in the writer catches a client whose writer is stuck in that write.
// A connection that is merely behind the feed (a burst moved the head
// before its writer ran) is woken like any other: it catches up, or is
// told what it missed.
func (sh *wsShard) wakeAll(sendTimeout time.Duration) {
	now := time.Now().UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for wc := range sh.conns {
		if wc.writer.blockedFor(now) > sendTimeout {
			wc.dropSlow()
			continue
		}
		wc.writer.wake()
	}
}

// dispatchWS starts one dispatcher per shard. Each wakes its connections
// after each publish (several publishes that come while it works are one
// wake), and once more when a shutdown begins, so each connection drains
// and says goodbye. The first WebSocket starts them (so Handler works
// without Serve); they run until the shutdown.
func (s *Server) dispatchWS() {
	for i := range s.ws.shards {
		go s.dispatchShard(&s.ws.shards[i])
	}
}

func (s *Server) dispatchShard(sh *wsShard) {
	last := s.feed.LastID()
	for {
		select {
		case <-s.feed.Changed(last):
			last = s.feed.LastID()
			sh.wakeAll(s.cfg.SendTimeout)
		case <-s.shutdown:
			sh.wakeAll(s.cfg.SendTimeout)
			return
		}
	}
}

// dropSlow drops a client that could not keep up: a goodbye 4001, and it
// resumes from its cursor (a hang-up, if even the close frame cannot be
// written in time). Never blocks.
func (wc *wsConn) dropSlow() {
	if wc.goodbye(closeTooSlow, "too slow: reconnect with your cursor") {
		wc.s.stats.ws.dropped.Add(1)
	}
}
