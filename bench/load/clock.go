package load

import (
	"context"
	"sync/atomic"
	"time"
)

// epoch is the bench's clock: the publisher stamps each message with its
// intended send time as nanoseconds since epoch, and a subscriber computes
// latency as its receipt time on the same monotonic clock. Publisher and
// subscribers live in this one process, so no clock sync is involved and a
// wall-clock step cannot bend a measurement.
var epoch = time.Now()

// Mono returns nanoseconds since epoch on the monotonic clock.
func Mono() int64 { return int64(time.Since(epoch)) }

// window is the measured part of a run, in mono nanoseconds. Messages whose
// intended send time falls in it are recorded in the latency histogram, and
// deliveries received in it are what the server's CPU is divided by.
type window struct {
	start, end atomic.Int64
	// outageStart is when the link last went silent (-outage, or a link
	// silent by itself), 0 until it does; outageEnds when each silence is
	// due to end, in order, set before the publisher starts.
	outageStart atomic.Int64
	outageEnds  atomic.Pointer[[]int64]
	// stormAt is when a storm cut every connection (-storm); 0 until then.
	stormAt atomic.Int64
}

// has reports whether t, in mono nanoseconds, is inside the window.
func (w *window) has(t int64) bool {
	s := w.start.Load()
	return s != 0 && t >= s && t < w.end.Load()
}

// SleepUntil waits until t, and reports whether ctx let it: false once ctx
// is done.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
