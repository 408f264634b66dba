package feed

// JetStream is the feed of a node among several: the messages live in one
// NATS JetStream stream, and every fourway node in front of it serves the
// same feed, so a client's cursor is valid on every node.
//
// How the feed's words map onto JetStream:
//
//   - A message id is the stream sequence. The stream holds one subject and
//     refuses single-message deletes (deny_delete), so its sequence is
//     gap-free: the message after id N is N+1, as the transports require.
//   - The message bytes are built from what the stream stores, the
//     sequence, the stream's own timestamp and the data, with Encode. Every
//     node builds the same bytes, so a subscriber gets identical messages
//     whichever node it reads from.
//   - The epoch names the stream's life: it is taken from the time JetStream
//     created the stream, which every replica reports alike. A stream that
//     is deleted and created again starts its sequence over at 1 and gets a
//     new epoch, so a cursor from before is answered with reset.
//   - History is the stream's MaxMsgs, discarding the oldest. A cursor whose
//     successor the stream no longer holds is answered with missed.
//
// Each node consumes the stream in order (an ordered consumer, starting at
// the stream's first message) into a local ring as large as the stream's
// history, and answers every Read from that ring, without a round trip.
// Since the ring is as large as the stream, it holds everything the stream
// holds, up to the node's lag: a reader behind the ring is behind the
// stream too, and has missed those messages. A reader ahead of the ring
// (its cursor came from a faster node) waits until this node has caught
// up; it is never reset for that, when it names its epoch: in one epoch, a
// cursor no larger than the stream's last sequence is always valid.
//
// A publish stores only the data, with a Nats-Msg-Id header, and returns
// once JetStream has acknowledged it (it is then replicated) and this node
// has it in its ring: a retry inside the bound sends the same id, so the
// stream stores it once. A publish that is not acknowledged in time fails
// with ErrUnavailable (503), never silently.
//
// A watcher asks for the stream's state every CheckEvery: it notices a
// recreated stream (a new epoch), measures the node's lag, and backs Health.
// A reader does not wait for it: a cursor whose epoch names a stream
// created after the one this node reads (it came from a node that already
// saw the recreation) has the node ask JetStream first, once, bounded by
// epochCheckMax, and it is answered in the new epoch, never reset to the
// old one (see Read).
// The consumer's library replaces a failed consumer by itself, from where
// it was; if the stream was recreated meanwhile, the replacement would read
// the new stream as if it continued the old one. So a replacement's
// messages are never applied: they ask for a check, which starts a new
// epoch, or a consumer of the node's own from its ring's last (see apply).

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// epochCheckMax bounds how long a Read with a newer epoch than the node's
// waits for the stream check it asks for (see Read).
const epochCheckMax = 500 * time.Millisecond

// ErrUnavailable is returned by Publish when the broker did not acknowledge
// the message in time: it may or may not be stored, and the publisher
// should try again later (HTTP 503).
var ErrUnavailable = errors.New("feed: the message broker did not acknowledge the publish")

// JetStreamConfig says where the stream is and how it must be.
type JetStreamConfig struct {
	URL      string // NATS server URL(s), comma-separated
	Stream   string // stream name, such as FOURWAY
	History  int    // the stream's MaxMsgs, and the size of the local ring
	Replicas int    // copies of the stream in a cluster: 1, or 3 for a 3-node cluster
	Node     string // this node's name, given to the NATS connection

	// PublishTimeout bounds a publish, retries included (default 2 s).
	PublishTimeout time.Duration
	// CheckEvery is the period of the stream check (default 1 s): a
	// recreated stream is noticed within it, and Health fails when a check
	// has not succeeded for three periods.
	CheckEvery time.Duration
	// StartTimeout bounds NewJetStream: connecting, creating or checking
	// the stream and catching up with what it holds, tried again within it
	// (default 10 s); OpenJetStream is bounded by its context instead. It
	// also bounds the start of a consumer.
	StartTimeout time.Duration
	// RequestTimeout bounds each request to JetStream while the feed opens
	// (default 2 s): a request that no server answers is sent again after
	// it (see open.go), and the connection's dial is bounded by it too.
	RequestTimeout time.Duration
	// Options are added to the NATS connection's (tests use it).
	Options []nats.Option
}

