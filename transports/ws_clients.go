package transports

// The open WebSockets by client id, so that a newer connection with the
// same id replaces the older one (close 4500), and the upgrader that opens
// them.

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"

	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

// wsClients knows the open connections by client id, and keeps each
// message's frame encoded once for all of them (fanout/frames.go).
type wsClients struct {
	upgrader websocket.Upgrader

	mu       sync.Mutex
	byClient map[string]*wsConn

	frames *fanout.FrameCache
}

func newWSClients(checkOrigin func(*http.Request) bool, history int) *wsClients {
	return &wsClients{
		byClient: map[string]*wsConn{},
		frames:   fanout.NewFrameCache(history),
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
}

// upgrade answers r's upgrade with 101 and returns the connection, whose
// counting conn then follows the client's frames for t, counting them by
// kind (wiremeter/parts.go). On an error the upgrader has answered.
func (h *wsClients) upgrade(w http.ResponseWriter, r *http.Request, t *wiremeter.Counters) (*websocket.Conn, error) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err == nil {
		wiremeter.FollowFrames(r, t)
	}
	return conn, err
}

// register records wc under its client id, and returns the connection
// with that id it replaces, if any.
func (h *wsClients) register(wc *wsConn) (replaced *wsConn) {
	if wc.client == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	replaced = h.byClient[wc.client]
	h.byClient[wc.client] = wc
	return replaced
}

func (h *wsClients) unregister(wc *wsConn) {
	if wc.client == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byClient[wc.client] == wc {
		delete(h.byClient, wc.client)
	}
}
