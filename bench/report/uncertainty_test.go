package report

import (
	"strings"
	"testing"

	"fourway/bench/benchtest"
	"fourway/bench/record"
)

// TestPercentileNeedsEnoughSamples: a percentile is printed only from a
// window of record.MinSamples samples or more, ten beyond it: p99.9 needs
// 10,000, p99 1,000; a window of 50 prints its p50 and no p99.
func TestPercentileNeedsEnoughSamples(t *testing.T) {
	for name, want := range map[string]int64{"p50": 20, "p90": 100, "p99": 1000, "p99.9": 10000} {
		for _, p := range record.Percentiles {
			if p.Name != name {
				continue
			}
			if got := record.MinSamples(p.Q); got != want {
				t.Errorf("MinSamples(%g) = %d, want %d", p.Q, got, want)
			}
			l := record.Latency{Count: want - 1, P50: 2, P90: 3, P99: 4, P999: 5}
			if got := percentile(l, name); got != "–" {
				t.Errorf("%s from %d samples printed %q, want a dash", name, l.Count, got)
			}
			l.Count = want
			if got := percentile(l, name); got == "–" {
				t.Errorf("%s from %d samples not printed", name, l.Count)
			}
		}
	}
	r := record.Result{Scenario: benchtest.OverProto("fourway", "ws", "h1"), Latency: record.Latency{Count: 50, P50: 2.413, P90: 3.1, P99: 4.75, P999: 4.9, Max: 5}}
	var b strings.Builder
	writeTable(&b, []record.Result{r})
	out := b.String()
	if strings.Contains(out, "4.75") || strings.Contains(out, "4.9") || !strings.Contains(out, "p99.9 10,000") {
		t.Errorf("a window of 50 samples printed a p99 or p99.9, or not the rule:\n%s", out)
	}
	// The process table of a -cluster row, and JetStream's acks, alike.
	r.Setup, r.Procs = "memory", []record.ProcCost{{Name: "fourway", CPUSeconds: 1}}
	b.Reset()
	writeProcTable(&b, []record.Result{r})
	writeAcks(&b, []record.AckLatency{{Replicas: 3, Latency: r.Latency}})
	if out := b.String(); strings.Contains(out, "4.75") || !strings.Contains(out, "2.41") {
		t.Errorf("a window of 50 samples printed a p99 in the process or acks table, or no p50:\n%s", out)
	}
}

// TestPercentileDigitsFollowItsBounds: a percentile is written to the
// digits its 95 % bounds support, never past three significant digits:
// no "2.413 ms" from 40 samples.
func TestPercentileDigitsFollowItsBounds(t *testing.T) {
	for _, c := range []struct {
		v, lo, hi float64
		want      string
	}{
		{2.413, 1.9, 3.1, "2.4"},     // ±0.7: one decimal
		{2.413, 0.5, 9.0, "2"},       // ±6.6: units
		{2.413, 2.41, 2.416, "2.41"}, // ±0.003, but three significant digits at most
		{254.3, 230, 280, "250"},     // ±26: tens
		{41.35, 40.9, 41.8, "41.4"},  // ±0.45
	} {
		l := record.Latency{Count: 40, P50: c.v, Bounds: map[string][2]float64{"p50": {c.lo, c.hi}}}
		if got := percentile(l, "p50"); got != c.want {
			t.Errorf("p50 %g in [%g, %g] written %q, want %q", c.v, c.lo, c.hi, got, c.want)
		}
	}
}

