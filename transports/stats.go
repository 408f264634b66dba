package transports

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fourway/feed"
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
}

// stats holds the counters of the four transports, and of everything else
// (publishing, the page, stats), which is counted apart so it never
// inflates a transport's overhead.
type stats struct {
	poll, longpoll, sse, ws, other counters
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

// countingConn counts the bytes of one client connection.
//
// net/http reads ahead: one read may bring a request and the start of the
// next (a pipelining client), so bytes read are not simply the current
// request's. They wait in pending until a request claims them, and a
// request claims only its own size: its header block, then its body.
type countingConn struct {
	net.Conn
	owner atomic.Pointer[counters] // the transport of the request in progress

	readMu  sync.Mutex
	pending int64 // bytes read that no request has claimed yet
	owed    int64 // bytes of the owner's request still to come; -1: all that comes (chunked, hijacked)

	deadlineMu    sync.Mutex
	writeDeadline time.Time // the write deadline in force
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.readMu.Lock()
	defer c.readMu.Unlock()
	take := int64(0)
	if t := c.owner.Load(); t != nil {
		take = int64(n)
		if c.owed >= 0 {
			take = min(take, c.owed)
			c.owed -= take
		}
		t.bytesIn.Add(take)
	}
	c.pending += int64(n) - take
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if t := c.owner.Load(); t != nil {
		t.bytesOut.Add(int64(n))
	}
	return n, err
}

// SetWriteDeadline skips a new deadline that only extends the one in force
// by less than a tenth of the time it has left: re-arming the socket's
// timer for every frame costs more than the write itself on a busy
// connection (WebSocket writers set one per frame). So a deadline can come
// up to 10% early, never late. Zero (no deadline) always goes through.
func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if cur := c.writeDeadline; !t.IsZero() && !cur.IsZero() && !t.Before(cur) {
		if left := time.Until(cur); left > 0 && t.Sub(cur) < left/10 {
			return nil
		}
	}
	c.writeDeadline = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines, so the write deadline is known too.
func (c *countingConn) SetDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	c.writeDeadline = t
	return c.Conn.SetDeadline(t)
}

// claim makes t the owner of the connection's bytes for request r: the
// bytes of r already read, and those of its body still to come.
func (c *countingConn) claim(t *counters, r *http.Request) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.owner.Store(t)
	size := headerSize(r)
	if r.ContentLength > 0 {
		size += r.ContentLength
	}
	take := min(c.pending, size)
	c.pending -= take
	t.bytesIn.Add(take)
	c.owed = size - take
	if r.ContentLength < 0 { // chunked: its end is known only to its reader
		c.owed = -1
	}
}

// hijacked gives every later byte to the owner: the socket is a WebSocket now.
func (c *countingConn) hijacked() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.owed = -1
}

// headerSize is the size of r's request line and header block as a client
// sends them, "Name: value" with one space: net/http keeps no raw bytes.
func headerSize(r *http.Request) int64 {
	n := len(r.Method) + len(" ") + len(r.RequestURI) + len(" ") + len(r.Proto) + len("\r\n")
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + len("\r\n") // net/http moves Host out of Header
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return int64(n + len("\r\n"))
}

// countingListener wraps every accepted connection in a countingConn, and
// bounds its send buffer.
type countingListener struct {
	net.Listener
	sendBuffer int
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	setSendBuffer(c, l.sendBuffer)
	return &countingConn{Conn: c}, nil
}

type connKey struct{}

func withCountingConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// connOf returns the client connection serving r (nil outside Serve).
func connOf(r *http.Request) *countingConn {
	c, _ := r.Context().Value(connKey{}).(*countingConn)
	return c
}

// netConnOf is connOf as a net.Conn: nil (not a nil pointer) when absent.
func netConnOf(r *http.Request) net.Conn {
	if c := connOf(r); c != nil {
		return c
	}
	return nil
}

