package feed

// The JetStream feed against a real NATS server with JetStream, embedded in
// the test (and, in TestJetStreamOnTheNatsServerBinary, the nats-server on
// PATH: Debian's is 2.9). Every wait is on an event with a deadline.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"fourway/feed/natstest"
)

const wait = natstest.Wait

// newJS starts a feed on the stream at url, stopped when the test ends.
func newJS(t testing.TB, url string, history int, set ...func(*JetStreamConfig)) *JetStream {
	t.Helper()
	cfg := JetStreamConfig{URL: url, Stream: "TEST", History: history, Replicas: 1, Node: t.Name(),
		CheckEvery: 50 * time.Millisecond, PublishTimeout: time.Second}
	for _, s := range set {
		s(&cfg)
	}
	f, err := NewJetStream(cfg)
	if err != nil {
		t.Fatalf("NewJetStream: %v", err)
	}
	t.Cleanup(f.Disconnect)
	return f
}

func publishJS(t testing.TB, f *JetStream, n int) []Message {
	t.Helper()
	var out []Message
	for i := range n {
		m, err := f.Publish(fmt.Appendf(nil, `"m%d"`, i+1))
		if err != nil {
			t.Fatalf("publish %d: %v", i+1, err)
		}
		out = append(out, m)
	}
	return out
}

// awaitLast waits until f holds id.
func awaitLast(t testing.TB, f *JetStream, id uint64) {
	t.Helper()
	deadline := time.After(wait)
	for {
		ch := f.Changed(id - 1)
		if f.LastID() >= id {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("node holds %d after %v, want %d", f.LastID(), wait, id)
		}
	}
}

// awaitEpochChange waits until f's epoch is not old.
func awaitEpochChange(t testing.TB, f *JetStream, old string) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		ch := f.Changed(f.LastID())
		if e := f.Epoch(); e != old {
			return e
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("epoch still %s after %v", old, wait)
		}
	}
}

func TestJetStreamIdsAreStreamSequencesAndBytesAreEncoded(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 10)
	ms := publishJS(t, f, 3)
	for i, m := range ms {
		if m.ID != uint64(i+1) {
			t.Fatalf("publish %d got id %d, want %d", i+1, m.ID, i+1)
		}
		if want := Encode(m.ID, m.Time, fmt.Appendf(nil, `"m%d"`, i+1)); !bytes.Equal(m.JSON, want) {
			t.Fatalf("message %d = %s, want %s", m.ID, m.JSON, want)
		}
	}
	p := f.Read(f.Epoch(), 0, 0)
	if got := ids(p); fmt.Sprint(got) != "[1 2 3]" || p.Next != 3 || p.Reset || p.Missed != 0 {
		t.Fatalf("read from 0: ids %v next %d reset %v missed %d, want [1 2 3] next 3", got, p.Next, p.Reset, p.Missed)
	}
	for i, m := range p.Messages {
		if !bytes.Equal(m.JSON, ms[i].JSON) {
			t.Fatalf("read %s, publish answered %s", m.JSON, ms[i].JSON)
		}
	}
	// The stored time is the stream's: the one JetStream reports.
	raw, err := natstest.Admin(t, srv.ClientURL()).Stream(context.Background(), "TEST")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := raw.GetMsg(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(sm.Time.UnixMicro()) / 1000; ms[1].Time != want {
		t.Fatalf("message 2 time %.3f, the stream stored %.3f", ms[1].Time, want)
	}
	if f.LastID() != 3 || f.Stats().LastID != 3 || f.Stats().OldestID != 1 || f.Stats().Published != 3 {
		t.Fatalf("LastID %d, stats %+v, want last 3 oldest 1 published 3", f.LastID(), f.Stats())
	}
}

