package load

import (
	"math"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fourway/bench/record"
)

// Latency is recorded in nanoseconds, from 1 ns to 100 s, to 3 significant
// digits: a bucket's error is under 0.1 %.
const histMax = 100e9

// histShard is one of a few histograms a run's subscribers share, so that a
// thousand subscribers do not queue on one lock.
type histShard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// Record records ns, a latency in nanoseconds, bounded to 1 ns to 100 s.
func (s *histShard) Record(ns int64) {
	ns = min(max(ns, 1), histMax)
	s.mu.Lock()
	_ = s.h.RecordValue(ns)
	s.mu.Unlock()
}

// HistSet is a few histograms recorded into at once, merged when
// recording is over.
type HistSet []*histShard

// NewHistSet makes n histograms.
func NewHistSet(n int) HistSet {
	hs := make(HistSet, n)
	for i := range hs {
		hs[i] = &histShard{h: hdrhistogram.New(1, histMax, 3)}
	}
	return hs
}

// shard is the histogram subscriber i records into.
func (hs HistSet) shard(i int) *histShard { return hs[i%len(hs)] }

// Merged returns all shards in one histogram. Call it once recording is over.
func (hs HistSet) Merged() *hdrhistogram.Histogram {
	all := hdrhistogram.New(1, histMax, 3)
	for _, s := range hs {
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	return all
}

// LatencyOf summarises a histogram of nanoseconds in milliseconds, with
// the 95 % bounds of each percentile the window has enough samples for.
func LatencyOf(h *hdrhistogram.Histogram) record.Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	l := record.Latency{
		Count: h.TotalCount(), Mean: h.Mean() / 1e6,
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
	for _, p := range record.Percentiles {
		if !l.Enough(p.Q) {
			continue
		}
		lo, hi := rankBounds(l.Count, p.Q)
		if l.Bounds == nil {
			l.Bounds = map[string][2]float64{}
		}
		at := func(rank int64) float64 { return ms(h.ValueAtQuantile(100 * float64(rank) / float64(l.Count))) }
		l.Bounds[p.Key] = [2]float64{at(lo), at(hi)}
	}
	return l
}

// rankBounds are the ranks, 1 to n, between which the q-quantile of n
// independent samples falls with 95 % confidence: the count of samples
// below it is binomial, n·q ± 1.96 standard deviations √(n·q·(1−q)).
func rankBounds(n int64, q float64) (lo, hi int64) {
	mid, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
	lo = int64(math.Floor(mid - 1.96*sd))
	hi = int64(math.Ceil(mid + 1.96*sd))
	return max(lo, 1), min(hi, n)
}
