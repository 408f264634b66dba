package transports

// The open WebSockets by client id, so that a newer connection with the
// same id replaces the older one (close 4500), and the upgrader that opens
// them, with permessage-deflate when --compress is on and the client
// offers it.

import (
	"net/http"
	"strings"
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

func newWSClients(checkOrigin func(*http.Request) bool, history int, compress bool) *wsClients {
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
			// permessage-deflate with no context takeover either way, as
			// gorilla offers it: no compressor or decompressor kept per
			// connection, and each message compressed once for all.
			EnableCompression: compress,
		},
	}
}

// upgrade answers r's upgrade with 101 and returns the connection, whose
// counting conn then follows the client's frames for t, counting them by
// kind (wiremeter/parts.go), and whether it negotiated permessage-deflate.
// On an error the upgrader has answered.
func (h *wsClients) upgrade(w http.ResponseWriter, r *http.Request, t *wiremeter.Counters) (conn *websocket.Conn, deflate bool, err error) {
	conn, err = h.upgrader.Upgrade(w, r, nil)
	if err == nil {
		wiremeter.FollowFrames(r, t)
	}
	return conn, err == nil && h.upgrader.EnableCompression && offersDeflate(r.Header), err
}

// offersDeflate reports whether an upgrade request offers
// permessage-deflate, as gorilla's upgrader reads the offer (its
// parseExtensions): one Sec-WebSocket-Extensions header after another, the
// extensions of each in order, each a token and parameters after ";"; a
// header stops at the first thing that is not that. This reads a little
// more strictly (no quoted values), so that what it accepts gorilla
// accepts too: it may miss a quaint offer, and then the server's frames go
// plain, which is still correct; it never sends compressed frames to a
// connection that did not negotiate them.
func offersDeflate(h http.Header) bool {
	for _, line := range h["Sec-Websocket-Extensions"] {
	extensions:
		for ext := range strings.SplitSeq(line, ",") {
			name := ""
			for i, part := range strings.Split(ext, ";") {
				k, v, hasValue := strings.Cut(strings.Trim(part, " \t"), "=")
				if !isToken(k) || hasValue && !isToken(v) || i == 0 && hasValue {
					break extensions // gorilla reads no further on this line
				}
				if i == 0 {
					name = k
				}
			}
			if name == "permessage-deflate" {
				return true
			}
		}
	}
	return false
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
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
