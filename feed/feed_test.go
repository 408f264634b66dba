package feed

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func publishN(t testing.TB, f *Memory, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := f.Publish([]byte(fmt.Sprintf(`"m%d"`, i+1))); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(p Page) []uint64 {
	var out []uint64
	for _, m := range p.Messages {
		out = append(out, m.ID)
	}
	return out
}

func TestPublishAssignsConsecutiveIDsAndEncodesOnce(t *testing.T) {
	f := NewMemory(10)
	f.now = func() time.Time { return time.UnixMicro(1763773323456789) }
	m, err := f.Publish([]byte(`{"user":"ana","text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"time":1763773323456.789,"data":{"user":"ana","text":"hi"}}`
	if string(m.JSON) != want {
		t.Fatalf("JSON = %s, want %s", m.JSON, want)
	}
	m2, _ := f.Publish([]byte(`2`))
	if m2.ID != 2 {
		t.Fatalf("second id = %d, want 2", m2.ID)
	}
	// Every reader gets the very same bytes, not a copy.
	p := f.Read("", 0, 10)
	if &p.Messages[0].JSON[0] != &m.JSON[0] {
		t.Fatal("Read returned a re-encoded message; want the bytes encoded at publish")
	}
}

func TestReadCursorCases(t *testing.T) {
	f := NewMemory(5)
	publishN(t, f, 8) // retains 4..8
	cases := []struct {
		name     string
		cursor   uint64
		limit    int
		wantIDs  []uint64
		wantNext uint64
		missed   uint64
		reset    bool
	}{
		{"zero is after id 0: what is retained, and what is gone", 0, 100, []uint64{4, 5, 6, 7, 8}, 8, 3, false},
		{"after N", 6, 100, []uint64{7, 8}, 8, 0, false},
		{"caught up", 8, 100, nil, 8, 0, false},
		{"limit pages", 3, 2, []uint64{4, 5}, 5, 0, false},
		{"missed: cursor older than history", 1, 100, []uint64{4, 5, 6, 7, 8}, 8, 2, false},
		{"missed with limit", 2, 1, []uint64{4}, 4, 1, false},
		{"reset: cursor ahead of the feed, read as from 0", 50, 100, []uint64{4, 5, 6, 7, 8}, 8, 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.Read(f.Epoch(), c.cursor, c.limit)
			if fmt.Sprint(ids(p)) != fmt.Sprint(c.wantIDs) || p.Next != c.wantNext || p.Missed != c.missed || p.Reset != c.reset {
				t.Fatalf("Read(%d,%d) = ids %v next %d missed %d reset %v; want %v next %d missed %d reset %v",
					c.cursor, c.limit, ids(p), p.Next, p.Missed, p.Reset, c.wantIDs, c.wantNext, c.missed, c.reset)
			}
		})
	}
}

func TestReadMoreSaysAPageWasCut(t *testing.T) {
	f := NewMemory(10)
	publishN(t, f, 5)
	if p := f.Read("", 0, 3); !p.More || p.Next != 3 {
		t.Fatalf("Read(0,3) of 5: next %d more %v, want next 3 more true", p.Next, p.More)
	}
	if p := f.Read("", 0, 5); p.More {
		t.Fatal("Read(0,5) of 5 says more")
	}
}

func TestEpochNamesTheIDSequence(t *testing.T) {
	f, g := NewMemory(20), NewMemory(20) // a server, and the same server restarted
	if f.Epoch() == g.Epoch() {
		t.Fatalf("two feeds share the epoch %q", f.Epoch())
	}
	for _, e := range []string{f.Epoch(), g.Epoch()} {
		if len(e) < 1 || len(e) > 32 || strings.Trim(e, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Fatalf("epoch %q: want 1 to 32 letters, digits, - or _", e)
		}
	}
	publishN(t, f, 10) // the client saw 10 of these
	publishN(t, g, 12) // the restarted server published 12 more
	p := g.Read(f.Epoch(), 10, 100)
	if !p.Reset || p.Missed != 0 || p.Epoch != g.Epoch() || len(p.Messages) != 12 || p.Next != 12 {
		t.Fatalf("cursor 10 of the old epoch: reset %v missed %d ids %v; want reset and the new 1..12", p.Reset, p.Missed, ids(p))
	}
	if p := g.Read(g.Epoch(), 10, 100); p.Reset || fmt.Sprint(ids(p)) != "[11 12]" {
		t.Fatalf("cursor 10 of the current epoch: reset %v ids %v, want 11 12", p.Reset, ids(p))
	}
	if p := g.Read("", 10, 100); p.Reset || fmt.Sprint(ids(p)) != "[11 12]" {
		t.Fatalf("cursor 10 without an epoch: reset %v ids %v, want 11 12 (no check)", p.Reset, ids(p))
	}
}

func TestReadEmptyFeed(t *testing.T) {
	f := NewMemory(5)
	if p := f.Read("", 0, 10); len(p.Messages) != 0 || p.Next != 0 || p.Reset || p.Missed != 0 {
		t.Fatalf("empty feed, cursor 0: %+v", p)
	}
	// A client that saw id 7 before the server restarted empty.
	if p := f.Read("", 7, 10); !p.Reset || p.Next != 0 || len(p.Messages) != 0 {
		t.Fatalf("empty feed, cursor 7: %+v, want reset with next 0", p)
	}
}

func TestChangedIsClosedByTheNextPublish(t *testing.T) {
	f := NewMemory(5)
	ch := f.Changed(0)
	select {
	case <-ch:
		t.Fatal("Changed(0) closed before any publish")
	default:
	}
	publishN(t, f, 1)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed(0) not closed by a publish")
	}
	select {
	case <-f.Changed(0): // a message after 0 exists now
	default:
		t.Fatal("Changed(0) open although message 1 exists")
	}
	select {
	case <-f.Changed(99): // cursor ahead: the reader must read and see reset
	default:
		t.Fatal("Changed(99) open although the cursor is ahead of the feed")
	}
}

func TestClosedFeedRefusesPublishesButStillReads(t *testing.T) {
	f := NewMemory(5)
	publishN(t, f, 2)
	f.Close()
	if _, err := f.Publish([]byte(`1`)); err != ErrClosed {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if p := f.Read("", 0, 10); len(p.Messages) != 2 {
		t.Fatalf("Read after Close: %d messages, want 2", len(p.Messages))
	}
}

func TestStats(t *testing.T) {
	f := NewMemory(3)
	if s := f.Stats(); s != (Stats{}) {
		t.Fatalf("empty stats %+v", s)
	}
	publishN(t, f, 5)
	if s := f.Stats(); s != (Stats{LastID: 5, OldestID: 3, Published: 5}) {
		t.Fatalf("stats %+v", s)
	}
}

// Readers following the feed concurrently with publishers see every id once,
// in order: the property every transport builds on.
func TestConcurrentReadersSeeEveryMessageInOrder(t *testing.T) {
	const total, readers = 5000, 8
	f := NewMemory(total)
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cursor uint64
			deadline := time.After(20 * time.Second)
			for cursor < total {
				p := f.Read("", cursor, 37)
				for _, m := range p.Messages {
					if m.ID != cursor+1 {
						errs <- fmt.Errorf("got id %d after %d", m.ID, cursor)
						return
					}
					cursor = m.ID
				}
				if len(p.Messages) == 0 {
					select {
					case <-f.Changed(cursor):
					case <-deadline:
						errs <- fmt.Errorf("reader stuck at %d", cursor)
						return
					}
				}
			}
		}()
	}
	var pub sync.WaitGroup
	for p := 0; p < 2; p++ {
		pub.Add(1)
		go func() { defer pub.Done(); publishN(t, f, total/2) }()
	}
	pub.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkPublish measures a publish alone: encode, append, wake.
func BenchmarkPublish(b *testing.B) {
	f := NewMemory(1000)
	data := []byte(`{"user":"ana","text":"hello, world"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Publish(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishWithSubscribers measures publishing while 10,000
// subscribers wait on the feed and read every message, as the streaming
// transports do. The publisher is never held up by them: it only closes
// one channel.
func BenchmarkPublishWithSubscribers(b *testing.B) {
	for _, subs := range []int{0, 10000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			f := NewMemory(1000)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := 0; i < subs; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cursor := f.LastID()
					for {
						select {
						case <-f.Changed(cursor):
							cursor = f.Read("", cursor, 64).Next
						case <-stop:
							return
						}
					}
				}()
			}
			data := []byte(`{"user":"ana","text":"hello, world"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.Publish(data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
		})
	}
}
