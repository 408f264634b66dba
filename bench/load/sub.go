package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"fourway/bench/plan"
	"fourway/transports/wire"
)

// sub is one subscriber: its configuration, its socket counters, and what
// it received. The fields below "owned" are written only by the
// subscriber's goroutine and read after it has returned.
type sub struct {
	idx      int
	base     string // http://host:port of the server (https:// under TLS)
	proto    string // -proto: h1, h1tls, h2 or h2c; every answer must come over it
	cursor   string // where to start: the id of the primer message
	interval time.Duration
	phase    time.Time // first tick of a short poll's timetable
	headers  http.Header
	compress bool // -compress: offer compression as a browser does (encoding.go)
	win      *window
	hist     *histShard

	meter     meter
	rules     rules // the page's: backoff, watchdogs, what an outage made it notice
	ready     chan struct{}
	readyOnce sync.Once
	stopped   chan struct{} // closed when the subscriber gave up (see giveUp)
	distinct  atomic.Int64  // distinct messages received, for the drain
	inWindow  atomic.Int64  // deliveries received inside the window

	// owned by the subscriber's goroutine
	seen      []uint8 // receipts per seq
	dups      int64
	msgs      int64
	payload   int64
	handshake counts // bytes spent connecting, summed over (re)connects
	// The wire cost per message is measured over a span that starts and
	// ends where no byte of a later message can have been read ahead: for
	// streams, the end of the first handshake (nothing was published yet)
	// to the last message (nothing comes after it); for polls, which read
	// each answer whole, the first answer with messages inside the window
	// to the last answer with messages. Reconnects inside the span add
	// their handshakes to the handshake figure, not to the span.
	first, last     counts
	firstSet        bool
	hsFirst, hsLast counts // the handshake total at first and last
	reconnects      int
	errors          int
	anomalies       int // missed/reset signals, unparseable messages, contract breaches
	skippedTicks    int
	feedEpoch       string                 // fourway: the epoch of the last position, as the server named it
	gaveUp          string                 // why the subscriber stopped before the end of the run
	lastErr         atomic.Pointer[string] // read by the runner when a subscriber never connects

	// HTTP polls only: request-response exchanges, with and without
	// messages, and their bytes minus payload.
	exchMsg, exchEmpty           int64
	exchMsgBytes, exchEmptyBytes int64

	// reqUp, when not nil, holds the bytes the subscriber wrote for each
	// of its first len(reqUp) HTTP requests: from the moment the request
	// has its connection to the answer's first byte. Over HTTP/1.1 that
	// is the request line and headers; over HTTP/2 the HEADERS frame as
	// HPACK encoded it, its dynamic table filling from the first request
	// on (plus any connection frame written meanwhile, a SETTINGS ack or
	// WINDOW_UPDATE); under TLS, their TLS records. 0: not measured.
	reqUp []atomic.Int64
	// negotiated is what the last answer came over ("HTTP/2.0 over
	// TLS"), once checked against proto.
	negotiated string
	// encoding is the compression of the last answer or connection
	// ("gzip", the WebSocket's Sec-WebSocket-Extensions, or "none"), and
	// encodings how many units of messages came in each (see unit).
	encoding  string
	encodings map[string]int64
}

// reqUpKept is how many requests' header bytes reqUp holds: HPACK's
// first request against its hundredth.
const reqUpKept = 100

// newSub makes subscriber idx.
func newSub(idx int) *sub {
	s := &sub{idx: idx, ready: make(chan struct{}), stopped: make(chan struct{})}
	s.rules.watch, s.rules.deadline = sseWatch, pollDeadline
	return s
}

// markReady says the subscriber is connected, once.
func (s *sub) markReady() { s.readyOnce.Do(func() { close(s.ready) }) }

// snapshot is the subscriber's counters now.
func (s *sub) snapshot() counts {
	return counts{Down: s.meter.down.Load(), Up: s.meter.up.Load(), Requests: s.meter.requests.Load(), Messages: s.msgs, Payload: s.payload, Decoded: s.meter.decoded.Load()}
}

// connected adds the bytes spent since before to the handshake.
func (s *sub) connected(before counts) {
	now := s.snapshot()
	d := now.sub(before)
	d.Messages, d.Payload = 0, 0
	s.handshake = s.handshake.add(d)
	if !s.firstSet {
		s.first, s.firstSet, s.hsFirst = now, true, s.handshake
	}
}

