package load

import (
	"testing"

	"fourway/bench/record"
)

// TestLatencyBounds: LatencyOf gives, for each percentile the window has
// enough samples for, and only for those, the latencies around it at the
// ranks n·q ± 1.96·√(n·q·(1−q)): for 10,000 latencies of 1 to 10,000 µs,
// p50 within 4,902 to 5,098 µs and p99.9 within 9,994 to 10,000.
func TestLatencyBounds(t *testing.T) {
	lat := func(n int64) record.Latency {
		hs := NewHistSet(1)
		for i := int64(1); i <= n; i++ {
			hs.shard(0).Record(i * 1000)
		}
		return LatencyOf(hs.Merged())
	}
	few := lat(50)
	if _, ok := few.Bounds["p50"]; !ok || len(few.Bounds) != 1 {
		t.Errorf("50 samples: bounds %v, want p50's only", few.Bounds)
	}
	many := lat(10000)
	if len(many.Bounds) != 4 {
		t.Fatalf("10,000 samples: bounds %v, want all four", many.Bounds)
	}
	for _, c := range []struct {
		key    string
		v      float64
		lo, hi float64 // ms, to the histogram's 3 significant digits
	}{{"p50", many.P50, 4.90, 5.10}, {"p99", many.P99, 9.88, 9.92}, {"p99_9", many.P999, 9.99, 10.0}} {
		b := many.Bounds[c.key]
		if b[0] > c.v || c.v > b[1] {
			t.Errorf("%s %g outside its bounds %v", c.key, c.v, b)
		}
		near := func(a, b float64) bool { return a > b*0.995 && a < b*1.005 }
		if !near(b[0], c.lo) || !near(b[1], c.hi) {
			t.Errorf("%s bounds %v, want about [%g, %g]", c.key, b, c.lo, c.hi)
		}
	}
	if lo, hi := rankBounds(10000, 0.5); lo != 4902 || hi != 5098 {
		t.Errorf("rankBounds(10000, 0.5) = %d, %d; want 4902, 5098 (5000 ± 1.96·50)", lo, hi)
	}
}
