package report

import (
	"fmt"
	"io"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// fourway has speed targets on a 2-core machine. They are
// checked here, in the bench's output, and never as timed assertions in
// tests: a busy machine must not fail a build, but a reader must see
// whether the numbers hold.

// CheckTargets checks every fourway row against the speed target stated
// for its load, and against Nchan's row of the same load.
func CheckTargets(results []record.Result) []record.Target {
	var out []record.Target
	for _, r := range results {
		// A p99 is judged only where the window holds enough samples
		// for it to be printed, and not through a fault (a silent link,
		// a reconnect storm): there it measures the fault.
		if r.Target != "fourway" || !r.Latency.Enough(0.99) || faulted(r) {
			continue
		}
		name := fmt.Sprintf("fourway %s, %d subscribers at %g msg/s", r.Label(), r.Subs, r.Rate)
		// The targets are stated for loopback: a row through a slower
		// emulated link (-links) is not judged by them.
		if t, ok := loadTarget(name, r); ok && (r.Link == "" || r.Link == "loopback") {
			out = append(out, t)
		}
		out = append(out, nchanTargets(name, r, results)...)
	}
	return out
}

// faulted reports whether the row measured a fault: a silent link (an
// -outage, or the train's own) or a reconnect storm.
func faulted(r record.Result) bool {
	return r.SilentLink != nil || len(r.SilentLinks) > 0 || r.ReconnectStorm != nil
}

// loadTarget is the target stated for the row's load, if there is one:
// the targets are stated for these loads; other loads are not judged.
func loadTarget(name string, r record.Result) (record.Target, bool) {
	p99 := r.Latency.P99
	switch {
	case (r.Transport == "ws" || plan.BaseTransport(r.Transport) == "sse") && r.Subs == 1000 && r.Rate == 100:
		return record.Target{What: name, Want: "p99 < 10 ms", Got: "p99 " + percentile(r.Latency, "p99") + " ms", Met: p99 < 10}, true
	case plan.BaseTransport(r.Transport) == "longpoll" && r.Subs == 1000 && r.Rate == 10:
		return record.Target{What: name, Want: "p99 < 25 ms", Got: "p99 " + percentile(r.Latency, "p99") + " ms", Met: p99 < 25}, true
	case r.Transport == "poll":
		limit := float64(time.Duration(r.PollInterval).Milliseconds()) + 10
		return record.Target{What: name, Want: fmt.Sprintf("p99 < interval + 10 ms = %.0f ms", limit), Got: "p99 " + percentile(r.Latency, "p99") + " ms", Met: p99 < limit}, true
	}
	return record.Target{}, false
}

// nchanTargets hold the row against Nchan's row of the same load: its sse
// stands for sse-direct too, its longpoll for longpoll-direct, and a mixed
// row is compared within the same mix.
func nchanTargets(name string, r record.Result, results []record.Result) []record.Target {
	var out []record.Target
	p99 := r.Latency.P99
	for _, n := range results {
		if n.Target != "nchan" || n.Transport != plan.NchanTransport(r.Transport) || n.Mixed != plan.NchanTransport(r.Mixed) || n.Proto != r.Proto || n.Link != r.Link || n.Subs != r.Subs || n.Rate != r.Rate || n.Payload != r.Payload || n.PayloadKind != r.PayloadKind || n.Compress != r.Compress || !n.Latency.Enough(0.99) {
			continue
		}
		out = append(out, record.Target{What: name + " vs nginx+Nchan", Want: "p99 ≤ Nchan's",
			Got: fmt.Sprintf("%s ms vs %s ms (%+.0f%%)", percentile(r.Latency, "p99"), percentile(n.Latency, "p99"), pct(p99, n.Latency.P99)), Met: p99 <= n.Latency.P99})
		// /proc counts CPU in 10 ms ticks: on too few CPU seconds the
		// comparison would be mostly rounding (record.Result.CPUTooShort).
		if r.Server != nil && n.Server != nil && !r.CPUTooShort() && !n.CPUTooShort() {
			a, b := r.Server.CPUPerMsgMicros, n.Server.CPUPerMsgMicros
			out = append(out, record.Target{What: name + " vs nginx+Nchan", Want: "server CPU per delivery ≤ Nchan's",
				Got: fmt.Sprintf("%s µs vs %s µs (%+.0f%%)", cpuPerDelivery(r), cpuPerDelivery(n), pct(a, b)), Met: a <= b})
		}
	}
	return out
}

// writeTargets prints the speed targets and whether each was met.
func writeTargets(out io.Writer, ts []record.Target) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintln(out, "speed targets (measured on this machine, this run):")
	for _, t := range ts {
		mark := "met   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(out, "  %s  %s: want %s, got %s\n", mark, t.What, t.Want, t.Got)
	}
}
