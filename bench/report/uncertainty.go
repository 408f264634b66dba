package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"fourway/bench/record"
)

// A figure is written to the digits its uncertainty supports: a
// percentile only when the window holds enough samples for it
// (record.MinSamples), to the digits of its 95 % bounds; the CPU per
// delivery to the digits the CPU clock's ticks allow, with a warning when
// the window's CPU seconds are too few for that clock; and the spread of
// repeated rounds, or the spread measured before, beside the tables.

// supported writes v to the digits an uncertainty of ±err supports: its
// last digit is in the place of err's first, and it has at most three
// significant digits (the histograms' precision). With no err it has three.
func supported(v, err float64) string {
	place := math.Floor(math.Log10(math.Abs(v))) - 2
	if err > 0 && !math.IsInf(err, 0) && !math.IsNaN(err) {
		place = max(place, math.Floor(math.Log10(err)))
	}
	if v == 0 || math.IsInf(place, 0) || math.IsNaN(place) {
		return "0"
	}
	if place >= 0 {
		unit := math.Pow(10, place)
		return strconv.FormatFloat(math.Round(v/unit)*unit, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', int(-place), 64)
}

// percentile is a latency percentile's cell: a dash when the window holds
// too few samples for it, else the value to the digits its bounds support
// (three significant digits, at most two decimals, when the report has no
// bounds: one written before they were recorded).
func percentile(l record.Latency, name string) string {
	for _, p := range record.Percentiles {
		if p.Name != name {
			continue
		}
		if !l.Enough(p.Q) {
			return "–"
		}
		v := map[string]float64{"p50": l.P50, "p90": l.P90, "p99": l.P99, "p99.9": l.P999}[name]
		b, ok := l.Bounds[p.Key]
		if !ok {
			return latencyCell(v)
		}
		return supported(v, max(v-b[0], b[1]-v))
	}
	panic("report: no percentile " + name)
}

// percentileLegend states the rule that leaves a percentile out, when a
// row's window left one out.
func percentileLegend(results []record.Result) []string {
	short := false
	for _, r := range results {
		short = short || (r.Latency.Count > 0 && !r.Latency.Enough(0.999))
	}
	if !short {
		return nil
	}
	var need []string
	for _, p := range record.Percentiles {
		need = append(need, fmt.Sprintf("%s %s", p.Name, thousands(record.MinSamples(p.Q))))
	}
	return []string{fmt.Sprintf("latency percentiles: a dash where the window held too few samples (deliveries) for one; each needs %d beyond it: %s. "+
		"Each is written to the digits its 95 %% bounds support (the ranks n·q ± 1.96·√(n·q·(1−q))); the deliveries of one message are not independent, so the true uncertainty is wider",
		record.SamplesBeyond, strings.Join(need, ", "))}
}

// thousands writes n with commas: 10,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// cpuPerDelivery is a row's server CPU per delivery in µs, to the digits
// the CPU clock supports, marked "~" when the window's CPU seconds are too
// few for the clock (record.Result.CPUTooShort), and written as a bound,
// "<300", when the clock's error is as large as the figure.
func cpuPerDelivery(r record.Result) string {
	s := r.Server
	if r.WindowDeliveries <= 0 {
		return supported(s.CPUPerMsgMicros, 0)
	}
	v, e := s.CPUPerMsgMicros, r.CPUErr()/float64(r.WindowDeliveries)*1e6
	switch {
	case v <= e:
		return "<" + supported(v+e, v+e)
	case r.CPUTooShort():
		return "~" + supported(v, e)
	}
	return supported(v, e)
}

// cpuNotes warn of each row whose CPU per delivery rests on fewer CPU
// seconds than the clock resolves well.
func cpuNotes(results []record.Result) []string {
	var out []string
	for _, r := range results {
		if !r.CPUTooShort() {
			continue
		}
		s, e := r.Server, r.CPUErr()
		share := "more than all of it"
		if s.CPUSeconds > 0 {
			share = fmt.Sprintf("%.0f %%", e/s.CPUSeconds*100)
		}
		out = append(out, fmt.Sprintf("~ %s %s, %d subs, %g/s: the server used %.2f s of CPU in the window; /proc counts CPU in ticks of %d ms, so that may be off by up to %.2f s (%s), and its CPU per delivery with it: below %.1f s the figure is rough (measure longer, -duration, or more deliveries)",
			r.Target, r.Label(), r.Subs, r.Rate, s.CPUSeconds, record.ClockTick.Milliseconds(), e, share, e/record.MaxCPUError))
	}
	return out
}

// measuredSpread is the spread between runs measured before, stated when
// a run has no repeated rounds of its own: for each row of 49 measured
// three times (fourway and Nchan, 200 and 1,000 subscribers, 2026-12-02,
// bench/results/rounds-2026-12-02b/), (max − min) / min of the three.
const measuredSpread = "run-to-run spread (this run has one round of each row; -rounds 3 measures its own): between three runs of the same command on a quiet 2-core machine, " +
	"a row's server CPU per delivery differed by 15 % (median of 49 rows; 9 rows in 10 within 37 %, the most 62 %), and its p50 and p99 by about 20 % " +
	"(median), up to 150 % where the machine was not CPU-bound and many times over where it was, from bench/results/rounds-2026-12-02b/ in the fourway repository. Compare rows of one run, not figures across runs"

// spreadLines say, for every row measured in several rounds, how far its
// rounds' p50, p99 and CPU per delivery are apart; with no such row, the
// spread measured before (measuredSpread).
func spreadLines(results []record.Result) []string {
	var keys []string
	groups := map[string][]record.Result{}
	for _, r := range results {
		k := fmt.Sprintf("%s %s, %d subs, %g/s, %s", r.Target, r.Label(), r.Subs, r.Rate, payloadText(r))
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []string
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		p50 := make([]float64, 0, len(g))
		p99 := make([]float64, 0, len(g))
		cpu := make([]float64, 0, len(g))
		for _, r := range g {
			p50 = append(p50, r.Latency.P50)
			if r.Latency.Enough(0.99) {
				p99 = append(p99, r.Latency.P99)
			}
			if r.Server != nil && !r.CPUTooShort() {
				cpu = append(cpu, r.Server.CPUPerMsgMicros)
			}
		}
		parts := []string{spreadOf("p50", p50, " ms")}
		if len(p99) > 1 {
			parts = append(parts, spreadOf("p99", p99, " ms"))
		}
		if len(cpu) == len(g) {
			parts = append(parts, spreadOf("server CPU", cpu, " µs/delivery"))
		}
		out = append(out, fmt.Sprintf("%s, %d rounds: %s", k, len(g), strings.Join(parts, "; ")))
	}
	if len(out) == 0 {
		return []string{measuredSpread}
	}
	return append([]string{"run-to-run spread, (max − min) / min of the rounds of each row measured more than once:"}, out...)
}

// spreadOf writes the range of vs and how far apart its ends are.
func spreadOf(name string, vs []float64, unit string) string {
	lo, hi := slices.Min(vs), slices.Max(vs)
	s := fmt.Sprintf("%s %s to %s%s", name, latencyCell(lo), latencyCell(hi), unit)
	if lo > 0 {
		s += fmt.Sprintf(" (%.0f %%)", (hi-lo)/lo*100)
	}
	return s
}