// got records one message: body is what the application receives (the
// message JSON on fourway, the published body on Nchan), which is the
// payload; the rest of the wire bytes are overhead.
func (s *sub) got(body []byte) {
	now := Mono()
	seq, t, ok := parseStamp(body)
	if !ok {
		s.anomalies++
		return
	}
	for int(seq) >= len(s.seen) {
		s.seen = append(s.seen, make([]uint8, max(64, len(s.seen)))...)
	}
	if s.seen[seq] > 0 {
		s.dups++
	} else {
		s.distinct.Add(1)
	}
	if s.seen[seq] < 255 {
		s.seen[seq]++
	}
	s.msgs++
	s.payload += int64(len(body))
	if s.win.has(t) {
		s.hist.Record(now - t)
	}
	if s.win.has(now) {
		s.inWindow.Add(1)
	}
	s.catchUp(t, now)
}

// catchUp records the receipt at now of a message intended at t against
// the silence whose return it was meant to come before, if any.
func (s *sub) catchUp(t, now int64) {
	ends := s.win.outageEnds.Load()
	if ends == nil {
		return
	}
	k, _ := slices.BinarySearch(*ends, t) // the first silence to end at t or after
	if k == len(*ends) {
		return
	}
	if s.rules.caughtUp == nil {
		s.rules.caughtUp = make([]int64, len(*ends))
	}
	s.rules.caughtUp[k] = max(s.rules.caughtUp[k], now)
}

// unit marks the end of one response or frame that carried messages (see
// first and last).
func (s *sub) unit() {
	if s.compress {
		if s.encodings == nil {
			s.encodings = map[string]int64{}
		}
		s.encodings[s.encoding]++
	}
	c := s.snapshot()
	if !s.firstSet && s.win.has(Mono()) {
		s.first, s.firstSet, s.hsFirst = c, true, s.handshake
	}
	s.last, s.hsLast = c, s.handshake
}

// span is the wire cost of the messages received in the span.
func (s *sub) span() counts {
	if !s.firstSet || s.last.Messages <= s.first.Messages {
		return counts{}
	}
	return s.last.sub(s.first).sub(s.hsLast.sub(s.hsFirst))
}

// exchange records one poll's request and response, from before (counters
// taken just before the request).
func (s *sub) exchange(before counts) {
	d := s.snapshot().sub(before)
	if d.Messages > 0 {
		s.exchMsg++
		s.exchMsgBytes += d.Down + d.Up - d.Payload
	} else {
		s.exchEmpty++
		s.exchEmptyBytes += d.Down + d.Up
	}
}

// do sends one HTTP request, counted, with the configured extra headers.
// onWritten, if not nil, runs once the request is on the wire.
func (s *sub) do(ctx context.Context, c *http.Client, req *http.Request, onWritten func()) (*http.Response, error) {
	for k, v := range s.headers {
		req.Header[k] = v
	}
	if s.compress {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	n := s.meter.requests.Add(1) - 1
	measure := n < int64(len(s.reqUp))
	if onWritten != nil || measure {
		var start atomic.Int64
		trace := &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) {
				if onWritten != nil {
					onWritten()
				}
			},
		}
		if measure {
			// From the request having its connection to the first byte
			// of the answer: by then the whole request is on the socket
			// (WroteRequest can come before HTTP/1.1's buffer is flushed).
			trace.GotConn = func(httptrace.GotConnInfo) { start.Store(s.meter.up.Load()) }
			trace.GotFirstResponseByte = func() { s.reqUp[n].Store(s.meter.up.Load() - start.Load()) }
		}
		req = req.WithContext(httptrace.WithClientTrace(ctx, trace))
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, refusedProto(s.proto, err)
	}
	if err := checkResponseProto(req.URL.Path, s.proto, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	s.negotiated = negotiated(resp.Proto, resp.TLS != nil)
	return resp, nil
}

// get sends one GET of target and reads its whole answer, decoded (see
// body): a poll's or a long poll's, fourway's and Nchan's alike. The
// caller checks the status.
func (s *sub) get(ctx context.Context, c *http.Client, target string, onWritten func()) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, permanentError{err}
	}
	return s.read(ctx, c, req, onWritten)
}

