package transports

import (
	"fourway/feed"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Request overhead is the point of fourway, so it is measured where it
// happens: every byte read from or written to a client socket (request and
// status lines, headers, chunk framing, WebSocket handshakes and frame
// headers included) is added to the counters of the transport whose request
// the connection is serving at that moment.

// counters are one transport's figures.
type counters struct {
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
	framing, heartbeats [2]atomic.Int64

	// Of those, under HTTP/2 (h2count.go): the frames of this transport's
	// streams, in and out, and the bytes of their header blocks (HEADERS
	// and CONTINUATION payloads, as HPACK encoded them).
	h2frames, h2headers [2]atomic.Int64
}

// stats holds the counters of the four transports, and of everything else
// (publishing, the page, stats), which is counted apart so it never
// inflates a transport's overhead.
type stats struct {
	poll, longpoll, sse, ws, other counters

	// HTTP/2 connections, whose streams are counted in their transports
	// frame by frame (h2count.go): all their sockets' bytes (TLS
	// included), all their frames', and the frames of no stream's.
	http2, h2frames, h2conn counters
}

// transportOf names the counters a request path belongs to.
func (st *stats) transportOf(path string) *counters {
	switch path {
	case "/api/poll":
		return &st.poll
	case "/api/longpoll":
		return &st.longpoll
	case "/api/sse":
		return &st.sse
	case "/api/ws":
		return &st.ws
	}
	return &st.other
}

// countRequests assigns each request's bytes to its transport.
func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t := s.stats.transportOf(c.Request().URL.Path)
		t.requests.Add(1)
		if cc := connOf(c.Request()); cc != nil {
			cc.claimFor(t, c.Request())
		}
		return next(c)
	}
}

type transportStats struct {
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
	// holds nothing else). CONTRACT.md, "Stats, health, metrics", says what is counted where.
	FramingIn     int64 `json:"framing_in"`
	FramingOut    int64 `json:"framing_out"`
	HeartbeatsIn  int64 `json:"heartbeats_in"`
	HeartbeatsOut int64 `json:"heartbeats_out"`
	// HTTP2 is the part of those bytes that came in HTTP/2 frames: present
	// once this transport has served a stream over HTTP/2.
	HTTP2 *streamFrames `json:"http2,omitempty"`
}

// streamFrames are a transport's HTTP/2 frames: how many (each has a 9-byte
// header), and the bytes of their header blocks, as HPACK encoded them.
type streamFrames struct {
	FramesIn   int64 `json:"frames_in"`
	FramesOut  int64 `json:"frames_out"`
	HeadersIn  int64 `json:"headers_in"`
	HeadersOut int64 `json:"headers_out"`
}

func (t *counters) snapshot() transportStats {
	ts := transportStats{
		Clients: t.clients.Load(), Requests: t.requests.Load(), Messages: t.messages.Load(),
		Empty: t.empty.Load(), Dropped: t.dropped.Load(),
		BytesIn: t.bytesIn.Load(), BytesOut: t.bytesOut.Load(),
		HeadsIn: t.headsIn.Load(), HeadsOut: t.headsOut.Load(),
		FramingIn: t.framing[dirIn].Load(), FramingOut: t.framing[dirOut].Load(),
		HeartbeatsIn: t.heartbeats[dirIn].Load(), HeartbeatsOut: t.heartbeats[dirOut].Load(),
	}
	if in, out := t.h2frames[dirIn].Load(), t.h2frames[dirOut].Load(); in+out > 0 {
		ts.HTTP2 = &streamFrames{FramesIn: in, FramesOut: out,
			HeadersIn: t.h2headers[dirIn].Load(), HeadersOut: t.h2headers[dirOut].Load()}
	}
	return ts
}

// Snapshot is the body of GET /api/stats.
type Snapshot struct {
	Node       string                    `json:"node,omitempty"` // Config.Node
	Feed       feed.Stats                `json:"feed"`
	Transports map[string]transportStats `json:"transports"`
	// HTTP2 holds what HTTP/2 connections carried beside their streams
	// (which are in Transports): present only when some were served.
	HTTP2 *http2Bytes `json:"http2,omitempty"`
}

