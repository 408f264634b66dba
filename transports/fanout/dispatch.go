package fanout

// The dispatchers: how one publish reaches every streaming subscriber
// (WebSocket and SSE alike) without a goroutine per subscriber. The
// subscribers are shared out among shards, one per core; each shard's
// dispatcher waits for the feed to change, then wakes each of its
// subscribers, which sends what it has right there, without waiting for
// its socket. Several publishes that come while a dispatcher works are one
// wake. A subscriber whose socket has taken no bytes for the send timeout
// is dropped instead of woken, or by the dispatcher's sweep when no
// publish comes.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Subscriber is a streaming connection the dispatchers wake.
type Subscriber interface {
	// Wake has it send what there is to send. It never blocks.
	Wake()
	// BlockedFor is how long the write in progress (if any) has waited
	// for the socket, at now (UnixNano).
	BlockedFor(now int64) time.Duration
	// DropSlow drops it as too slow, to resume from its cursor.
	DropSlow()
}

// Feed is what the dispatchers need of the feed: when it changed, and
// its newest id.
type Feed interface {
	// Changed is closed once a message after cursor exists.
	Changed(cursor uint64) <-chan struct{}
	// LastID is the newest id.
	LastID() uint64
}

// A Dispatcher holds the shards.
type Dispatcher struct {
	feed        Feed
	sendTimeout time.Duration   // how long a socket may take no bytes before its subscriber is dropped
	shutdown    <-chan struct{} // closed when a graceful shutdown begins: a last wake, then the end

	start  sync.Once
	shards []Shard
	next   atomic.Uint32
}

// A Shard is a share of the subscribers, woken by one goroutine.
type Shard struct {
	mu   sync.Mutex
	subs map[Subscriber]struct{}

	woken []Subscriber // the dispatcher's copy of subs, reused
}

// NewDispatcher returns the dispatchers of f's subscribers, one shard
// per core. A subscriber whose socket has taken no bytes for sendTimeout
// is dropped; when shutdown is closed, each is woken once more, to drain
// and say goodbye, and the dispatchers end.
func NewDispatcher(f Feed, sendTimeout time.Duration, shutdown <-chan struct{}) *Dispatcher {
	d := &Dispatcher{feed: f, sendTimeout: sendTimeout, shutdown: shutdown,
		shards: make([]Shard, max(1, runtime.GOMAXPROCS(0)))}
	for i := range d.shards {
		d.shards[i].subs = map[Subscriber]struct{}{}
	}
	return d
}

// Add puts sub in a shard, starting the dispatchers at the first
// subscriber (so a server's handler works without its Serve: they run
// until the shutdown). It returns the shard, for Remove.
func (d *Dispatcher) Add(sub Subscriber) *Shard {
	d.start.Do(func() {
		last := d.feed.LastID() // now, not when the goroutines first run: a publish in between must wake
		for i := range d.shards {
			go d.dispatch(&d.shards[i], last)
		}
	})
	sh := &d.shards[int(d.next.Add(1))%len(d.shards)]
	sh.mu.Lock()
	sh.subs[sub] = struct{}{}
	sh.mu.Unlock()
	return sh
}

// Remove takes sub out of the shard: it is woken no more (but once, at
// most, by a round already under way).
func (sh *Shard) Remove(sub Subscriber) {
	sh.mu.Lock()
	delete(sh.subs, sub)
	sh.mu.Unlock()
}

// sweepsPerSendTimeout is how often, per send timeout, a dispatcher looks
// for subscribers whose socket stopped taking bytes. A reader that stops
// during a burst, the feed then quiet, has no publish to find it: the
// sweep drops it once its write has waited between one and 1.25 send
// timeouts, not at the write timeout. (A timer per blocked write would
// cost every write that waits; the sweep costs a look at each subscriber,
// an atomic load, four times a send timeout.)
const sweepsPerSendTimeout = 4

// dispatch wakes the shard's subscribers after each publish after last,
// and once more when a shutdown begins, so each one drains and says
// goodbye; between publishes, it sweeps.
func (d *Dispatcher) dispatch(sh *Shard, last uint64) {
	sweep := time.NewTicker(d.sendTimeout / sweepsPerSendTimeout)
	defer sweep.Stop()
	for {
		select {
		case <-d.feed.Changed(last):
			last = d.feed.LastID()
			sh.wakeAll(d.sendTimeout)
		case <-sweep.C:
			sh.dropBlocked(d.sendTimeout)
		case <-d.shutdown:
			sh.wakeAll(d.sendTimeout)
			return
		}
	}
}

// wakeAll wakes every subscriber of the shard, after dropping those whose
// socket has taken no bytes for longer than sendTimeout: a write of theirs
// has been blocked on a full send buffer that long. Dropping here rather
// than in the subscriber's writer catches one whose writer is stuck in
// that write. A subscriber that is merely behind the feed (a burst moved
// the head before it ran) is woken like any other: it catches up, or is
// told what it missed.
//
// It wakes a copy of the shard's list, so a connection that joins or
// leaves meanwhile does not wait for the round: one that left may still be
// woken once, and finds its socket closed.
func (sh *Shard) wakeAll(sendTimeout time.Duration) {
	sh.mu.Lock()
	woken := sh.woken[:0]
	for sub := range sh.subs {
		woken = append(woken, sub)
	}
	sh.mu.Unlock()
	now := time.Now().UnixNano()
	for i, sub := range woken {
		if sub.BlockedFor(now) > sendTimeout {
			sub.DropSlow()
		} else {
			sub.Wake()
		}
		woken[i] = nil // holds no connection until the next round
	}
	sh.woken = woken[:0]
}

// dropBlocked drops the subscribers of the shard whose socket has taken no
// bytes for longer than sendTimeout, as wakeAll does, waking no one.
func (sh *Shard) dropBlocked(sendTimeout time.Duration) {
	now := time.Now().UnixNano()
	sh.mu.Lock()
	slow := sh.woken[:0]
	for sub := range sh.subs {
		if sub.BlockedFor(now) > sendTimeout {
			slow = append(slow, sub)
		}
	}
	sh.mu.Unlock()
	for i, sub := range slow { // dropped outside the lock: a subscriber may leave the shard meanwhile
		sub.DropSlow()
		slow[i] = nil
	}
	sh.woken = slow[:0]
}
