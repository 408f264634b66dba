// Package feed owns the message feed: ordering, history and the wake-up that
// fans each publish out to every subscriber.
//
// A publish takes the next consecutive id and the server time, and encodes
// the message JSON once. Those bytes are what every subscriber of every
// transport receives, so the four transports can be compared byte for byte.
//
// Subscribers are never pushed to. Each one keeps a cursor (the last id it
// has) and pulls what comes after it with Read; Changed gives it a channel
// that is closed by the next publish. A publish therefore costs the same with
// no subscriber or ten thousand, and one slow subscriber cannot delay the
// publisher or anyone else: it only falls behind on its own cursor, and its
// transport decides when it has fallen too far (see transports).
//
// Memory is the in-memory feed. A feed backed by a cluster broker, which
// assigns the ids itself, replaces it by offering the same methods; the
// transports only know the small interface they declare.
package feed

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"sync"
	"time"
)

// ErrClosed is returned by Publish once the feed is closed for shutdown.
var ErrClosed = errors.New("feed: closed")

// Message is one published message.
type Message struct {
	ID   uint64
	Time float64 // server time of the publish, Unix epoch in milliseconds
	// JSON is the message as every subscriber receives it:
	// {"id":42,"time":1763773323456.789,"data":...}. Never modify it.
	JSON []byte
}

// Page is the answer to "what comes after this cursor".
type Page struct {
	// Epoch names the id sequence the page belongs to (see Memory.Epoch):
	// the cursor Next is only meaningful together with it.
	Epoch    string
	Messages []Message
	// Next is the cursor to ask with next time: the last id in Messages, or,
	// when Messages is empty, the cursor the reader continues from.
	Next uint64
	// Missed counts the messages after the cursor that are no longer
	// retained: the reader continues from the oldest retained one.
	Missed uint64
	// Reset is true when the cursor belongs to another epoch, or is ahead
	// of the feed: the id sequence started over since the reader got it.
	// The reader continues from the start of the feed, as from cursor 0
	// (so Missed may be set too, when the start is no longer retained).
	Reset bool
	// More is true when messages after Next exist already: the reader
	// should ask again at once.
	More bool
}

// Stats describes the feed at one moment.
type Stats struct {
	LastID    uint64 `json:"last_id"`
	OldestID  uint64 `json:"oldest_id"` // 0 when nothing is retained
	Published uint64 `json:"published"` // publishes since this process started
	// JetStream is a JetStream node's view of its stream; nil on Memory.
	JetStream *JetStreamStats `json:"jetstream,omitempty"`
}

// Memory is the in-memory feed: a ring of the last history messages.
// All methods are safe for concurrent use.
type Memory struct {
	epoch     string // fixed for the life of the feed
	mu        sync.RWMutex
	ring      []Message // ring[id%len(ring)] holds message id, for the retained ids
	last      uint64    // id of the newest message, 0 before the first
	retained  uint64    // how many of the newest ids are in the ring
	published uint64
	changed   chan struct{} // closed and replaced by every publish
	closed    bool
	now       func() time.Time
}

// NewMemory returns an empty in-memory feed that retains the last history
// messages (at least 1).
func NewMemory(history int) *Memory {
	if history < 1 {
		history = 1
	}
	return &Memory{
		epoch:   NewEpoch(),
		ring:    make([]Message, history),
		changed: make(chan struct{}),
		now:     time.Now,
	}
}

// NewEpoch returns a fresh random epoch: 8 characters of base64url
// (letters, digits, - and _), 48 random bits, so two runs of a server do
// not pick the same one.
func NewEpoch() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Epoch names this feed's id sequence. An in-memory feed starts its ids
// over at 1 every time the process starts, so each Memory has an epoch of
// its own: a cursor that a client got from an earlier process carries that
// process's epoch, and Read answers it with Reset instead of silently
// skipping the messages the new process published under the same ids.
func (f *Memory) Epoch() string { return f.epoch }

// Publish appends data as the next message and wakes every waiting reader.
// data must be one compact JSON value without a newline; the caller (the
// publish endpoint) validates and compacts it.
func (f *Memory) Publish(data []byte) (Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Message{}, ErrClosed
	}
	f.last++
	f.published++
	m := Message{ID: f.last, Time: float64(f.now().UnixMicro()) / 1000}
	m.JSON = Encode(m.ID, m.Time, data)
	f.ring[f.last%uint64(len(f.ring))] = m
	if f.retained < uint64(len(f.ring)) {
		f.retained++
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return m, nil
}

// Encode writes the wire form of one message: compact, keys in the order
// id, time, data.
func Encode(id uint64, timeMs float64, data []byte) []byte {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendFloat(b, timeMs, 'f', 3, 64)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// Read returns up to limit messages after the cursor, oldest first, and
// reports the missed and reset cases. epoch is the epoch the cursor came
// with; "" skips the check (a client that never learned the epoch). Cursor 0
// is "after id 0" like any other: when id 1 is no longer retained, the
// page says how many messages were missed.
func (f *Memory) Read(epoch string, cursor uint64, limit int) Page {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p := Page{Epoch: f.epoch}
	if (epoch != "" && epoch != f.epoch) || cursor > f.last {
		p.Reset = true
		cursor = 0
	}
	oldest := f.last - f.retained + 1 // f.last+1 when nothing is retained
	ringView{f.ring, oldest, f.last}.read(&p, cursor, limit)
	return p
}

// ringView is a history ring that holds the ids oldest to last, id i at
// i % len(ring).
type ringView struct {
	ring         []Message
	oldest, last uint64
}

// read reads into p up to limit (0: no limit) messages after cursor,
// saying in p how many were missed (gone from the ring), whether more are
// waiting, and the cursor after them.
func (r ringView) read(p *Page, cursor uint64, limit int) {
	ring, oldest, last := r.ring, r.oldest, r.last
	from := cursor // deliver ids > from
	if cursor+1 < oldest {
		p.Missed = oldest - 1 - cursor
		from = oldest - 1
	}
	p.Next = from
	n := last - from
	if limit > 0 && n > uint64(limit) {
		n = uint64(limit)
		p.More = true
	}
	if n > 0 {
		p.Messages = make([]Message, n)
		for i := range p.Messages {
			p.Messages[i] = ring[(from+1+uint64(i))%uint64(len(ring))]
		}
		p.Next = from + n
	}
}

// LastID returns the id of the newest message, 0 before the first.
func (f *Memory) LastID() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.last
}

// Changed returns a channel that is closed once a message after cursor
// exists: at once (already closed) if one exists now, or by the next publish.
// A reader that stops waiting simply drops the channel; nothing to clean up.
func (f *Memory) Changed(cursor uint64) <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.last != cursor { // newer messages, or a cursor from before a reset
		return closedChan
	}
	return f.changed
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Close stops publishing: every later Publish fails with ErrClosed. Readers
// can still read what the feed holds, so acknowledged messages get delivered
// during a graceful shutdown.
func (f *Memory) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

// Stats returns the feed's figures.
func (f *Memory) Stats() Stats {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := Stats{LastID: f.last, Published: f.published}
	if f.retained > 0 {
		s.OldestID = f.last - f.retained + 1
	}
	return s
}
