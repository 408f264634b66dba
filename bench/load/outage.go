package load

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/transports/links"
	"fourway/transports/wire"
)

// outage is the silence of an -outage scenario, or the silences of a
// link that goes silent by itself (train): the subscribers' link holds
// every byte, both ways, for d, from the window's start, and again every
// every (0: once), while the window holds a whole silence; it closes
// nothing, and delivers what it held when it returns. What each
// subscriber noticed is its client's rule (rules.go, watchdog.go), at the
// server's settings.
type outage struct {
	link     *links.Link
	d, every time.Duration
	starts   []time.Time    // when each silence is due, planned before any message
	begun    []atomic.Int64 // Mono when each went silent; 0: not yet
}

// linkOutage is the outage of a scenario through link p: -outage's d, or
// the link's own silences, which the bench raises itself so that they
// fall in the window (p's own ticker is left off: see throughLink); nil
// for neither.
func linkOutage(link *links.Link, p links.Profile, d time.Duration) *outage {
	switch {
	case d > 0:
		return &outage{link: link, d: d}
	case p.OutageEvery > 0:
		return &outage{link: link, d: p.OutageFor, every: p.OutageEvery}
	}
	return nil
}

// plan says when the link will go silent and return, from the window's
// start at until its end, before any message is published: the
// subscribers then know which messages were meant for before each
// return.
func (o *outage) plan(win *window, at, end time.Time) {
	var ends []int64
	for t := at; !t.Add(o.d).After(end); t = t.Add(o.every) {
		o.starts = append(o.starts, t)
		ends = append(ends, int64(t.Add(o.d).Sub(epoch)))
		if o.every <= 0 {
			break
		}
	}
	o.begun = make([]atomic.Int64, len(o.starts))
	win.outageEnds.Store(&ends)
}

// run makes the link silent for d at each planned start.
func (o *outage) run(ctx context.Context, win *window) {
	for k, at := range o.starts {
		if !SleepUntil(ctx, at) {
			return
		}
		now := Mono()
		o.begun[k].Store(now)
		win.outageStart.Store(now)
		o.link.Tunnel(o.d)
	}
}

// outageRule is how the page's client of transport finds a dead
// connection on target, at the server's settings cfg.
func outageRule(target, transport string, cfg wire.Config) string {
	p := time.Duration(cfg.WS.HeartbeatMS) * time.Millisecond
	hold := (&rules{hold: int(cfg.LongPoll.TimeoutMS / 1000)}).longPollHold(false)
	switch b := plan.BaseTransport(transport); {
	case b == "ws" && target == "nchan":
		return fmt.Sprintf(`sends "ping" every %s (Nchan answers "pong"); dead after %s without a frame`, p, 2*p)
	case b == "ws":
		return fmt.Sprintf("pings every %s (the hello's heartbeat_ms); dead after %s without a frame", p, 2*p)
	case b == "sse" && target == "nchan":
		return fmt.Sprintf("after %s without an event asks the channel's info, GET /pub (deadline %s); dead when a message the server had is still missing at the next check, or after %d checks in a row with no answer and no event, asked one after the other", sseWatch, sseWatch, sseUnanswered)
	case b == "sse":
		return fmt.Sprintf("after %s without an event asks GET /api/stats (deadline %s); dead when a message the server had is still missing at the next check, or after %d checks in a row with no answer and no event, asked one after the other", sseWatch, sseWatch, sseUnanswered)
	case b == "longpoll":
		return fmt.Sprintf("a request is lost %d s (its hold) + %s after it was sent", hold, longPollGrace)
	case b == "poll":
		return fmt.Sprintf("a request is lost %s after it was sent", pollDeadline)
	}
	return ""
}

// rows are what the subscribers of one transport met of each silence
// that began, in order.
func (o *outage) rows(subs []*sub, rule string, pub *publisher) []record.Outage {
	if len(o.starts) == 0 {
		return nil
	}
	winStart := int64(o.starts[0].Sub(epoch)) // the first silence is at the window's start
	var rows []record.Outage
	for k := range o.begun {
		start := o.begun[k].Load()
		if start == 0 {
			break
		}
		next := int64(math.MaxInt64) // noticing this silence ends where the next begins
		if k+1 < len(o.starts) {
			next = int64(o.starts[k+1].Sub(epoch))
		}
		r := o.row(subs, k, start, next, pub)
		r.Rule, r.AtMS = rule, ms(start-winStart)
		rows = append(rows, r)
	}
	return rows
}

// row is what the subscribers met of silence k, which began at start
// (Mono) and whose noticing ends at next.
func (o *outage) row(subs []*sub, k int, start, next int64, pub *publisher) record.Outage {
	end := start + int64(o.d)
	r := record.Outage{SilentMS: ms(int64(o.d)), Subscribers: len(subs)}
	var notice, caught []float64
	for _, s := range subs {
		if n, ok := s.rules.firstNotice(start, next); ok {
			if n.at > end {
				r.NoticedAfter++
			} else {
				notice = append(notice, ms(n.at-start))
				if r.How == "" {
					r.How = n.how
				}
			}
		}
		if hasAll(s, pub) {
			var last int64
			if k < len(s.rules.caughtUp) {
				last = s.rules.caughtUp[k]
			}
			caught = append(caught, ms(max(0, last-end)))
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