// TestCPUPerDeliveryWarnsBelowTheClock: the CPU per delivery comes with
// the window's CPU seconds, and is marked rough with a note when they are
// fewer than ten times what /proc's 10 ms ticks may be off by (two ticks a
// process): 0.06 s is not read as "15.00 µs/msg".
func TestCPUPerDeliveryWarnsBelowTheClock(t *testing.T) {
	row := func(cpu float64, procs int) record.Result {
		r := record.Result{Scenario: benchtest.OverProto("fourway", "ws", "h1"), WindowDeliveries: 4000}
		r.Server = &record.ServerCost{CPUSeconds: cpu, CPUPerMsgMicros: cpu / 4000 * 1e6, CPUErrorSeconds: record.CPUError(procs)}
		return r
	}
	if record.ClockTick.Seconds() != 0.01 || record.CPUError(1) != 0.02 {
		t.Fatalf("clock tick %s, error of one process %g s: want 10 ms and 0.02 s", record.ClockTick, record.CPUError(1))
	}
	short := row(0.06, 1)
	if got := cpuPerDelivery(short); got != "~15" {
		t.Errorf("0.06 s over 4000 deliveries written %q, want ~15 (±5 µs)", got)
	}
	var b strings.Builder
	writeTable(&b, []record.Result{short})
	if out := b.String(); !strings.Contains(out, "0.06 s of CPU") || !strings.Contains(out, "ticks of 10 ms") || strings.Contains(out, "15.00") {
		t.Errorf("the table of a 0.06 s window lacks its warning, or prints 15.00:\n%s", out)
	}
	for _, c := range []struct {
		cpu   float64
		procs int
		warn  bool
	}{{0.19, 1, true}, {0.2, 1, false}, {4.94, 1, false}, {0.3, 2, true}, {0.4, 2, false}} {
		r := row(c.cpu, c.procs)
		if got := len(cpuNotes([]record.Result{r})) > 0; got != c.warn || strings.HasPrefix(cpuPerDelivery(r), "~") != c.warn {
			t.Errorf("%g s over %d processes: warning %v, cell %q; want a warning %v", c.cpu, c.procs, got, cpuPerDelivery(r), c.warn)
		}
	}
	// A report written before the error was recorded: one process's.
	old := row(0.06, 1)
	old.Server.CPUErrorSeconds = 0
	if !old.CPUTooShort() {
		t.Error("a row without cpu_error_seconds is not warned of at 0.06 s")
	}
	if got := cpuPerDelivery(row(0.01, 1)); got != "<8" {
		t.Errorf("0.01 s over 4000 deliveries written %q, want the bound <8 (2.5 ± 5 µs)", got)
	}
}

// TestSpreadIsInTheReport: rows measured in several rounds get their
// spread; a run of one round states the spread measured before, and where
// it comes from.
func TestSpreadIsInTheReport(t *testing.T) {
	row := func(p50, p99, cpu float64) record.Result {
		r := record.Result{Scenario: benchtest.OverProto("fourway", "ws", "h1"), WindowDeliveries: 100000,
			Latency: record.Latency{Count: 100000, P50: p50, P99: p99}}
		r.Server = &record.ServerCost{CPUSeconds: 1, CPUPerMsgMicros: cpu}
		return r
	}
	one := strings.Join(spreadLines([]record.Result{row(2, 8, 10)}), "\n")
	if !strings.Contains(one, "rounds-2026-12-02b") || !strings.Contains(one, "15 %") {
		t.Errorf("one round: %q, want the spread measured before and its source", one)
	}
	three := strings.Join(spreadLines([]record.Result{row(2, 8, 10), row(2.5, 9, 11), row(3, 10, 12)}), "\n")
	for _, want := range []string{"3 rounds", "p50 2.00 to 3.00 ms (50 %)", "p99 8.00 to 10.0 ms (25 %)", "server CPU 10.0 to 12.0 µs/delivery (20 %)"} {
		if !strings.Contains(three, want) {
			t.Errorf("three rounds: %q lacks %q", three, want)
		}
	}
	var md strings.Builder
	writeMarkdown(&md, record.Report{Results: []record.Result{row(2, 8, 10)}}, "")
	if !strings.Contains(md.String(), "run-to-run spread") || !strings.Contains(renderHTML(record.Report{Results: []record.Result{row(2, 8, 10)}}), "run-to-run spread") {
		t.Error("report.md or report.html lacks the run-to-run spread")
	}
}