func TestJetStreamTwoNodesServeTheSameBytesAndEpoch(t *testing.T) {
	srv := natstest.Start(t)
	a := newJS(t, srv.ClientURL(), 10)
	publishJS(t, a, 4)
	b := newJS(t, srv.ClientURL(), 10) // starts after 4 publishes: catches up before it returns
	if b.LastID() != 4 {
		t.Fatalf("a new node holds %d at start, want 4 (the stream's last)", b.LastID())
	}
	publishJS(t, b, 2)
	awaitLast(t, a, 6)
	if a.Epoch() != b.Epoch() || len(a.Epoch()) != 11 {
		t.Fatalf("epochs %q and %q, want one epoch of 11 characters", a.Epoch(), b.Epoch())
	}
	pa, pb := a.Read(a.Epoch(), 0, 0), b.Read(a.Epoch(), 0, 0)
	if len(pa.Messages) != 6 || len(pb.Messages) != 6 {
		t.Fatalf("a has %d messages, b %d, want 6 each", len(pa.Messages), len(pb.Messages))
	}
	for i := range pa.Messages {
		if !bytes.Equal(pa.Messages[i].JSON, pb.Messages[i].JSON) {
			t.Fatalf("message %d: a %s, b %s", i+1, pa.Messages[i].JSON, pb.Messages[i].JSON)
		}
	}
}

func TestJetStreamMissedWhenTheStreamNoLongerHoldsTheSuccessor(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 3)
	publishJS(t, f, 5)
	cases := []struct {
		cursor  uint64
		ids     string
		missed  uint64
		limit   int
		more    bool
		nextWas uint64
	}{
		{0, "[3 4 5]", 2, 0, false, 5},
		{1, "[3 4 5]", 1, 0, false, 5},
		{2, "[3 4 5]", 0, 0, false, 5},
		{3, "[4 5]", 0, 0, false, 5},
		{0, "[3]", 2, 1, true, 3},
		{5, "[]", 0, 0, false, 5},
	}
	for _, c := range cases {
		p := f.Read(f.Epoch(), c.cursor, c.limit)
		if got := fmt.Sprint(ids(p)); got != c.ids || p.Missed != c.missed || p.More != c.more || p.Next != c.nextWas || p.Reset {
			t.Errorf("read after %d limit %d: ids %s missed %d more %v next %d reset %v; want %s missed %d more %v next %d",
				c.cursor, c.limit, got, p.Missed, p.More, p.Next, p.Reset, c.ids, c.missed, c.more, c.nextWas)
		}
	}
	// A node started now holds what the stream holds, and says the same.
	g := newJS(t, srv.ClientURL(), 3)
	if p := g.Read(g.Epoch(), 0, 0); fmt.Sprint(ids(p)) != "[3 4 5]" || p.Missed != 2 {
		t.Fatalf("a new node read from 0: %v missed %d, want [3 4 5] missed 2", ids(p), p.Missed)
	}
}

func TestJetStreamCursorAheadOfTheNode(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 10)
	publishJS(t, f, 2)
	// With its epoch, a cursor ahead of this node came from a faster node:
	// the reader waits here, it is not reset.
	if p := f.Read(f.Epoch(), 7, 0); p.Reset || p.Next != 7 || len(p.Messages) != 0 {
		t.Fatalf("ahead with the epoch: %+v, want no reset, next 7, no message", p)
	}
	ch := f.Changed(7)
	select {
	case <-ch:
		t.Fatal("Changed(7) is closed while the node holds 2")
	default:
	}
	// Without one, ahead of everything the node knows of the stream is a
	// reset, as on Memory.
	if p := f.Read("", 7, 0); !p.Reset || fmt.Sprint(ids(p)) != "[1 2]" {
		t.Fatalf("ahead without an epoch: %+v, want a reset and [1 2]", p)
	}
	if p := f.Read("OTHER", 1, 0); !p.Reset || fmt.Sprint(ids(p)) != "[1 2]" {
		t.Fatalf("another epoch: %+v, want a reset and [1 2]", p)
	}
	if f.Changed(1) != closedChan {
		t.Fatal("Changed(1) is not closed while the node holds 2")
	}
}

