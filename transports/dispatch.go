package transports

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

// subscriber is a streaming connection the dispatchers wake.
type subscriber interface {
	// wake has it send what there is to send. It never blocks.
	wake()
	// blockedFor is how long the write in progress (if any) has waited
	// for the socket, at now (UnixNano).
	blockedFor(now int64) time.Duration
	// dropSlow drops it as too slow, to resume from its cursor.
	dropSlow()
}

// dispatcher holds the shards.
type dispatcher struct {
	start  sync.Once
	shards []shard
	next   atomic.Uint32
}

// shard is a share of the subscribers, woken by one goroutine.
type shard struct {
	mu   sync.Mutex
	subs map[subscriber]struct{}

	woken []subscriber // the dispatcher's copy of subs, reused
}

func newDispatcher() *dispatcher {
	d := &dispatcher{shards: make([]shard, max(1, runtime.GOMAXPROCS(0)))}
	for i := range d.shards {
		d.shards[i].subs = map[subscriber]struct{}{}
	}
	return d
}

// add puts sub in a shard, starting the dispatchers at the first
// subscriber (so Handler works without Serve: they run until the
// shutdown). It returns the shard, for remove.
func (s *Server) addSubscriber(sub subscriber) *shard {
	d := s.subs
	d.start.Do(func() {
		last := s.feed.LastID() // now, not when the goroutines first run: a publish in between must wake
		for i := range d.shards {
			go s.dispatch(&d.shards[i], last)
		}
	})
	sh := &d.shards[int(d.next.Add(1))%len(d.shards)]
	sh.mu.Lock()
	sh.subs[sub] = struct{}{}
	sh.mu.Unlock()
	return sh
}

func (sh *shard) remove(sub subscriber) {
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
func (s *Server) dispatch(sh *shard, last uint64) {
	sweep := time.NewTicker(s.cfg.SendTimeout / sweepsPerSendTimeout)
	defer sweep.Stop()
	for {
		select {
		case <-s.feed.Changed(last):
			last = s.feed.LastID()
			sh.wakeAll(s.cfg.SendTimeout)
		case <-sweep.C:
			sh.dropBlocked(s.cfg.SendTimeout)
		case <-s.shutdown:
			sh.wakeAll(s.cfg.SendTimeout)
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
func (sh *shard) wakeAll(sendTimeout time.Duration) {
	sh.mu.Lock()
	woken := sh.woken[:0]
	for sub := range sh.subs {
		woken = append(woken, sub)
	}
	sh.mu.Unlock()
	now := time.Now().UnixNano()
	for i, sub := range woken {
		if sub.blockedFor(now) > sendTimeout {
			sub.dropSlow()
		} else {
			sub.wake()
		}
		woken[i] = nil // holds no connection until the next round
	}
	sh.woken = woken[:0]
}

// dropBlocked drops the subscribers of the shard whose socket has taken no
// bytes for longer than sendTimeout, as wakeAll does, waking no one.
func (sh *shard) dropBlocked(sendTimeout time.Duration) {
	now := time.Now().UnixNano()
	sh.mu.Lock()
	slow := sh.woken[:0]
	for sub := range sh.subs {
		if sub.blockedFor(now) > sendTimeout {
			slow = append(slow, sub)
		}
	}
	sh.mu.Unlock()
	for i, sub := range slow { // dropped outside the lock: a subscriber may leave the shard meanwhile
		sub.dropSlow()
		slow[i] = nil
	}
	sh.woken = slow[:0]
}
