package main

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
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

func (s *histShard) record(ns int64) {
	ns = min(max(ns, 1), histMax)
	s.mu.Lock()
	_ = s.h.RecordValue(ns)
	s.mu.Unlock()
}

type histSet []*histShard

func newHistSet(n int) histSet {
	hs := make(histSet, n)
	for i := range hs {
		hs[i] = &histShard{h: hdrhistogram.New(1, histMax, 3)}
	}
	return hs
}

func (hs histSet) shard(i int) *histShard { return hs[i%len(hs)] }

// merged returns all shards in one histogram. Call it once recording is over.
func (hs histSet) merged() *hdrhistogram.Histogram {
	all := hdrhistogram.New(1, histMax, 3)
	for _, s := range hs {
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	return all
}