// Subject is the one subject of the stream named stream.
func Subject(stream string) string { return stream + ".messages" }

// JetStreamStats is a JetStream node's view of the stream, in Stats.
type JetStreamStats struct {
	Stream    string `json:"stream"`
	Connected bool   `json:"connected"`          // the NATS connection is up
	Error     string `json:"error,omitempty"`    // why the last stream check failed
	Leader    string `json:"leader,omitempty"`   // the NATS server leading the stream
	Replicas  int    `json:"replicas"`           // configured copies
	Current   int    `json:"current"`            // copies up to date, the leader's included
	Messages  uint64 `json:"messages"`           // held by the stream
	FirstSeq  uint64 `json:"first_seq"`          // as of the last check
	LastSeq   uint64 `json:"last_seq"`           // as of the last check
	Lag       uint64 `json:"lag"`                // messages the stream had, at the last check, that this node had not yet
	CheckedMS int64  `json:"checked_ms_ago"`     // age of the last successful check
	Epochs    int    `json:"epochs"`             // stream lives seen by this node: 1, more after a recreation
	Consumers int    `json:"consumers"`          // ordered consumers this node started: 1, more after a recreation or a lost link
	Consumer  string `json:"consumer,omitempty"` // the consumer's last error, if any
}

// JetStream is a feed on a NATS JetStream stream. All methods are safe for
// concurrent use. Create it with NewJetStream; Disconnect it after the
// server using it has stopped.
type JetStream struct {
	cfg     JetStreamConfig
	subject string
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream // by name: it reaches a recreated stream too
	poke    chan struct{}    // asks the watcher for a check now
	stop    chan struct{}    // closed by stopWatching
	done    chan struct{}    // closed when the watcher has returned
	stopped sync.Once        // closes stop

	checkMu sync.Mutex // one stream check at a time: the watcher's or a reader's (checkFor)

	mu        sync.RWMutex
	epoch     string
	created   time.Time // the stream's creation time, the epoch's source
	epochs    int
	ring      []Message // ring[id%len(ring)] holds message id, for ids first..last
	first     uint64    // oldest id in the ring; last+1 when it is empty
	last      uint64    // newest id in the ring; the cursor "now"
	known     uint64    // the stream's last sequence as far as this node knows
	changed   chan struct{}
	closed    bool
	published uint64
	gen       int  // consumer generation: messages of an older consumer are ignored
	unchecked bool // the library replaced the consumer: a stream check must say which stream it reads
	consumers int
	consume   jetstream.ConsumeContext
	check     checkResult
	consErr   string
}

// checkResult is what the last stream check found.
type checkResult struct {
	at      time.Time // of the last success
	started time.Time // when the last success asked
	err     error     // of the last attempt
	info    *jetstream.StreamInfo
}

// NewJetStream connects to NATS, creates the stream if it is absent or
// checks its configuration if present, and catches up with what the stream
// holds before it returns, so LastID is the stream's last sequence from
// the start. It tries again, as OpenJetStream does, for StartTimeout. A
// stream configured otherwise than cfg asks is an error that names the
// setting.
func NewJetStream(cfg JetStreamConfig) (*JetStream, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartTimeout)
	defer cancel()
	return OpenJetStream(ctx, cfg, nil, nil)
}