func TestJetStreamRecreatedStreamIsANewEpoch(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 10)
	publishJS(t, f, 5)
	old := f.Epoch()
	natstest.RecreateStream(t, natstest.Admin(t, srv.ClientURL()), f.streamConfig())
	epoch := awaitEpochChange(t, f, old)
	if p := f.Read(old, 5, 0); !p.Reset || p.Epoch != epoch || len(p.Messages) != 0 || p.Next != 0 {
		t.Fatalf("old cursor after recreation: %+v, want a reset to the new epoch, next 0", p)
	}
	ms := publishJS(t, f, 2)
	if ms[0].ID != 1 {
		t.Fatalf("first publish on the new stream got id %d, want 1", ms[0].ID)
	}
	if p := f.Read(old, 5, 0); !p.Reset || fmt.Sprint(ids(p)) != "[1 2]" {
		t.Fatalf("old cursor: %+v, want a reset then [1 2]", p)
	}
	if s := f.Stats(); s.JetStream == nil || s.JetStream.Epochs != 2 {
		t.Fatalf("stats %+v, want 2 epochs seen", s.JetStream)
	}
}

func TestJetStreamPublishWithoutAckIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 10, func(c *JetStreamConfig) { c.PublishTimeout = 300 * time.Millisecond })
	publishJS(t, f, 1)
	if err := f.Health(); err != nil {
		t.Fatalf("health with the server up: %v", err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	start := time.Now()
	_, err := f.Publish([]byte(`"lost"`))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish with the server down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("publish took %v to fail, the bound is 300ms", took)
	}
	deadline := time.Now().Add(wait)
	for f.Health() == nil {
		if time.Now().After(deadline) {
			t.Fatal("health still nil with the server down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p := f.Read(f.Epoch(), 0, 0); fmt.Sprint(ids(p)) != "[1]" {
		t.Fatalf("read while cut off: %v, want what the node holds, [1]", ids(p))
	}
	f.Close()
	if _, err := f.Publish([]byte(`"x"`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after Close: %v, want ErrClosed", err)
	}
}

func TestJetStreamStreamConfiguredOtherwiseIsRefused(t *testing.T) {
	srv := natstest.Start(t)
	newJS(t, srv.ClientURL(), 10)
	cases := []struct {
		name string
		set  func(*JetStreamConfig)
		want string
	}{
		{"history", func(c *JetStreamConfig) { c.History = 20 }, "--history is 20"},
		{"replicas", func(c *JetStreamConfig) { c.Replicas = 3 }, "--nats-replicas is 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := JetStreamConfig{URL: srv.ClientURL(), Stream: "TEST", History: 10, Replicas: 1}
			c.set(&cfg)
			f, err := NewJetStream(cfg)
			if err == nil {
				f.Disconnect()
				t.Fatal("NewJetStream accepted a stream configured otherwise")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to name %q", err, c.want)
			}
		})
	}
	// A stream that allows deletes (ids with gaps) is refused too.
	js := natstest.Admin(t, srv.ClientURL())
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "LOOSE", Subjects: []string{Subject("LOOSE")}, MaxMsgs: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewJetStream(JetStreamConfig{URL: srv.ClientURL(), Stream: "LOOSE", History: 10, Replicas: 1}); err == nil || !strings.Contains(err.Error(), "deny_delete") {
		t.Fatalf("stream with deletes allowed: %v, want an error naming deny_delete", err)
	}
	if _, err := NewJetStream(JetStreamConfig{URL: "nats://127.0.0.1:1", History: 10, Replicas: 1, StartTimeout: time.Second}); err == nil || !strings.Contains(err.Error(), "--nats") {
		t.Fatalf("no server: %v, want an error naming --nats", err)
	}
}

// TestJetStreamOnTheNatsServerBinary runs the basics on the nats-server
// found on PATH: Debian's is 2.9, and fourway must need nothing newer.
func TestJetStreamOnTheNatsServerBinary(t *testing.T) {
	url, version := natstest.StartBinary(t)
	t.Logf("running on %s", version)
	a := newJS(t, url, 3)
	publishJS(t, a, 5)
	b := newJS(t, url, 3)
	if p := b.Read(a.Epoch(), 0, 0); fmt.Sprint(ids(p)) != "[3 4 5]" || p.Missed != 2 || p.Reset {
		t.Fatalf("second node read from 0: %+v, want [3 4 5] missed 2", p)
	}
	pa := a.Read(a.Epoch(), 2, 0)
	pb := b.Read(b.Epoch(), 2, 0)
	for i := range pa.Messages {
		if !bytes.Equal(pa.Messages[i].JSON, pb.Messages[i].JSON) {
			t.Fatalf("message %d: a %s, b %s", pa.Messages[i].ID, pa.Messages[i].JSON, pb.Messages[i].JSON)
		}
	}
	old := a.Epoch()
	natstest.RecreateStream(t, natstest.Admin(t, url), a.streamConfig())
	awaitEpochChange(t, a, old)
	if m := publishJS(t, a, 1); m[0].ID != 1 {
		t.Fatalf("first id on the recreated stream %d, want 1", m[0].ID)
	}
	awaitEpochChange(t, b, old)
	awaitLast(t, b, 1)
	if b.Epoch() != a.Epoch() {
		t.Fatalf("epochs after recreation: a %s, b %s", a.Epoch(), b.Epoch())
	}
}

// TestJetStreamReplacedConsumerIsNotTrustedUntilChecked: a consumer that
// the library replaced by itself (serial _2 and up) may read a recreated
// stream as if it were the old one, so its messages are not applied: the
// node checks the stream and starts a consumer of its own from its last.
func TestJetStreamReplacedConsumerIsNotTrustedUntilChecked(t *testing.T) {
	srv := natstest.Start(t)
	f := newJS(t, srv.ClientURL(), 10, func(c *JetStreamConfig) { c.CheckEvery = time.Hour }) // checks only when asked
	publishJS(t, f, 2)
	f.mu.RLock()
	gen := f.gen
	f.mu.RUnlock()
	f.apply(gen, &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: 3}, Consumer: "PREFIX_2", Timestamp: time.Now()}, []byte(`"from another stream"`))
	if f.LastID() != 2 {
		t.Fatalf("a replaced consumer's message was applied: last id %d, want 2", f.LastID())
	}
	deadline := time.Now().Add(wait)
	for { // the check it asked for starts a consumer of the node's own
		f.mu.RLock()
		now, unchecked := f.gen, f.unchecked
		f.mu.RUnlock()
		if now != gen && !unchecked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new consumer after a replaced one delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	m := publishJS(t, f, 1)[0]
	if p := f.Read(f.Epoch(), 2, 0); len(p.Messages) != 1 || !bytes.Equal(p.Messages[0].JSON, m.JSON) || !bytes.Contains(m.JSON, []byte(`"m1"`)) {
		t.Fatalf("after 2: %+v, want the published message 3 (%s)", p, m.JSON)
	}
}

// TestJetStreamNewerEpochIsAdoptedBeforeTheAnswer: the stream is deleted
// and created again; node a has seen it, node b not yet (its watcher is
// stopped, so b learns only when a reader asks). A reader that comes from
// a with the new epoch is answered by b in the new epoch, at once, never
// reset to the old one; b then serves the new stream.
func TestJetStreamNewerEpochIsAdoptedBeforeTheAnswer(t *testing.T) {
	srv := natstest.Start(t)
	a := newJS(t, srv.ClientURL(), 10)
	b := newJS(t, srv.ClientURL(), 10)
	publishJS(t, a, 3)
	awaitLast(t, b, 3)
	old := b.Epoch()
	b.stopWatching()

	natstest.RecreateStream(t, natstest.Admin(t, srv.ClientURL()), a.streamConfig())
	epoch := awaitEpochChange(t, a, old)
	publishJS(t, a, 2)
	if b.Epoch() != old {
		t.Fatal("b saw the new stream by itself: the test cannot tell")
	}

	if p := b.Read(epoch, 2, 10); p.Reset || p.Epoch != epoch {
		t.Fatalf("b answered the new epoch's cursor 2 with %+v, want no reset, epoch %s", p, epoch)
	}
	awaitLast(t, b, 2)
	if p := b.Read(epoch, 1, 10); p.Reset || fmt.Sprint(ids(p)) != "[2]" {
		t.Fatalf("b after adopting the new epoch: %+v, want [2], no reset", p)
	}
	if p := b.Read(old, 3, 10); !p.Reset || p.Epoch != epoch || fmt.Sprint(ids(p)) != "[1 2]" {
		t.Fatalf("the old epoch's cursor on b: %+v, want a reset to %s, then [1 2]", p, epoch)
	}
	if p := b.Read("made-up", 3, 10); !p.Reset || p.Epoch != epoch {
		t.Fatalf("a made-up epoch on b: %+v, want a reset to %s", p, epoch)
	}
}
