package direct

// Long polling without net/http's request cycle (--longpoll-writer
// direct). It exists to be measured: what a long poll costs when a held
// request costs what the protocol costs, beside what it costs through
// net/http (bench/results/README.md, "What it costs, measured").
//
// net/http serves a request with two goroutines (the connection's and a
// reader that sees the client leave), a 4 KiB reader, a 4 KiB writer and
// a 2 KiB response buffer, and starts and stops its reader, a context and
// a header copy for every request. So here, once a long poll must wait
// on plain HTTP/1.1, its connection is taken from net/http (hijacked) and
// becomes fourway's: the held poll is a subscriber of the dispatchers
// (fanout/dispatch.go), with no goroutine of its own, and its answer is written
// by whoever learns it is due (a publish, its timeout, the shutdown)
// through a pusher (fanout/push.go), as an SSE event is with --sse-writer
// direct. The connection's one goroutine reads: it sees the client leave
// while the poll is held, and reads the next request. A long poll, the
// request that nearly always comes next, is served here, through the same
// routes and middleware as every request; anything else, the connection
// is handed back to net/http (a second http.Server over the same
// handler), the bytes read so far replayed to it.
//
// What differs from net/http, on purpose: nothing on the wire but the
// order of the headers. A request it reads that net/http's server would
// refuse gets net/http's refusal, in its words (check, refuse); its
// header limit is 64 KiB on every request (net/http allows a kept-alive
// connection's later requests a little more). Under TLS or HTTP/2, and
// for an HTTP/1.0 client, the long poll is net/http's.

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
)

// ErrAtLimit says a poll was refused: --max-clients are open.
var ErrAtLimit = errors.New("at the connection limit")

// HoldLongPoll holds the long poll r, which asks p, for hold at most,
// without net/http, and returns true (with ErrAtLimit, for the caller to
// answer, when --max-clients are open); or false, having done nothing,
// when its connection cannot be taken (TLS, HTTP/2) or the request is not
// HTTP/1.1 (the answers here are HTTP/1.1's): net/http holds it then. w
// is r's ResponseWriter, its headers those the middleware set.
func (h *Host) HoldLongPoll(w http.ResponseWriter, r *http.Request, p Poll, hold time.Duration) (bool, error) {
	l, ours := w.(*directResponse)
	if !ours && (r.ProtoMajor != 1 || r.ProtoMinor < 1 || r.TLS != nil || wiremeter.ConnOf(r) == nil) {
		return false, nil
	}
	closing := r.Close || w.Header().Get("Connection") == "close" // the guard closes after a chunked request
	poll := &heldPoll{h: h, poll: p, closing: closing, done: make(chan struct{})}
	lc, ok := h.Live.Add("longpoll", poll.hangUp, h.MaxClients)
	if !ok {
		return true, ErrAtLimit
	}
	h.Stats.LongPoll.Joined()
	// The answer's headers are the ones the middleware set. On a
	// connection of ours they are its writer's, which the next request
	// clears, read only once this poll is over: taken as they are. The
	// first poll's are net/http's: copied, once a connection.
	poll.lc, poll.head = lc, w.Header()
	var conn *directConn
	if ours {
		conn = l.l
	} else {
		poll.head = poll.head.Clone()
		if conn = h.take(w); conn == nil {
			poll.end()
			return false, nil
		}
		defer func() { go conn.serve() }()
	}
	h.hold(conn, poll, hold)
	return true, nil
}

// take takes the connection of w, whose long poll must wait, from
// net/http; nil if it cannot.
func (h *Host) take(w http.ResponseWriter) *directConn {
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	_ = nc.SetDeadline(time.Time{}) // the guard's write deadline was for a response
	h.startHandBack()
	conn := h.newDirectConn(nc, brw.Reader)
	// Its poll was read whole: what comes next is the next request's.
	// (conn.conn, not nc: a connection handed back before is nc's
	// replayConn, around the counting conn.)
	wiremeter.ReadsRequests(conn.conn)
	h.Streams.Add(1) // http.Server.Shutdown does not wait for a hijacked connection
	h.polls.taken.Add(1)
	return conn
}

// hold makes poll the held poll of conn, answered at the latest after
// hold.
func (h *Host) hold(conn *directConn, poll *heldPoll, hold time.Duration) {
	conn.held = poll
	h.polls.held.Add(1)
	if cc := wiremeter.Under(conn.conn); cc != nil {
		cc.HeadWritten() // the answer's head is counted by Next, not followed
	}
	poll.Pusher.Init(poll, conn.sock, h.WriteTimeout)
	h.Live.SayGoodbyeWith(poll.lc, poll.goodbye)
	poll.mu.Lock()
	poll.l = conn
	if poll.cut.Load() { // cut meanwhile: the connection's goroutine ends the poll
		poll.mu.Unlock()
		_ = conn.conn.Close()
		return
	}
	poll.timer = time.AfterFunc(hold, func() { poll.timedOut.Store(true); poll.Wake() })
	poll.shard = h.Dispatcher.Add(poll)
	poll.mu.Unlock()
	poll.Wake() // a publish since the poll looked
}

