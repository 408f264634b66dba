package wiremeter

import "sync/atomic"

// Request overhead is the point of fourway, so it is measured where it
// happens: every byte read from or written to a client socket (request and
// status lines, headers, chunk framing, WebSocket handshakes and frame
// headers included) is added to the counters of the transport whose request
// the connection is serving at that moment.

// Counters are one transport's figures.
type Counters struct {
	clients  atomic.Int64 // connected (streams) or waiting (long polls) now
	requests atomic.Int64 // HTTP requests, upgrades included
	messages atomic.Int64 // messages delivered
	empty    atomic.Int64 // responses that carried no message
	dropped  atomic.Int64 // subscribers cut because their socket stopped taking bytes
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	// Of those, over HTTP/1.1 in the clear (conn.go): the requests' lines
	// and headers, and the responses' status lines and headers.
	headsIn, headsOut atomic.Int64
	// Of those, over HTTP/1.1 (the streams, as their writers and the
	// counting conn see them): what wraps the payloads (frame headers,
	// chunk framing, SSE field names) and the keepalives, by the rules of
	// the wire inspector (inspect.go, wireParts), so the two agree.
	framing, heartbeats [2]atomic.Int64 // by In, Out

	// Of those, under HTTP/2 (h2.go): the frames of this transport's
	// streams, in and out, and the bytes of their header blocks (HEADERS
	// and CONTINUATION payloads, as HPACK encoded them).
	h2frames, h2headers [2]atomic.Int64
}

// Stats holds the counters of the four transports, and of everything else
// (publishing, the page, stats), which is counted apart so it never
// inflates a transport's overhead.
type Stats struct {
	Poll, LongPoll, SSE, WS Counters
	other                   Counters

	// HTTP/2 connections, whose streams are counted in their transports
	// frame by frame (h2.go): all their sockets' bytes (TLS
	// included), all their frames', and the frames of no stream's.
	http2, h2frames, h2conn Counters
}

// transportOf names the counters a request path belongs to.
func (st *Stats) transportOf(path string) *Counters {
	switch path {
	case "/api/poll":
		return &st.Poll
	case "/api/longpoll":
		return &st.LongPoll
	case "/api/sse":
		return &st.SSE
	case "/api/ws":
		return &st.WS
	}
	return &st.other
}

// In and Out index the counters kept each way.
const (
	In  = 0 // from the client
	Out = 1 // to the client
)

// TransportStats are one transport's figures in GET /api/stats.
type TransportStats struct {
	Clients  int64 `json:"clients"`
	Requests int64 `json:"requests"`
	Messages int64 `json:"messages"`
	Empty    int64 `json:"empty"`
	Dropped  int64 `json:"dropped"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// HeadsIn and HeadsOut are the part of those that were request lines
	// and headers, and status lines and headers, over HTTP/1.1 in the clear
	// (over TLS the socket's bytes are records: not counted there).
	HeadsIn  int64 `json:"heads_in"`
	HeadsOut int64 `json:"heads_out"`
	// FramingIn/Out and HeartbeatsIn/Out are the part of those that were
	// framing and keepalives, counted where they are written and read, by
	// the wire inspector's rules (inspect.go): framing is a WebSocket
	// frame's header (mask key included) unless the frame is a heartbeat,
	// an SSE event's field names, ids and newlines, and HTTP/1.1 chunk size
	// lines and CRLFs; heartbeats are ping and pong frames and the text
	// frames "ping", "pong", {"type":"ping"} and {"type":"pong"}, whole, and
	// SSE's ": ping" comments (with their chunk's framing when the chunk
	// holds nothing else). transports/CONTRACT.md, "Stats, health, metrics", says what is counted where.
	FramingIn     int64 `json:"framing_in"`
	FramingOut    int64 `json:"framing_out"`
	HeartbeatsIn  int64 `json:"heartbeats_in"`
	HeartbeatsOut int64 `json:"heartbeats_out"`
	// HTTP2 is the part of those bytes that came in HTTP/2 frames: present
	// once this transport has served a stream over HTTP/2.
	HTTP2 *StreamFrames `json:"http2,omitempty"`
}

// StreamFrames are a transport's HTTP/2 frames: how many (each has a 9-byte
// header), and the bytes of their header blocks, as HPACK encoded them.
type StreamFrames struct {
	FramesIn   int64 `json:"frames_in"`
	FramesOut  int64 `json:"frames_out"`
	HeadersIn  int64 `json:"headers_in"`
	HeadersOut int64 `json:"headers_out"`
}

// Transports returns the figures of the four transports now, by name.
func (st *Stats) Transports() map[string]TransportStats {
	return map[string]TransportStats{
		"poll":     st.Poll.snapshot(),
		"longpoll": st.LongPoll.snapshot(),
		"sse":      st.SSE.snapshot(),
		"ws":       st.WS.snapshot(),
	}
}

func (t *Counters) snapshot() TransportStats {
	ts := TransportStats{
		Clients: t.clients.Load(), Requests: t.requests.Load(), Messages: t.messages.Load(),
		Empty: t.empty.Load(), Dropped: t.dropped.Load(),
		BytesIn: t.bytesIn.Load(), BytesOut: t.bytesOut.Load(),
		HeadsIn: t.headsIn.Load(), HeadsOut: t.headsOut.Load(),
		FramingIn: t.framing[In].Load(), FramingOut: t.framing[Out].Load(),
		HeartbeatsIn: t.heartbeats[In].Load(), HeartbeatsOut: t.heartbeats[Out].Load(),
	}
	if in, out := t.h2frames[In].Load(), t.h2frames[Out].Load(); in+out > 0 {
		ts.HTTP2 = &StreamFrames{FramesIn: in, FramesOut: out,
			HeadersIn: t.h2headers[In].Load(), HeadersOut: t.h2headers[Out].Load()}
	}
	return ts
}

// HTTP2Bytes are the bytes of every HTTP/2 connection on their sockets,
// and the two parts of them that belong to no stream: the connections' own
// frames (the client's preface, SETTINGS, PING, GOAWAY, the connection's
// WINDOW_UPDATE, and frames for streams already closed), and what TLS
// added (handshakes, record headers and tags: the sockets' bytes less the
// frames', so for a moment it also holds bytes between the two layers).
type HTTP2Bytes struct {
	BytesIn       int64 `json:"bytes_in"`
	BytesOut      int64 `json:"bytes_out"`
	ConnectionIn  int64 `json:"connection_in"`
	ConnectionOut int64 `json:"connection_out"`
	TLSIn         int64 `json:"tls_in"`
	TLSOut        int64 `json:"tls_out"`
}

// HTTP2 returns what HTTP/2 connections carried beside their streams, or
// nil when none was served.
func (st *Stats) HTTP2() *HTTP2Bytes {
	// The frames first: the socket counts a byte before the frame it is in.
	framesIn, framesOut := st.h2frames.bytesIn.Load(), st.h2frames.bytesOut.Load()
	connIn, connOut := st.h2conn.bytesIn.Load(), st.h2conn.bytesOut.Load()
	in, out := st.http2.bytesIn.Load(), st.http2.bytesOut.Load()
	if in == 0 && out == 0 {
		return nil
	}
	return &HTTP2Bytes{BytesIn: in, BytesOut: out, ConnectionIn: connIn, ConnectionOut: connOut,
		TLSIn: max(0, in-framesIn), TLSOut: max(0, out-framesOut)}
}
