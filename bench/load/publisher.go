package load

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// publisher publishes open loop: message i is due at start + i/rate, is
// stamped with that intended time, and is handed to a free worker then. A
// slow server therefore shows as latency, never as fewer messages: no
// coordinated omission.
type publisher struct {
	d       dialect
	c       *http.Client
	base    string
	rate    float64
	size    int
	kind    string // a payload kind (payload.go), or "" for padding to size
	workers int
	prog    *Progress

	acked    atomic.Int64
	errors   atomic.Int64
	late     atomic.Int64 // publishes that started over 10 ms after they were due
	firstErr atomic.Pointer[string]
	rtt      HistSet // each acknowledged publish's round trip, POST to answer
	mu       sync.Mutex
	ok       []bool  // by seq: acknowledged by the server
	sent     []int64 // by seq: when its POST began (Mono), for the acknowledged ones
}

// run publishes the messages due from start to end, each when due, by a
// free worker, and returns once every worker has returned.
func (p *publisher) run(ctx context.Context, start, end time.Time) {
	n := int(end.Sub(start).Seconds() * p.rate)
	p.ok = make([]bool, n)
	p.sent = make([]int64, n)
	p.rtt = NewHistSet(max(1, p.workers))
	due := make(chan int64, n+1) // never blocks the schedule
	var wg sync.WaitGroup
	for w := range max(1, p.workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rtt := p.rtt.shard(w)
			for seq := range due {
				t := int64(start.Sub(epoch)) + int64(float64(seq)*1e9/p.rate)
				if Mono()-t > int64(10*time.Millisecond) {
					p.late.Add(1)
				}
				sent := Mono()
				err := p.d.publish(ctx, p.c, p.base, p.data(seq, t))
				if err != nil {
					p.errors.Add(1)
					s := err.Error()
					p.firstErr.CompareAndSwap(nil, &s)
					continue
				}
				rtt.Record(Mono() - sent)
				p.mu.Lock()
				p.ok[seq] = true
				p.sent[seq] = sent
				p.mu.Unlock()
				p.acked.Add(1)
				p.prog.published.Add(1)
			}
		}()
	}
	for seq := range n {
		if !SleepUntil(ctx, start.Add(time.Duration(float64(seq)*1e9/p.rate))) {
			break
		}
		due <- int64(seq)
	}
	close(due)
	wg.Wait()
}

// data is message seq's data, stamped with t: of the payload kind, or
// padded to size.
func (p *publisher) data(seq, t int64) []byte {
	if p.kind != "" {
		return payloadData(p.kind, seq, t, p.size)
	}
	return stampData(seq, t, p.size)
}