// http2Bytes are the bytes of every HTTP/2 connection on their sockets,
// and the two parts of them that belong to no stream: the connections' own
// frames (the client's preface, SETTINGS, PING, GOAWAY, the connection's
// WINDOW_UPDATE, and frames for streams already closed), and what TLS
// added (handshakes, record headers and tags: the sockets' bytes less the
// frames', so for a moment it also holds bytes between the two layers).
type http2Bytes struct {
	BytesIn       int64 `json:"bytes_in"`
	BytesOut      int64 `json:"bytes_out"`
	ConnectionIn  int64 `json:"connection_in"`
	ConnectionOut int64 `json:"connection_out"`
	TLSIn         int64 `json:"tls_in"`
	TLSOut        int64 `json:"tls_out"`
}

// Stats returns the server's figures now.
func (s *Server) Stats() Snapshot {
	return Snapshot{
		Node: s.cfg.Node,
		Feed: s.feed.Stats(),
		Transports: map[string]transportStats{
			"poll":     s.stats.poll.snapshot(),
			"longpoll": s.stats.longpoll.snapshot(),
			"sse":      s.stats.sse.snapshot(),
			"ws":       s.stats.ws.snapshot(),
		},
		HTTP2: s.stats.http2Bytes(),
	}
}

func (st *stats) http2Bytes() *http2Bytes {
	// The frames first: the socket counts a byte before the frame it is in.
	framesIn, framesOut := st.h2frames.bytesIn.Load(), st.h2frames.bytesOut.Load()
	connIn, connOut := st.h2conn.bytesIn.Load(), st.h2conn.bytesOut.Load()
	in, out := st.http2.bytesIn.Load(), st.http2.bytesOut.Load()
	if in == 0 && out == 0 {
		return nil
	}
	return &http2Bytes{BytesIn: in, BytesOut: out, ConnectionIn: connIn, ConnectionOut: connOut,
		TLSIn: max(0, in-framesIn), TLSOut: max(0, out-framesOut)}
}

func (s *Server) handleStats(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, s.Stats())
}

// metricsHandler exposes the same figures for Prometheus, with the Go
// runtime's and the process's own.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(statsCollector{s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type statsCollector struct{ s *Server }

var (
	metricClients  = prometheus.NewDesc("fourway_clients", "Clients connected (streams) or waiting (long polls) now.", []string{"transport"}, nil)
	metricRequests = prometheus.NewDesc("fourway_requests_total", "HTTP requests, upgrades included.", []string{"transport"}, nil)
	metricMessages = prometheus.NewDesc("fourway_messages_delivered_total", "Messages delivered to subscribers.", []string{"transport"}, nil)
	metricEmpty    = prometheus.NewDesc("fourway_empty_responses_total", "Responses that carried no message.", []string{"transport"}, nil)
	metricDropped  = prometheus.NewDesc("fourway_dropped_total", "Subscribers dropped because their socket stopped taking bytes (too slow).", []string{"transport"}, nil)
	metricBytes    = prometheus.NewDesc("fourway_bytes_total", "Bytes on client sockets, headers and framing included.", []string{"transport", "direction"}, nil)
	metricParts    = prometheus.NewDesc("fourway_part_bytes_total", "Of the bytes on client sockets, those counted by kind: heads (HTTP/1.1 in the clear), framing and heartbeats (see GET /api/stats).", []string{"transport", "part", "direction"}, nil)
	metricHTTP2    = prometheus.NewDesc("fourway_http2_bytes_total", "Bytes of HTTP/2 connections: on their sockets, in frames of no stream (the connections' own), and added by TLS.", []string{"part", "direction"}, nil)
	metricLastID   = prometheus.NewDesc("fourway_feed_last_id", "Id of the newest message.", nil, nil)
	metricOldestID = prometheus.NewDesc("fourway_feed_oldest_id", "Id of the oldest retained message.", nil, nil)
	metricPublish  = prometheus.NewDesc("fourway_feed_published_total", "Messages published since start.", nil, nil)
	metricNode     = prometheus.NewDesc("fourway_node_info", "Always 1; names this node among several serving one feed.", []string{"node"}, nil)
	metricLag      = prometheus.NewDesc("fourway_feed_lag", "Messages the JetStream stream has that this node has not received yet.", nil, nil)
	metricJSUp     = prometheus.NewDesc("fourway_jetstream_up", "1 while this node is connected to NATS and its last stream check succeeded.", nil, nil)
	metricLPDirect = prometheus.NewDesc("fourway_longpoll_direct_total", "With --longpoll-writer direct: long polls it held (held), connections it took from net/http (taken) and handed back to it for another request (handed_back).", []string{"what"}, nil)
)

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{metricClients, metricRequests, metricMessages, metricEmpty, metricDropped, metricBytes, metricParts, metricHTTP2, metricLastID, metricOldestID, metricPublish, metricNode, metricLag, metricJSUp, metricLPDirect} {
		ch <- d
	}
}

