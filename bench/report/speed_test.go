package report

import (
	"strings"
	"testing"

	"fourway/bench/benchtest"
	"fourway/bench/record"
)

// TestTargetsCompareTheSameProtocol: a fourway row is held against
// Nchan's row of the same protocol only.
func TestTargetsCompareTheSameProtocol(t *testing.T) {
	row := func(target, p string, p99 float64) record.Result {
		r := record.Result{Scenario: benchtest.OverProto(target, "ws", p)}
		r.Latency = record.Latency{Count: 1000, P99: p99}
		return r
	}
	results := []record.Result{row("fourway", "h1", 5), row("fourway", "h2", 7), row("nchan", "h1", 6), row("nchan", "h2", 8)}
	var got []string
	for _, tg := range CheckTargets(results) {
		if strings.Contains(tg.What, "vs nginx+Nchan") && strings.Contains(tg.Want, "p99") {
			got = append(got, tg.What+": "+tg.Got)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "[h1]") || !strings.Contains(got[0], "5.00 ms vs 6.00 ms") ||
		!strings.Contains(got[1], "[h2]") || !strings.Contains(got[1], "7.00 ms vs 8.00 ms") {
		t.Errorf("p99 comparisons with Nchan: %q, want h1 against h1 and h2 against h2", got)
	}
}

// TestWriterRowsAreComparedWithNchansBase: a writer row is held against
// Nchan's row of its base transport (longpoll-direct against Nchan's
// longpoll, sse-direct against its sse), alone and within a mix.
func TestWriterRowsAreComparedWithNchansBase(t *testing.T) {
	row := func(target, tr, mix string) record.Result {
		r := record.Result{Scenario: benchtest.Short(target, tr)}
		r.Mixed, r.Latency = mix, record.Latency{Count: 1000, P99: 5}
		return r
	}
	results := []record.Result{
		row("fourway", "longpoll-direct", ""), row("fourway", "sse-direct", ""), row("nchan", "longpoll", ""), row("nchan", "sse", ""),
		row("fourway", "longpoll-direct", "ws+longpoll-direct"), row("nchan", "longpoll", "ws+longpoll"),
	}
	var got []string
	for _, tg := range CheckTargets(results) {
		if strings.Contains(tg.What, "vs nginx+Nchan") && strings.Contains(tg.Want, "p99") {
			got = append(got, tg.What)
		}
	}
	if g := strings.Join(got, "|"); len(got) != 3 || !strings.Contains(g, "fourway longpoll-direct, ") || !strings.Contains(g, "fourway sse-direct, ") ||
		!strings.Contains(g, "longpoll-direct in ws+longpoll-direct") {
		t.Errorf("comparisons with Nchan: %q, want longpoll-direct, sse-direct and longpoll-direct in ws+longpoll-direct, each once", got)
	}
}

// TestTargetsCompareTheSameLink: a fourway row through an emulated link
// is held against Nchan's row through the same link only, and the
// targets stated for loopback judge no row through a slower link.
func TestTargetsCompareTheSameLink(t *testing.T) {
	row := func(target, tr, link string, p99 float64) record.Result {
		r := record.Result{Scenario: benchtest.Short(target, tr)}
		r.Link, r.Latency = link, record.Latency{Count: 10000, P99: p99}
		return r
	}
	results := []record.Result{row("fourway", "ws", "3g", 160), row("nchan", "ws", "", 6), row("nchan", "ws", "3g", 170), row("fourway", "poll", "3g", 700)}
	var got []string
	for _, tg := range CheckTargets(results) {
		got = append(got, tg.What+": "+tg.Got)
	}
	if g := strings.Join(got, "|"); !strings.Contains(g, "160 ms vs 170 ms") || strings.Contains(g, "vs 6") || strings.Contains(g, "fourway poll") {
		t.Errorf("targets: %q; want ws via 3g against Nchan's ws via 3g only, and no loopback target for poll via 3g", got)
	}
}

// TestTargetsJudgeNoFaultedRow: a row through a silent link or a reconnect
// storm measures the fault (a p99 of the silence's length), not the
// transport's speed, so no target judges it, against Nchan or alone.
func TestTargetsJudgeNoFaultedRow(t *testing.T) {
	row := func(target string, fault func(*record.Result)) record.Result {
		r := record.Result{Scenario: benchtest.Short(target, "ws")}
		r.Link, r.Latency = "3g", record.Latency{Count: 10000, P99: 19800}
		fault(&r)
		return r
	}
	faults := map[string]func(*record.Result){
		"outage":   func(r *record.Result) { r.SilentLink = &record.Outage{} },
		"train":    func(r *record.Result) { r.SilentLinks = []record.Outage{{}} },
		"storm":    func(r *record.Result) { r.ReconnectStorm = &record.Storm{} },
		"no fault": func(*record.Result) {},
	}
	for name, fault := range faults {
		got := CheckTargets([]record.Result{row("fourway", fault), row("nchan", fault)})
		if name == "no fault" && len(got) == 0 {
			t.Errorf("%s: no target, want the row against Nchan's", name)
		}
		if name != "no fault" && len(got) != 0 {
			t.Errorf("%s: %+v, want no target judging a faulted row", name, got)
		}
	}
}