// Validate checks every setting of cfg that NewJetStream and OpenJetStream
// would refuse, and names the first one out of its range by its flag.
func (cfg JetStreamConfig) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults returns cfg with a default for each setting left zero, or
// the error of the first one out of its range.
func (cfg JetStreamConfig) withDefaults() (JetStreamConfig, error) {
	if cfg.Stream == "" {
		cfg.Stream = "FOURWAY"
	}
	if err := checkURLs(cfg.URL); err != nil {
		return cfg, err
	}
	if strings.ContainsAny(cfg.Stream, ".*> \t\r\n/\\") {
		return cfg, fmt.Errorf("--nats-stream %q: a stream name may not hold . * > / \\ or spaces", cfg.Stream)
	}
	if cfg.History < 1 {
		return cfg, fmt.Errorf("jetstream: history must be at least 1, not %d", cfg.History)
	}
	if cfg.Replicas < 1 || cfg.Replicas > 5 {
		return cfg, fmt.Errorf("--nats-replicas must be from 1 to 5, not %d", cfg.Replicas)
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = time.Second
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	return cfg, nil
}

// streamConfig is the stream fourway creates: one subject, the last
// History messages, gap-free sequences.
func (f *JetStream) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       f.cfg.Stream,
		Subjects:   []string{f.subject},
		Retention:  jetstream.LimitsPolicy,
		MaxMsgs:    int64(f.cfg.History),
		Discard:    jetstream.DiscardOld,
		Storage:    jetstream.FileStorage,
		Replicas:   f.cfg.Replicas,
		DenyDelete: true, // no single-message deletes: no gaps in the ids
		Duplicates: 2 * time.Minute,
	}
}