// heldPoll is one held poll: a subscriber of the dispatchers, and the
// source of its pusher, which writes its answer once it is due.
type heldPoll struct {
	fanout.Pusher
	h        *Host
	l        *directConn
	poll     Poll
	head     http.Header // the response's headers, as the middleware set them
	closing  bool        // the connection closes after the answer
	lc       *fanout.LiveConn
	mu       sync.Mutex // guards l, shard and timer while the poll is set up
	shard    *fanout.Shard
	timer    *time.Timer
	timedOut atomic.Bool
	cut      atomic.Bool            // hung up by /api/drop
	why      atomic.Pointer[string] // told goodbye (transports' health.go): the answer is a 503 with why
	answered atomic.Bool            // its answer is out
	over     atomic.Bool            // answered, or ended without an answer
	ended    sync.Once
	done     chan struct{} // closed once over
}

// Next is the answer, once one is due: news for the cursor, the timeout,
// or the shutdown (then the connection closes after it).
func (w *heldPoll) Next(b []byte) (_, shared []byte, last bool) {
	h := w.h
	t := &h.Stats.LongPoll
	shutting := h.shuttingDown()
	w.closing = w.closing || shutting
	if why := w.why.Load(); why != nil { // as transports' answerGoodbye (health.go)
		body, _ := json.Marshal(map[string]string{"error": *why})
		w.head["Retry-After"] = []string{"0"}
		w.head["Content-Type"] = jsonType
		return w.answer(b, http.StatusServiceUnavailable, append(body, '\n'))
	}
	a := h.Answer(w.poll)
	if !a.News && !shutting && !w.timedOut.Load() {
		return b, nil, false
	}
	t.Answered(a.Messages)
	w.head["Cache-Control"] = noStore
	w.head["Content-Type"] = jsonType
	return w.answer(b, http.StatusOK, a.Body)
}

// The headers of an answer, as the server's own poll answers have them
// (transports' page.go), made once: net/http only reads them.
var (
	noStore  = []string{"no-store"}
	jsonType = []string{"application/json"}
)

// answer appends the response, the last bytes, and counts its head: it
// goes out by the pusher, past the counting conn's reading of heads. A
// large body is not copied: the pusher writes it from where it is, after
// the head (the answer is shared by every poll that asks the same).
func (w *heldPoll) answer(b []byte, status int, body []byte) (_, shared []byte, last bool) {
	n := len(b)
	b = appendHead(b, status, w.head, len(body), w.closing)
	w.h.Stats.LongPoll.WroteHead(len(b) - n)
	if len(body) > directCopyMax {
		return b, body, true
	}
	return append(b, body...), nil, true
}

// sent: the answer is out. The connection is idle now, or, when it closes
// after the answer, half closed: the client reads the answer, then sees
// the end, and the connection's goroutine, whose read ends then (or at a
// linger's bound), closes the socket.
func (w *heldPoll) Sent() {
	l := w.l
	wiremeter.ConnState(l.conn, http.StateIdle)
	w.answered.Store(true)
	if w.closing {
		closeWrite(l.conn)
		_ = l.conn.SetReadDeadline(time.Now().Add(directLinger))
	} else {
		l.idleNow()
	}
	w.end()
}

func (w *heldPoll) Failed(error) {
	w.end()
	_ = w.l.conn.Close()
}

func (w *heldPoll) HungUp() bool { return w.over.Load() }

// goodbye is the poll's goodbye (transports' health.go): it is answered at once with
// why, as a 503, and the client tries again, elsewhere. (It runs under the
// lock of the live connections, which the answer leaves: the answer is
// written by a goroutine of its own, a rare one.)
func (w *heldPoll) goodbye(why string) {
	w.why.CompareAndSwap(nil, &why)
	w.mu.Lock()
	ready := w.l != nil
	w.mu.Unlock()
	if ready { // else holdDirect's own wake, still to come, answers
		go w.Wake()
	}
}

// hangUp is the poll's cut (/api/drop): its socket closes, without an
// answer, and the connection's goroutine, its read failing, ends the poll.
// (It runs under the lock of the live connections: it must not end the
// poll itself, which leaves them.)
func (w *heldPoll) hangUp() {
	w.cut.Store(true)
	w.mu.Lock()
	l := w.l
	w.mu.Unlock()
	if l != nil {
		_ = l.conn.Close()
	}
}

// end frees the waiter, once.
func (w *heldPoll) end() {
	w.ended.Do(func() {
		w.over.Store(true)
		w.mu.Lock()
		timer, shard := w.timer, w.shard
		w.mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		if shard != nil {
			shard.Remove(w)
		}
		h := w.h
		h.Live.Remove(w.lc)
		h.Stats.LongPoll.Left()
		close(w.done)
	})
}

// BlockedFor is never long: a poll's answer that the socket does not take
// fails on the write timeout, as net/http's would, not on the send
// timeout of the streams.
func (w *heldPoll) BlockedFor(int64) time.Duration { return 0 }

func (w *heldPoll) DropSlow() {}

// LongPollCounts are, for /metrics, the polls held here, the connections
// taken from net/http, and those handed back to it for another request.
func (h *Host) LongPollCounts() (held, taken, handedBack int64) {
	return h.polls.held.Load(), h.polls.taken.Load(), h.polls.handedBack.Load()
}
