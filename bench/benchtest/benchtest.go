// Package benchtest holds what the bench's tests share: short
// scenarios, the nginx they run, and the check every row must pass.
//
//	benchtest.go  Short, OverProto, Nginx, NeedNchan and CheckDelivery
package benchtest

import (
	"os"
	"testing"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// Short is a scenario of a second or two: a few subscribers, a modest rate.
func Short(target, transport string) plan.Scenario {
	return plan.Scenario{Target: target, Transport: transport, Subs: 3, Rate: 25, Payload: 60,
		PollInterval: plan.Duration(200 * time.Millisecond), Warmup: plan.Duration(500 * time.Millisecond),
		Duration: plan.Duration(time.Second), Stagger: plan.Duration(100 * time.Millisecond), Publishers: 2}
}

// Nginx is the nginx the Nchan test runs: FOURWAY_BENCH_NGINX names
// another one (or a missing one, to see the skip).
func Nginx() string {
	if p := os.Getenv("FOURWAY_BENCH_NGINX"); p != "" {
		return p
	}
	return plan.DefaultNginx
}

// NeedNchan skips t when nginx or its Nchan module is missing, or fails
// it under CI=true, where the comparison must run rather than pass by
// skipping.
func NeedNchan(t *testing.T) {
	t.Helper()
	for _, need := range []string{Nginx(), plan.NchanModule} {
		if _, err := os.Stat(need); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true: %v (the Debian packages nginx libnginx-mod-nchan)", err)
			}
			t.Skip(err)
		}
	}
}

// CheckDelivery asserts the bench's own promise: every acknowledged
// message reached every subscriber exactly once.
func CheckDelivery(t *testing.T, r record.Result) {
	t.Helper()
	if r.Published < 20 {
		t.Errorf("%s %s: only %d messages published", r.Target, r.Transport, r.Published)
	}
	if r.PublishErrors != 0 {
		t.Errorf("%s %s: %d publish errors: %v", r.Target, r.Transport, r.PublishErrors, r.Notes)
	}
	if r.Expected != r.Published*int64(r.Subs) || r.Delivered != r.Expected || r.Lost != 0 || r.Duplicated != 0 {
		t.Errorf("%s %s: delivered %d of %d, lost %d, duplicated %d (want all, 0, 0); notes %v",
			r.Target, r.Transport, r.Delivered, r.Expected, r.Lost, r.Duplicated, r.Notes)
	}
	if r.Reconnects != 0 || r.Anomalies != 0 {
		t.Errorf("%s %s: %d reconnects, %d anomalies on loopback", r.Target, r.Transport, r.Reconnects, r.Anomalies)
	}
	if r.Latency.Count == 0 || r.Wire.Messages == 0 {
		t.Errorf("%s %s: nothing measured in the window (latency count %d, wire messages %d)", r.Target, r.Transport, r.Latency.Count, r.Wire.Messages)
	}
}

// OverProto is the short scenario over protocol p.
func OverProto(target, transport, p string) plan.Scenario {
	sc := Short(target, transport)
	sc.Proto = p
	return sc
}