// setSendBuffer bounds what the kernel queues for one client to about
// bytes (Linux doubles it for its own bookkeeping): past it the server's
// writes block, which is how a client that does not read is found (its
// write times out, or a streaming subscriber is dropped as too slow).
// Without it the buffer grows to megabytes per socket.
func setSendBuffer(c net.Conn, bytes int) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(bytes)
	}
}

// connStateHook releases a connection's owner once its response is fully
// written: what it reads next belongs to its next request.
func connStateHook(c net.Conn, state http.ConnState) {
	cc, ok := c.(*countingConn)
	switch {
	case !ok:
	case state == http.StateIdle:
		cc.owner.Store(nil)
	case state == http.StateHijacked:
		cc.hijacked()
	}
}

// countRequests assigns each request's bytes to its transport.
func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t := s.stats.transportOf(c.Request().URL.Path)
		t.requests.Add(1)
		if cc := connOf(c.Request()); cc != nil {
			cc.claim(t, c.Request())
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
}

func (t *counters) snapshot() transportStats {
	return transportStats{
		Clients: t.clients.Load(), Requests: t.requests.Load(), Messages: t.messages.Load(),
		Empty: t.empty.Load(), Dropped: t.dropped.Load(),
		BytesIn: t.bytesIn.Load(), BytesOut: t.bytesOut.Load(),
	}
}

// Snapshot is the body of GET /api/stats.
type Snapshot struct {
	Feed       feed.Stats                `json:"feed"`
	Transports map[string]transportStats `json:"transports"`
}

// Stats returns the server's figures now.
func (s *Server) Stats() Snapshot {
	return Snapshot{
		Feed: s.feed.Stats(),
		Transports: map[string]transportStats{
			"poll":     s.stats.poll.snapshot(),
			"longpoll": s.stats.longpoll.snapshot(),
			"sse":      s.stats.sse.snapshot(),
			"ws":       s.stats.ws.snapshot(),
		},
	}
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
	metricLastID   = prometheus.NewDesc("fourway_feed_last_id", "Id of the newest message.", nil, nil)
	metricOldestID = prometheus.NewDesc("fourway_feed_oldest_id", "Id of the oldest retained message.", nil, nil)
	metricPublish  = prometheus.NewDesc("fourway_feed_published_total", "Messages published since start.", nil, nil)
)

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{metricClients, metricRequests, metricMessages, metricEmpty, metricDropped, metricBytes, metricLastID, metricOldestID, metricPublish} {
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
	}
	ch <- prometheus.MustNewConstMetric(metricLastID, prometheus.GaugeValue, float64(snap.Feed.LastID))
	ch <- prometheus.MustNewConstMetric(metricOldestID, prometheus.GaugeValue, float64(snap.Feed.OldestID))
	ch <- prometheus.MustNewConstMetric(metricPublish, prometheus.CounterValue, float64(snap.Feed.Published))
}

// liveConn is one streaming connection (WebSocket, SSE stream or held long
// poll), known so that /api/drop can cut it and --max-clients can count it.
type liveConn struct {
	transport string
	cut       func() // closes the socket without a goodbye
}

// closeConn returns a cut function for a plain HTTP connection.
func closeConn(c net.Conn) func() {
	return func() {
		if c != nil {
			c.Close()
		}
	}
}

type liveConns struct {
	mu    sync.Mutex
	conns map[*liveConn]struct{}
}

// add registers a streaming connection, unless max (> 0) are already open.
func (l *liveConns) add(transport string, cut func(), max int) (*liveConn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && len(l.conns) >= max {
		return nil, false
	}
	lc := &liveConn{transport: transport, cut: cut}
	l.conns[lc] = struct{}{}
	return lc, true
}

func (l *liveConns) remove(lc *liveConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, lc)
}

// drop closes the sockets of the named transport ("all" for every one)
// without a goodbye, as a network failure would, and says how many.
func (l *liveConns) drop(transport string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for lc := range l.conns {
		if transport == "all" || transport == lc.transport {
			lc.cut()
			n++
		}
	}
	return n
}

func (l *liveConns) dropAll() { l.drop("all") }