func (sc statsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := sc.s.Stats()
	for name, t := range snap.Transports {
		ch <- prometheus.MustNewConstMetric(metricClients, prometheus.GaugeValue, float64(t.Clients), name)
		ch <- prometheus.MustNewConstMetric(metricRequests, prometheus.CounterValue, float64(t.Requests), name)
		ch <- prometheus.MustNewConstMetric(metricMessages, prometheus.CounterValue, float64(t.Messages), name)
		ch <- prometheus.MustNewConstMetric(metricEmpty, prometheus.CounterValue, float64(t.Empty), name)
		ch <- prometheus.MustNewConstMetric(metricDropped, prometheus.CounterValue, float64(t.Dropped), name)
		ch <- prometheus.MustNewConstMetric(metricBytes, prometheus.CounterValue, float64(t.BytesIn), name, "in")
		ch <- prometheus.MustNewConstMetric(metricBytes, prometheus.CounterValue, float64(t.BytesOut), name, "out")
		for _, p := range []struct {
			part    string
			in, out int64
		}{{"heads", t.HeadsIn, t.HeadsOut}, {"framing", t.FramingIn, t.FramingOut}, {"heartbeats", t.HeartbeatsIn, t.HeartbeatsOut}} {
			ch <- prometheus.MustNewConstMetric(metricParts, prometheus.CounterValue, float64(p.in), name, p.part, "in")
			ch <- prometheus.MustNewConstMetric(metricParts, prometheus.CounterValue, float64(p.out), name, p.part, "out")
		}
	}
	if h2 := snap.HTTP2; h2 != nil {
		for _, p := range []struct {
			part    string
			in, out int64
		}{{"socket", h2.BytesIn, h2.BytesOut}, {"connection", h2.ConnectionIn, h2.ConnectionOut}, {"tls", h2.TLSIn, h2.TLSOut}} {
			ch <- prometheus.MustNewConstMetric(metricHTTP2, prometheus.CounterValue, float64(p.in), p.part, "in")
			ch <- prometheus.MustNewConstMetric(metricHTTP2, prometheus.CounterValue, float64(p.out), p.part, "out")
		}
	}
	ch <- prometheus.MustNewConstMetric(metricLastID, prometheus.GaugeValue, float64(snap.Feed.LastID))
	ch <- prometheus.MustNewConstMetric(metricOldestID, prometheus.GaugeValue, float64(snap.Feed.OldestID))
	ch <- prometheus.MustNewConstMetric(metricPublish, prometheus.CounterValue, float64(snap.Feed.Published))
	if snap.Node != "" {
		ch <- prometheus.MustNewConstMetric(metricNode, prometheus.GaugeValue, 1, snap.Node)
	}
	if lp := &sc.s.lpDirect; sc.s.cfg.LongPollWriter == longPollWriterDirect {
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(lp.held.Load()), "held")
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(lp.taken.Load()), "taken")
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(lp.handedBack.Load()), "handed_back")
	}
	if js := snap.Feed.JetStream; js != nil {
		up := 0.0
		if js.Connected && js.Error == "" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(metricLag, prometheus.GaugeValue, float64(js.Lag))
		ch <- prometheus.MustNewConstMetric(metricJSUp, prometheus.GaugeValue, up)
	}
}