// openStream creates the stream, or finds it and checks it is the one
// fourway needs. Each request is bounded by RequestTimeout (ask, in
// open.go); step says, in words, what it is waiting for.
func (f *JetStream) openStream(ctx context.Context, url string, step func(string)) (*jetstream.StreamInfo, error) {
	name := f.cfg.Stream
	find := func(ctx context.Context) (jetstream.Stream, error) { return f.js.Stream(ctx, name) }
	step("waiting for JetStream at " + url)
	s, err := ask(ctx, f.cfg.RequestTimeout, find)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		step("creating the stream " + name)
		s, err = ask(ctx, f.cfg.RequestTimeout, func(ctx context.Context) (jetstream.Stream, error) {
			return f.js.CreateStream(ctx, f.streamConfig())
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node created it first, with some setting of its own: checkConfig says if it matters
			s, err = ask(ctx, f.cfg.RequestTimeout, find)
		}
		if err != nil {
			return nil, fmt.Errorf("creating the stream %s: %w", name, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("waiting for JetStream at %s: %w", url, err)
	}
	info := s.CachedInfo()
	if err := f.checkConfig(info.Config); err != nil {
		return nil, final{err}
	}
	f.stream = s
	return info, nil
}

// checkConfig compares an existing stream with what this node was asked
// for, and names the first setting that differs.
func (f *JetStream) checkConfig(c jetstream.StreamConfig) error {
	want := f.streamConfig()
	mismatch := func(setting, has, flag string) error {
		return fmt.Errorf("stream %s exists with %s %s, but %s: delete the stream (nats stream rm %s) or start with matching settings", c.Name, setting, has, flag, c.Name)
	}
	switch {
	case !slices.Equal(c.Subjects, want.Subjects):
		return mismatch("subjects", fmt.Sprint(c.Subjects), "fourway needs exactly ["+f.subject+"]")
	case c.Retention != want.Retention:
		return mismatch("retention", c.Retention.String(), "fourway needs limits")
	case c.MaxMsgs != want.MaxMsgs:
		return mismatch("max_msgs", fmt.Sprint(c.MaxMsgs), fmt.Sprintf("--history is %d", f.cfg.History))
	case c.Discard != want.Discard:
		return mismatch("discard", c.Discard.String(), "fourway needs old")
	case c.Replicas != want.Replicas && !(c.Replicas == 0 && want.Replicas == 1):
		return mismatch("replicas", fmt.Sprint(c.Replicas), fmt.Sprintf("--nats-replicas is %d", f.cfg.Replicas))
	case !c.DenyDelete:
		return mismatch("deny_delete false", "(single messages may be deleted, leaving gaps in the ids)", "fourway needs deny_delete")
	}
	return nil
}

// EpochOf is the epoch of a stream created at created: the creation time
// in nanoseconds, 11 characters of base64url.
func EpochOf(created time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(created.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// begin starts a new epoch for the stream described by info: an empty
// ring positioned before the stream's first message, and a new ordered
// consumer from there. Every waiting reader is woken, to find its reset.
func (f *JetStream) begin(ctx context.Context, info *jetstream.StreamInfo) error {
	start := max(info.State.FirstSeq, 1)
	f.mu.Lock()
	f.created = info.Created
	f.epoch = EpochOf(info.Created)
	f.epochs++
	f.ring = make([]Message, f.cfg.History)
	f.last = start - 1
	f.first = start
	f.known = info.State.LastSeq
	f.gen++ // from now on, the old consumer's messages are ignored
	f.wakeLocked()
	f.mu.Unlock()
	return f.startConsumer(ctx)
}

// startConsumer replaces the consumer with a new ordered consumer from
// the message after the ring's last. Messages of the one it replaces are
// ignored from here on (gen). It tries for StartTimeout, within ctx.
func (f *JetStream) startConsumer(ctx context.Context) error {
	f.mu.Lock()
	if old := f.consume; old != nil {
		// Stopping it can take a second when its stream is gone: no one
		// waits for that.
		go old.Stop()
		f.consume = nil
	}
	f.gen++
	f.unchecked = false
	f.consumers++
	gen, start := f.gen, f.last+1
	f.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, f.cfg.StartTimeout)
	defer cancel()
	var c jetstream.Consumer
	var err error
	for {
		// One attempt waits at most a quarter of the bound, so a request
		// whose answer was lost (in a cluster a reply can beat its
		// inbox's interest across the routes) is asked again in time.
		actx, acancel := context.WithTimeout(ctx, f.cfg.StartTimeout/4)
		c, err = f.js.OrderedConsumer(actx, f.cfg.Stream, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:   start,
		})
		acancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream consumer on %s: %w", f.cfg.Stream, err)
		case <-time.After(20 * time.Millisecond): // a refusal comes at once: do not spin
		}
	}
	cc, err := c.Consume(func(m jetstream.Msg) { f.receive(gen, m) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { f.consumerFailed(gen, err) }))
	if err != nil {
		return fmt.Errorf("jetstream consumer on %s: %w", f.cfg.Stream, err)
	}
	f.mu.Lock()
	if gen == f.gen {
		f.consume = cc
		cc = nil
	}
	f.mu.Unlock()
	if cc != nil { // replaced meanwhile
		go cc.Stop()
	}
	return nil
}

func (f *JetStream) stopConsumer() {
	f.mu.Lock()
	cc := f.consume
	f.consume = nil
	f.gen++
	f.mu.Unlock()
	if cc != nil {
		cc.Stop()
	}
}

// receive hands one message of the stream to apply. It runs on the
// consumer's goroutine, in stream order.
func (f *JetStream) receive(gen int, m jetstream.Msg) {
	if meta, err := m.Metadata(); err == nil {
		f.apply(gen, meta, m.Data())
	}
}

// apply puts one message into the ring.
//
// The ordered consumer's library replaces the consumer by itself when it
// fails (a reconnect, missed heartbeats, the consumer deleted), starting
// after the last message it delivered, and names the new one with the next
// serial (prefix_2, prefix_3, ...). If the stream was deleted and created
// again meanwhile, that replacement reads the new stream as if it followed
// the old one. So the messages of a replacement are not applied: the first
// asks for a stream check, which starts a new epoch if the stream is
// another, or a consumer of this node's own, from the ring's last, if not.
func (f *JetStream) apply(gen int, meta *jetstream.MsgMetadata, data []byte) {
	seq := meta.Sequence.Stream
	if !strings.HasSuffix(meta.Consumer, "_1") {
		f.mu.Lock()
		first := gen == f.gen && !f.unchecked
		if first {
			f.unchecked = true
		}
		f.mu.Unlock()
		if first {
			f.pokeWatcher()
		}
		return
	}
	msg := Message{ID: seq, Time: float64(meta.Timestamp.UnixMicro()) / 1000}
	msg.JSON = Encode(msg.ID, msg.Time, data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen || seq <= f.last {
		return // a consumer replaced since, or a redelivery
	}
	if seq != f.last+1 {
		// The stream no longer had the next one when the consumer asked
		// (it had moved past while this node was cut off): the ring starts
		// over at seq, and readers before it are told they missed those.
		f.first = seq
	}
	f.ring[seq%uint64(len(f.ring))] = msg
	f.last = seq
	if f.last-f.first+1 > uint64(len(f.ring)) {
		f.first = f.last - uint64(len(f.ring)) + 1
	}
	f.known = max(f.known, seq+meta.NumPending)
	f.consErr = ""
	f.wakeLocked()
}

// consumerFailed notes the consumer's error and asks for a stream check:
// a deleted stream shows here first.
func (f *JetStream) consumerFailed(gen int, err error) {
	f.mu.Lock()
	if gen == f.gen {
		f.consErr = err.Error()
	}
	f.mu.Unlock()
	f.pokeWatcher()
}

func (f *JetStream) pokeWatcher() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// wakeLocked wakes every reader waiting in Changed. f.mu must be held.
func (f *JetStream) wakeLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// catchUp waits until the ring holds the stream's sequence seq. A
// consumer that brings nothing for a quarter of the start's bound is
// started again, from the ring's last message: its first pull may have
// been lost as a request can be (see startConsumer).
func (f *JetStream) catchUp(ctx context.Context, seq uint64) error {
	quiet := time.NewTimer(f.cfg.StartTimeout / 4)
	defer quiet.Stop()
	for {
		f.mu.RLock()
		last, ch := f.last, f.changed
		f.mu.RUnlock()
		if last >= seq {
			return nil
		}
		select {
		case <-ch:
			quiet.Reset(f.cfg.StartTimeout / 4)
		case <-quiet.C:
			if err := f.startConsumer(ctx); err != nil {
				return err
			}
			quiet.Reset(f.cfg.StartTimeout / 4)
		case <-ctx.Done():
			return fmt.Errorf("jetstream stream %s: caught up to %d of %d: %w", f.cfg.Stream, last, seq, ctx.Err())
		}
	}
}

// watch checks the stream every CheckEvery, or at once when poked, until
// Disconnect.
func (f *JetStream) watch() {
	defer close(f.done)
	t := time.NewTicker(f.cfg.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		case <-f.poke:
		}
		f.checkStream()
	}
}

// checkStream asks JetStream for the stream's state: a stream created
// since the last check starts a new epoch.
func (f *JetStream) checkStream() {
	f.checkMu.Lock()
	defer f.checkMu.Unlock()
	f.checkStreamLocked()
}

// checkStreamLocked is checkStream; f.checkMu must be held.
func (f *JetStream) checkStreamLocked() {
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.CheckEvery)
	defer cancel()
	s, err := f.js.Stream(ctx, f.cfg.Stream)
	var info *jetstream.StreamInfo
	if err == nil {
		info = s.CachedInfo()
		err = f.checkConfig(info.Config)
	}
	if err != nil {
		f.mu.Lock()
		f.check.err = err
		f.mu.Unlock()
		return
	}
	f.mu.RLock()
	recreated, unchecked := !info.Created.Equal(f.created), f.unchecked
	f.mu.RUnlock()
	var restart error
	switch {
	case recreated:
		restart = f.begin(context.Background(), info)
	case unchecked: // the library replaced the consumer; the stream is the same
		restart = f.startConsumer(context.Background())
	}
	if restart != nil {
		f.mu.Lock()
		f.check.err = restart
		f.mu.Unlock()
		return
	}
	f.mu.Lock()
	f.check = checkResult{at: time.Now(), started: started, info: info}
	f.known = max(f.known, info.State.LastSeq)
	f.mu.Unlock()
}

