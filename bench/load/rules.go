package load

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The page's rules, which the bench's fourway clients follow so that what
// the bench measures is what a reader of the page meets (public/client.js,
// network.js, ws.js, sse.js, longpoll.js, poll.js): how long a client waits
// before it tries again, and how it finds out that a connection died
// without closing (a tunnel, a laptop asleep, a NAT that forgot it).
const (
	// backoffBase and backoffCap are network.js's Backoff: the n-th retry
	// in a row waits a random time below min(cap, base·2ⁿ), "full jitter",
	// so that clients cut at once do not come back at once.
	backoffBase = 500 * time.Millisecond
	backoffCap  = 20 * time.Second
	// healthyAfter is network.js's HEALTHY_MS: a stream that stayed up this
	// long starts its next retry at the smallest wait again.
	healthyAfter = 5 * time.Second
	// sseWatch is sse.js's WATCH_MS: after this long with no event, the
	// SSE watchdog asks GET /api/stats (with this deadline) for the feed's
	// last id; a message the server had at one check and the stream has
	// still not brought at the next is a dead stream.
	sseWatch = 5 * time.Second
	// sseUnanswered is sse.js's UNANSWERED: so many checks in a row that got
	// no answer within their deadline, while the stream brought nothing
	// either, are a dead stream (a silent link, which the checks cross too).
	sseUnanswered = 2
	// pollDeadline is poll.js's TIMEOUT_MS, the deadline of one poll.
	pollDeadline = 10 * time.Second
	// longPollGrace is longpoll.js's GRACE_MS: a long poll's deadline is the
	// hold it asked for and this much more.
	longPollGrace = 5 * time.Second
	// longPollFirst is the hold longpoll.js asks on the first request after
	// a start or a failure, in seconds: a broken server is found at once.
	longPollFirst = 1
)

// rules is one subscriber's state under the page's rules: its backoff,
// when it last heard from its stream, and what an outage made it notice.
type rules struct {
	herd bool // -herd: retry at the backoff's ceiling, no jitter (every client at once)
	hold int  // the long poll's hold in seconds, /api/config's timeout_ms; 0: 30
	// heartbeat is the WebSocket heartbeat's period where no hello names
	// it (Nchan's, nchanHeartbeat; shorter in tests).
	heartbeat time.Duration
	// watch and deadline are the SSE watchdog's period and a poll's
	// deadline: sseWatch and pollDeadline (newSub), shorter in tests.
	watch, deadline time.Duration
	attempt         int   // retries in a row since the last healthy connection
	openedAt        int64 // Mono when the current stream said hello; 0: none open
	lastHeard       atomic.Int64
	lastID          atomic.Uint64 // the id of the last message received (the SSE watchdog's cursor)
	// noticed is when the subscriber first gave up on a connection as
	// dead after the outage began (Mono), and how.
	noticed   atomic.Int64
	noticeHow atomic.Pointer[string]
	// notices are every time it gave up on a connection as dead after an
	// outage began: a link silent again and again (train) is told apart
	// by their times.
	noticeMu sync.Mutex
	notices  []noticed
	// served is when the subscriber was first served again after a
	// storm's cut (Mono): a stream's hello, a poll's answer.
	served atomic.Int64
	// caughtUp is, for each silence of the link, the latest receipt
	// (Mono) of a message intended before its return and after the
	// previous one's: owned by the subscriber's goroutine.
	caughtUp []int64
}

// noticed is one connection given up as dead: when (Mono), and how.
type noticed struct {
	at  int64
	how string
}

// backoff is the wait before the next retry, and counts the retry.
func (r *rules) backoff() time.Duration {
	ceiling := min(backoffCap, backoffBase<<min(r.attempt, 16))
	r.attempt++
	if r.herd {
		return ceiling
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// opened says a stream said hello: once it has been up healthyAfter, the
// next retry starts at the smallest wait again.
func (r *rules) opened() {
	r.openedAt = Mono()
	r.lastHeard.Store(r.openedAt)
}

// answered says a poll was answered: the next failure starts over.
func (r *rules) answered() { r.attempt = 0 }

// heard says a frame or an event came that the page would see.
func (r *rules) heard() { r.lastHeard.Store(Mono()) }

// notice records that the subscriber gave up on a connection as dead,
// how ("watchdog", "deadline"), if it is the first time since the
// outage began at outageStart (Mono; 0 while there is none).
func (r *rules) notice(outageStart int64, how string) {
	now := Mono()
	if outageStart == 0 || now < outageStart {
		return
	}
	if r.noticed.CompareAndSwap(0, now) {
		r.noticeHow.Store(&how)
	}
	r.noticeMu.Lock()
	r.notices = append(r.notices, noticed{now, how})
	r.noticeMu.Unlock()
}

// firstNotice is the first connection given up in [from, to) (Mono).
func (r *rules) firstNotice(from, to int64) (noticed, bool) {
	r.noticeMu.Lock()
	defer r.noticeMu.Unlock()
	for _, n := range r.notices {
		if n.at >= from && n.at < to {
			return n, true
		}
	}
	return noticed{}, false
}

// serve records that the subscriber is served: a stream said hello, or a
// poll was answered; the first time since the storm's cut at stormAt
// (Mono; 0 while there is none) is kept.
func (r *rules) serve(stormAt int64) {
	if now := Mono(); stormAt != 0 && now >= stormAt {
		r.served.CompareAndSwap(0, now)
	}
}

// retryWait is the wait before the next attempt: the backoff, started
// over when the stream that just ended had been healthy.
func (r *rules) retryWait() time.Duration {
	if r.openedAt != 0 && Mono()-r.openedAt >= int64(healthyAfter) {
		r.attempt = 0
	}
	r.openedAt = 0
	return r.backoff()
}

// longPollHold is the hold a long poll asks for, in seconds: 1 on the
// first request after a start or a failure, then the server's default.
func (r *rules) longPollHold(first bool) int {
	switch {
	case first:
		return longPollFirst
	case r.hold > 0:
		return r.hold
	}
	return 30
}