// read sends req (see do) and reads its whole answer, decoded.
func (s *sub) read(ctx context.Context, c *http.Client, req *http.Request, onWritten func()) (*http.Response, []byte, error) {
	resp, err := s.do(ctx, c, req, onWritten)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	r, err := s.body(resp)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

// body is resp's body as the application reads it, decoded when it came
// compressed (decodedBody); the encoding it came in is the subscriber's
// until the next answer.
func (s *sub) body(resp *http.Response) (io.Reader, error) {
	r, enc, err := decodedBody(resp, s.compress, &s.meter.decoded)
	s.encoding = enc
	return r, err
}

// readFrame reads one WebSocket message, inflated when it came
// compressed, and counts what it decodes to.
func (s *sub) readFrame(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	b, err := wire.ReadFrame(conn, buf)
	if s.compress {
		s.meter.decoded.Add(int64(len(b)))
	}
	return b, err
}

// wsDialer is a subscriber's WebSocket dialer: through its counting dial,
// inside TLS (wss://, HTTP/1.1: no ALPN offered) when the row has TLS.
// gorilla/websocket runs the TLS handshake over the counting connection,
// so its records count as an HTTP client's do.
func (s *sub) wsDialer(subprotocols ...string) websocket.Dialer {
	d := websocket.Dialer{NetDialContext: s.meter.dial, HandshakeTimeout: 10 * time.Second, Subprotocols: subprotocols, EnableCompression: s.compress}
	if plan.ProtoTLS(s.proto) {
		d.TLSClientConfig = insecureLoopbackTLS()
	}
	return d
}

// checkWSProto says whether an upgraded WebSocket came over what the row
// asks: HTTP/1.1 always, inside TLS under h1tls and h2.
//
// It notes the compression the WebSocket negotiated, with -compress.
func (s *sub) checkWSProto(conn *websocket.Conn, resp *http.Response) error {
	if s.compress {
		s.encoding = noEncoding
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
			s.encoding = ext // gorilla/websocket took it, or the dial would have failed
		}
	}
	if s.proto == "" {
		return nil
	}
	_, isTLS := conn.NetConn().(*tls.Conn)
	if resp.Proto != "HTTP/1.1" || isTLS != plan.ProtoTLS(s.proto) {
		got := resp.Proto
		if isTLS {
			got += " over TLS"
		}
		return permanentError{fmt.Errorf("ws: asked for %s (the WebSocket on HTTP/1.1%s) but it came over %s: the bench does not measure a fallback",
			s.proto, map[bool]string{true: " over TLS", false: ""}[plan.ProtoTLS(s.proto)], got)}
	}
	s.negotiated = negotiated(resp.Proto, isTLS)
	return nil
}

// waitTick waits for the next tick of a short poll's timetable: ticks are
// at phase + k*interval whatever the polls cost, so a slow answer shows up as
// latency, not as a slower poller. Ticks already past are skipped and
// counted.
func (s *sub) waitTick(ctx context.Context, k *int64) bool {
	now := time.Now()
	due := s.phase.Add(time.Duration(*k) * s.interval)
	if late := now.Sub(due); late > s.interval {
		skip := int64(late / s.interval)
		s.skippedTicks += int(skip)
		*k += skip
		due = s.phase.Add(time.Duration(*k) * s.interval)
	}
	*k++
	return SleepUntil(ctx, due)
}

// retryPause waits before a reconnect, as the page's clients wait (the
// backoff of rules.go); false if the run is over.
func (s *sub) retryPause(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	s.errors++
	msg := err.Error()
	s.lastErr.Store(&msg)
	return SleepUntil(ctx, time.Now().Add(s.rules.retryWait()))
}

// giveUp ends a subscriber on an answer that asking again cannot change
// (a page that does not decode, a request refused as malformed): it is
// counted and reported, and what the subscriber did not get shows as lost,
// rather than the same request being repeated until the run ends. The
// subscriber's goroutine calls it once, and returns.
func (s *sub) giveUp(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the run is over: whatever failed was the run ending
	}
	s.errors++
	msg := err.Error()
	s.lastErr.Store(&msg)
	s.gaveUp = msg
	close(s.stopped)
}

// hasStopped reports whether the subscriber gave up.
func (s *sub) hasStopped() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}