// mayBeNewer reports whether epoch names a stream created after the one
// this node reads: an epoch of ours (EpochOf) holds the creation time.
// Anything else (an older stream's, the in-memory feed's, garbage) is
// answered with a reset at once.
func (f *JetStream) mayBeNewer(epoch string) bool {
	b, err := base64.RawURLEncoding.DecodeString(epoch)
	if err != nil || len(b) != 8 {
		return false
	}
	created := time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	f.mu.RLock()
	defer f.mu.RUnlock()
	return epoch != f.epoch && created.After(f.created)
}

// checkFor checks the stream now, for a reader whose cursor names epoch,
// unless the node has it already or a check began since the reader
// asked: readers that come together share one check, so a flood of
// made-up epochs costs one StreamInfo at a time. It waits at most
// epochCheckMax; the check goes on if it takes longer.
func (f *JetStream) checkFor(epoch string) {
	asked := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.checkMu.Lock()
		defer f.checkMu.Unlock()
		f.mu.RLock()
		fresh := f.epoch == epoch || f.check.started.After(asked)
		f.mu.RUnlock()
		if !fresh {
			f.checkStreamLocked()
		}
	}()
	t := time.NewTimer(min(f.cfg.CheckEvery, epochCheckMax))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// Epoch names the stream's current life (see EpochOf).
