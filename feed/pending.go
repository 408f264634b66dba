package feed

import (
	"sync"
	"sync/atomic"
)

// StartingError is the health of a feed still opening: Reason says, in
// words, what it waits for ("waiting for NATS at nats://nats:4222").
type StartingError struct{ Reason string }

func (e *StartingError) Error() string { return "starting: " + e.Reason }

// Pending stands in for a JetStream feed while it opens (OpenJetStream),
// so that a server can listen from its start and say that it is starting,
// instead of exiting or not answering at all. Until Set, Health returns a
// *StartingError with the reason, Publish fails with it, a Read finds
// nothing, and Changed returns a channel that Set closes. From Set on,
// every method is the feed's. All methods are safe for concurrent use.
type Pending struct {
	stream   string
	replicas int
	ready    chan struct{} // closed by Set
	f        atomic.Pointer[JetStream]

	mu     sync.Mutex
	reason string
	closed bool // Close came before Set: Set closes the feed
}

// NewPending returns the stand-in of the feed cfg describes, waiting for
// NATS at cfg.URL.
func NewPending(cfg JetStreamConfig) *Pending {
	cfg, _ = cfg.withDefaults() // the stream's name, if none is given; OpenJetStream refuses what is out of range
	return &Pending{
		stream:   cfg.Stream,
		replicas: cfg.Replicas,
		ready:    make(chan struct{}),
		reason:   "waiting for NATS at " + Redact(cfg.URL),
	}
}

// starting says what the opening waits for now.
func (p *Pending) starting(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reason = reason
}

// Set makes f the feed, once: from now on every method is f's. If Close
// came first, f is closed too.
func (p *Pending) Set(f *JetStream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f.Load() != nil {
		return
	}
	if p.closed {
		f.Close()
	}
	p.f.Store(f)
	close(p.ready)
}

// Health is the feed's, or a *StartingError until it is set.
func (p *Pending) Health() error {
	if f := p.f.Load(); f != nil {
		return f.Health()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return &StartingError{Reason: p.reason}
}

// Publish is the feed's, or fails with a *StartingError until it is set.
func (p *Pending) Publish(data []byte) (Message, error) {
	if f := p.f.Load(); f != nil {
		return f.Publish(data)
	}
	return Message{}, p.Health()
}

// Epoch is the feed's, or "" until it is set.
func (p *Pending) Epoch() string {
	if f := p.f.Load(); f != nil {
		return f.Epoch()
	}
	return ""
}

// Read is the feed's; until it is set, a page with nothing after cursor.
func (p *Pending) Read(epoch string, cursor uint64, limit int) Page {
	if f := p.f.Load(); f != nil {
		return f.Read(epoch, cursor, limit)
	}
	return Page{Next: cursor}
}

// LastID is the feed's, or 0 until it is set.
func (p *Pending) LastID() uint64 {
	if f := p.f.Load(); f != nil {
		return f.LastID()
	}
	return 0
}

// Changed is the feed's; until it is set, a channel closed when it is: a
// reader then finds the feed's messages, or its reset.
func (p *Pending) Changed(cursor uint64) <-chan struct{} {
	if f := p.f.Load(); f != nil {
		return f.Changed(cursor)
	}
	return p.ready
}

// Close closes the feed, now or when it is set.
func (p *Pending) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if f := p.f.Load(); f != nil {
		f.Close()
	}
}

// Stats are the feed's; until it is set, the stream's name and copies,
// and why it is not there yet in its error.
func (p *Pending) Stats() Stats {
	if f := p.f.Load(); f != nil {
		return f.Stats()
	}
	return Stats{JetStream: &JetStreamStats{Stream: p.stream, Replicas: p.replicas, Error: p.Health().Error()}}
}
