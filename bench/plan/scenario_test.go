package plan

import "testing"

// TestSourceAddrs: by default a scenario's subscribers dial from one
// loopback address per 5,000 of them once there are more than that.
func TestSourceAddrs(t *testing.T) {
	cfg := Config{SourceAddrs: -1}
	for subs, want := range map[int]int{10: 0, 5000: 0, 5001: 2, 10000: 2, 20000: 4} {
		if got := sourceAddrsFor(cfg, Scenario{Transport: "ws", Subs: subs}); got != want {
			t.Errorf("%d subscribers: %d source addresses, want %d", subs, got, want)
		}
	}
	if got := sourceAddrsFor(cfg, Scenario{Mixed: "ws+sse", Subs: 5000}); got != 2 {
		t.Errorf("ws+sse, 5,000 each: %d source addresses, want 2 (10,000 connections)", got)
	}
	if got := sourceAddrsFor(Config{SourceAddrs: 3}, Scenario{Transport: "ws", Subs: 1}); got != 3 {
		t.Errorf("-source-addrs 3: %d", got)
	}
}