func (f *JetStream) Epoch() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.epoch
}

// Publish stores data in the stream and returns the message once JetStream
// has acknowledged it and this node holds it. Within PublishTimeout it
// tries again with the same Nats-Msg-Id, so the stream stores it once;
// past it, it returns ErrUnavailable.
func (f *JetStream) Publish(data []byte) (Message, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return Message{}, ErrClosed
	}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.PublishTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: f.subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, nuid.Next())
	var ack *jetstream.PubAck
	for {
		// One attempt waits at most a quarter of the bound, so a lost ack
		// leaves time to ask again.
		actx, acancel := context.WithTimeout(ctx, f.cfg.PublishTimeout/4)
		var err error
		ack, err = f.js.PublishMsg(actx, msg, jetstream.WithExpectStream(f.cfg.Stream))
		acancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("%w within %v: %v", ErrUnavailable, f.cfg.PublishTimeout, err)
		case <-time.After(20 * time.Millisecond): // a refusal comes at once: do not spin
		}
	}
	f.mu.Lock()
	f.published++
	f.mu.Unlock()
	return f.await(ctx, ack.Sequence)
}

// await returns message seq once the ring holds it. If the consumer is
// slower than the publish's bound, the stream is asked for the message, so
// an acknowledged publish is answered with its id and stored time.
func (f *JetStream) await(ctx context.Context, seq uint64) (Message, error) {
	for {
		f.mu.RLock()
		last, first, ch := f.last, f.first, f.changed
		var m Message
		if seq <= last && seq >= first {
			m = f.ring[seq%uint64(len(f.ring))]
		}
		f.mu.RUnlock()
		if m.ID == seq {
			return m, nil
		}
		if seq <= last { // already gone from the ring, or another epoch began
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		break
	}
	gctx, cancel := context.WithTimeout(context.Background(), f.cfg.PublishTimeout)
	defer cancel()
	if raw, err := f.stream.GetMsg(gctx, seq); err == nil {
		return Message{ID: seq, Time: float64(raw.Time.UnixMicro()) / 1000}, nil
	}
	// Stored and acknowledged, but neither this node nor the stream says
	// when: answer with the id (a 503 would make the publisher send it
	// again) and this node's clock.
	return Message{ID: seq, Time: float64(time.Now().UnixMicro()) / 1000}, nil
}

// Read returns up to limit messages after cursor from the ring, as
// Memory.Read does. A cursor ahead of this node's ring, in this epoch, is
// answered with no message and Next = cursor: the node is behind the
// stream, and Changed wakes the reader when it has caught up. Without an
// epoch, a cursor ahead of everything this node knows of the stream is a
// reset, as on Memory.
//
// A cursor whose epoch names a stream newer than this node's (the stream
// was recreated, and the reader read from a node that saw it first) waits
// for a stream check (checkFor, at most epochCheckMax), so that it is
// answered in the new epoch, not reset to the old one for a round trip.
func (f *JetStream) Read(epoch string, cursor uint64, limit int) Page {
	if epoch != "" && f.mayBeNewer(epoch) {
		f.checkFor(epoch)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	p := Page{Epoch: f.epoch}
	if epoch != "" && epoch != f.epoch {
		p.Reset = true
		cursor = 0
		f.pokeWatcher() // the stream may have been recreated: this node may be the one behind
	} else if cursor > f.last {
		if epoch != "" || cursor <= f.known {
			p.Next = cursor
			return p
		}
		p.Reset = true
		cursor = 0
	}
	ringView{f.ring, f.first, f.last}.read(&p, cursor, limit) // feed.go, as Memory reads
	return p
}

// LastID returns the newest id this node holds.
func (f *JetStream) LastID() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.last
}

// Changed returns a channel closed once this node holds a message after
// cursor, or a new epoch begins.
func (f *JetStream) Changed(cursor uint64) <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.last > cursor {
		return closedChan
	}
	return f.changed
}

