package load

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/transports/links"
	"fourway/transports/wire"
)

// outage is the silence of an -outage scenario: the subscribers' link
// holds every byte, both ways, for d, from the window's start, and closes
// nothing; then it delivers what it held. What each subscriber noticed is
// its client's rule (rules.go, watchdog.go), at the server's settings.
type outage struct {
	link  *links.Link
	d     time.Duration
	start atomic.Int64 // Mono when the link went silent; 0: not yet
}

// plan says when the link will return, before any message is published:
// the subscribers then know which messages were meant for before it.
func (o *outage) plan(win *window, at time.Time) {
	win.outageEnd.Store(int64(at.Sub(epoch)) + int64(o.d))
}

// run makes the link silent at at, for d.
func (o *outage) run(ctx context.Context, win *window, at time.Time) {
	if !SleepUntil(ctx, at) {
		return
	}
	now := Mono()
	o.start.Store(now)
	win.outageStart.Store(now)
	o.link.Tunnel(o.d)
}

// rule is how the page's client of transport finds a dead connection, at
// the server's settings cfg.
func outageRule(transport string, cfg wire.Config) string {
	switch plan.BaseTransport(transport) {
	case "ws":
		p := time.Duration(cfg.WS.HeartbeatMS) * time.Millisecond
		return fmt.Sprintf("pings every %s (the hello's heartbeat_ms); dead after %s without a frame", p, 2*p)
	case "sse":
		return fmt.Sprintf("after %s without an event asks GET /api/stats (deadline %s); dead when a message the server had is still missing at the next check, or after %d checks in a row with no answer and no event, asked one after the other", sseWatch, sseWatch, sseUnanswered)
	case "longpoll":
		hold := (&rules{hold: int(cfg.LongPoll.TimeoutMS / 1000)}).longPollHold(false)
		return fmt.Sprintf("a request is lost %d s (its hold) + %s after it was sent", hold, longPollGrace)
	case "poll":
		return fmt.Sprintf("a request is lost %s after it was sent", pollDeadline)
	}
	return ""
}

// row is what the subscribers of one transport met of the outage; nil
// when the link never went silent.
func (o *outage) row(subs []*sub, rule string, pub *publisher) *record.Outage {
	start := o.start.Load()
	if start == 0 {
		return nil
	}
	end := start + int64(o.d)
	r := &record.Outage{SilentMS: ms(int64(o.d)), Rule: rule, Subscribers: len(subs)}
	var notice, caught []float64
	for _, s := range subs {
		if at := s.rules.noticed.Load(); at != 0 {
			if at > end {
				r.NoticedAfter++
			} else {
				notice = append(notice, ms(at-start))
				if r.How == "" {
					r.How = *s.rules.noticeHow.Load()
				}
			}
		}
		if hasAll(s, pub) {
			caught = append(caught, ms(max(0, s.rules.caughtUp-end)))
		}
	}
	r.Noticed, r.NoticeMS = len(notice), spreadOf(notice)
	r.CaughtUp, r.CaughtUpMS = len(caught), spreadOf(caught)
	return r
}

// hasAll reports whether s got every message the server acknowledged.
func hasAll(s *sub, pub *publisher) bool {
	for seq, ok := range pub.ok {
		if ok && (seq >= len(s.seen) || s.seen[seq] == 0) {
			return false
		}
	}
	return true
}

// ms is nanoseconds in milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }

// spreadOf is the least, median and most of xs.
func spreadOf(xs []float64) record.Spread {
	if len(xs) == 0 {
		return record.Spread{}
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	med := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		med = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return record.Spread{N: len(xs), Min: xs[0], Median: med, Max: xs[len(xs)-1]}
}