// Close refuses later publishes. The node goes on receiving and serving
// the stream, so its readers get what was acknowledged; Disconnect ends
// that.
func (f *JetStream) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

// Disconnect stops the consumer and the watcher and closes the NATS
// connection. Call it once, after the server using the feed has stopped.
func (f *JetStream) Disconnect() {
	f.Close()
	f.stopWatching()
	f.stopConsumer()
	f.nc.Close()
}

// stopWatching stops the watcher, once, and waits until it has returned.
func (f *JetStream) stopWatching() {
	f.stopped.Do(func() { close(f.stop) })
	<-f.done
}

// Health returns nil while this node reaches JetStream: its connection is
// up and a stream check succeeded in the last three periods.
func (f *JetStream) Health() error {
	if !f.nc.IsConnected() {
		return fmt.Errorf("not connected to NATS (%s)", f.nc.Status())
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if age := time.Since(f.check.at); age > 3*f.cfg.CheckEvery {
		if f.check.err != nil {
			return fmt.Errorf("jetstream stream %s: no answer for %v: %w", f.cfg.Stream, age.Round(time.Millisecond), f.check.err)
		}
		return fmt.Errorf("jetstream stream %s: no answer for %v", f.cfg.Stream, age.Round(time.Millisecond))
	}
	return nil
}

// Stats returns the feed's figures, with this node's view of the stream.
func (f *JetStream) Stats() Stats {
	connected := f.nc.IsConnected()
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := Stats{LastID: f.last, Published: f.published}
	if f.last >= f.first {
		s.OldestID = f.first
	}
	js := &JetStreamStats{Stream: f.cfg.Stream, Connected: connected, Epochs: f.epochs, Consumers: f.consumers, Consumer: f.consErr}
	if f.check.err != nil {
		js.Error = f.check.err.Error()
	}
	if !f.check.at.IsZero() {
		js.CheckedMS = time.Since(f.check.at).Milliseconds()
	}
	if info := f.check.info; info != nil {
		js.Replicas = max(info.Config.Replicas, 1)
		js.Messages, js.FirstSeq, js.LastSeq = info.State.Msgs, info.State.FirstSeq, info.State.LastSeq
		js.Current = 1
		if info.Cluster != nil {
			js.Leader = info.Cluster.Leader
			for _, r := range info.Cluster.Replicas {
				if r.Current && !r.Offline {
					js.Current++
				}
			}
		}
	}
	if f.known > f.last {
		js.Lag = f.known - f.last
	}
	s.JetStream = js
	return s
}
