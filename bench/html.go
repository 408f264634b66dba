package main

import (
	"fmt"
	"html"
	"math"
	"os/exec"
	"runtime"
	"sort"
	"strings"
)

// The HTML report is one file: styles and charts (hand-written SVG) are
// inline, nothing is loaded from anywhere, so it opens offline and can be
// attached to an issue as it is.

var pctColors = []string{"#4e79a7", "#59a14f", "#e15759", "#b07aa1", "#444444"}
var pctNames = []string{"p50", "p90", "p99", "p99.9", "max"}

// seriesColor gives each target/transport pair a stable colour.
func seriesColor(target, transport string) string {
	c := map[string]string{"poll": "#f28e2b", "longpoll": "#edc948", "longpoll-direct": "#f1ce63", "sse": "#59a14f", "sse-direct": "#8cd17d", "ws": "#4e79a7"}[transport]
	if c == "" {
		c = "#888888"
	}
	if target == "nchan" {
		c = map[string]string{"poll": "#9c5a1c", "longpoll": "#9a8330", "sse": "#35663a", "ws": "#2c4866"}[transport]
	}
	return c
}

func rowLabel(r Result, many bool) string {
	s := r.Target + " " + r.label()
	if many {
		s += fmt.Sprintf(" · %d subs · %g/s · %d B", r.Subs, r.Rate, r.Payload)
	}
	return s
}

// manyScenarios reports whether the results span more than one setting of
// subscribers, rate or payload, so labels must say which.
func manyScenarios(results []Result) bool {
	for _, r := range results[1:] {
		if r.Subs != results[0].Subs || r.Rate != results[0].Rate || r.Payload != results[0].Payload {
			return true
		}
	}
	return false
}

type svg struct {
	b    strings.Builder
	w, h int
}

func newSVG(w, h int, standalone bool) *svg {
	s := &svg{w: w, h: h}
	ns := ""
	if standalone {
		ns = ` xmlns="http://www.w3.org/2000/svg"`
	}
	fmt.Fprintf(&s.b, `<svg%s viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`, ns, w, h, w, h)
	fmt.Fprintf(&s.b, `<rect width="%d" height="%d" fill="#ffffff"/>`, w, h)
	return s
}

func (s *svg) text(x, y float64, anchor, fill, t string, extra ...string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"%s>%s</text>`, x, y, anchor, fill, strings.Join(extra, ""), html.EscapeString(t))
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string, width float64, extra ...string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`, x1, y1, x2, y2, stroke, width, strings.Join(extra, ""))
}

func (s *svg) rect(x, y, w, h float64, fill, title string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`, x, y, max(w, 0), h, fill, html.EscapeString(title))
}

func (s *svg) String() string { return s.b.String() + "</svg>" }

// logScale maps [lo, hi] to [x0, x1] logarithmically.
type logScale struct{ lo, hi, x0, x1 float64 }

func (l logScale) at(v float64) float64 {
	v = min(max(v, l.lo), l.hi)
	return l.x0 + (math.Log10(v)-math.Log10(l.lo))/(math.Log10(l.hi)-math.Log10(l.lo))*(l.x1-l.x0)
}

func decades(lo, hi float64) []float64 {
	var out []float64
	for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi*1.0001; d *= 10 {
		if d >= lo*0.9999 {
			out = append(out, d)
		}
	}
	return out
}

func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%gs", v/1000)
	case v >= 1:
		return fmt.Sprintf("%gms", v)
	}
	return fmt.Sprintf("%gµs", v*1000)
}

// latencyChart draws p50, p90, p99, p99.9 and max per result on a log
// axis, one row each.
func latencyChart(results []Result, standalone bool) string {
	if len(results) == 0 {
		return ""
	}
	many := manyScenarios(results)
	lo, hi := math.Inf(1), 0.0
	for _, r := range results {
		if r.Latency.Count == 0 {
			continue
		}
		lo = min(lo, r.Latency.P50)
		hi = max(hi, r.Latency.Max)
	}
	if hi == 0 {
		return ""
	}
	lo = math.Pow(10, math.Floor(math.Log10(max(lo, 0.001))))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	labelW := 170.0
	if many {
		labelW = 330
	}
	rowH := 24.0
	w, top := 900.0, 48.0
	h := top + rowH*float64(len(results)) + 34
	s := newSVG(int(w), int(h), standalone)
	sc := logScale{lo, hi, labelW + 10, w - 110}
	s.text(labelW+10, 16, "start", "#222", "Latency, publish (intended time) to receipt, log scale", ` font-weight="600"`)
	for i, name := range pctNames {
		x := labelW + 10 + float64(i)*80
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="32" r="5" fill="%s"/>`, x+6, pctColors[i])
		s.text(x+15, 36, "start", "#333", name)
	}
	for _, d := range decades(lo, hi) {
		x := sc.at(d)
		s.line(x, top-4, x, h-28, "#dddddd", 1)
		s.text(x, h-12, "middle", "#555", fmtMs(d))
	}
	for i, r := range results {
		y := top + rowH*float64(i) + rowH/2
		s.text(labelW, y+4, "end", "#222", rowLabel(r, many))
		if r.Latency.Count == 0 {
			s.text(labelW+14, y+4, "start", "#c00", "no data")
			continue
		}
		v := []float64{r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max}
		s.line(sc.at(v[0]), y, sc.at(v[4]), y, seriesColor(r.Target, r.Transport), 3)
		for j, x := range v {
			fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#fff"><title>%s %s %s: %.3f ms</title></circle>`,
				sc.at(x), y, pctColors[j], r.Target, r.label(), pctNames[j], x)
		}
		s.text(sc.at(v[4])+8, y+4, "start", "#555", fmt.Sprintf("p99 %s", latencyCell(v[2])+" ms"), ` font-size="11"`)
	}
	return s.String()
}

// bytesChart draws the bytes of one message: payload, overhead down, bytes
// up.
func bytesChart(results []Result, standalone bool) string {
	many := manyScenarios(results)
	labelW := 170.0
	if many {
		labelW = 330
	}
	maxB := 0.0
	for _, r := range results {
		maxB = max(maxB, r.Wire.DownPerMsg+r.Wire.UpPerMsg)
	}
	if maxB == 0 {
		return ""
	}
	rowH, top, w := 24.0, 48.0, 900.0
	h := top + rowH*float64(len(results)) + 14
	s := newSVG(int(w), int(h), standalone)
	s.text(labelW+10, 16, "start", "#222", "Bytes on the wire per delivered message (subscriber's socket)", ` font-weight="600"`)
	keys := []struct{ c, n string }{{"#bbbbbb", "payload"}, {"#e15759", "overhead down (headers, framing)"}, {"#f28e2b", "up (requests)"}}
	x := labelW + 10
	for _, k := range keys {
		s.rect(x, 26, 12, 12, k.c, k.n)
		s.text(x+17, 36, "start", "#333", k.n)
		x += 17 + 7*float64(len(k.n)) + 16 // about 7 px a character at 12 px
	}
	scale := (w - labelW - 280) / maxB
	for i, r := range results {
		y := top + rowH*float64(i)
		s.text(labelW, y+rowH/2+4, "end", "#222", rowLabel(r, many))
		x = labelW + 10
		pay := min(r.Wire.PayloadPerMsg, r.Wire.DownPerMsg)
		parts := []struct {
			v    float64
			c, n string
		}{{pay, "#bbbbbb", "payload"}, {r.Wire.DownPerMsg - pay, "#e15759", "overhead down"}, {r.Wire.UpPerMsg, "#f28e2b", "up"}}
		for _, p := range parts {
			s.rect(x, y+4, p.v*scale, rowH-8, p.c, fmt.Sprintf("%s: %.1f B", p.n, p.v))
			x += p.v * scale
		}
		s.text(x+6, y+rowH/2+4, "start", "#555", fmt.Sprintf("%.0f down + %.0f up, overhead %.1f B", r.Wire.DownPerMsg, r.Wire.UpPerMsg, r.Wire.OverheadPerMsg), ` font-size="11"`)
	}
	return s.String()
}

// requestsChart draws HTTP requests per delivered message.
func requestsChart(results []Result) string {
	many := manyScenarios(results)
	labelW := 170.0
	if many {
		labelW = 330
	}
	maxR := 0.0
	for _, r := range results {
		maxR = max(maxR, r.Wire.RequestsPerMsg)
	}
	if maxR == 0 {
		maxR = 1
	}
	rowH, top, w := 24.0, 30.0, 900.0
	h := top + rowH*float64(len(results)) + 10
	s := newSVG(int(w), int(h), false)
	s.text(labelW+10, 16, "start", "#222", "HTTP requests per delivered message (streams: 0 after the handshake)", ` font-weight="600"`)
	scale := (w - labelW - 120) / maxR
	for i, r := range results {
		y := top + rowH*float64(i)
		s.text(labelW, y+rowH/2+4, "end", "#222", rowLabel(r, many))
		s.rect(labelW+10, y+4, r.Wire.RequestsPerMsg*scale, rowH-8, seriesColor(r.Target, r.Transport), fmt.Sprintf("%.3f", r.Wire.RequestsPerMsg))
		s.text(labelW+16+r.Wire.RequestsPerMsg*scale, y+rowH/2+4, "start", "#555", fmt.Sprintf("%.3f", r.Wire.RequestsPerMsg), ` font-size="11"`)
	}
	return s.String()
}

// scalingChart draws p99 latency against subscribers, one line per target,
// transport, rate and payload that was measured at two or more counts.
func scalingChart(results []Result, standalone bool) string {
	type key struct {
		target, transport string
		rate              float64
		payload           int
	}
	series := map[key][]Result{}
	var keys []key
	for _, r := range results {
		k := key{r.Target, r.label(), r.Rate, r.Payload}
		if _, ok := series[k]; !ok {
			keys = append(keys, k)
		}
		series[k] = append(series[k], r)
	}
	loS, hiS, loL, hiL := math.Inf(1), 0.0, math.Inf(1), 0.0
	n := 0
	for _, k := range keys {
		rs := series[k]
		if len(rs) < 2 {
			continue
		}
		n++
		for _, r := range rs {
			loS, hiS = min(loS, float64(r.Subs)), max(hiS, float64(r.Subs))
			if r.Latency.Count > 0 {
				loL, hiL = min(loL, r.Latency.P99), max(hiL, r.Latency.P99)
			}
		}
	}
	if n == 0 || hiL == 0 {
		return ""
	}
	loS, hiS = math.Pow(10, math.Floor(math.Log10(loS))), math.Pow(10, math.Ceil(math.Log10(hiS)))
	loL, hiL = math.Pow(10, math.Floor(math.Log10(max(loL, 0.001)))), math.Pow(10, math.Ceil(math.Log10(hiL)))
	w, h := 900.0, 420.0
	left, right, top, bottom := 70.0, 250.0, 30.0, 50.0
	s := newSVG(int(w), int(h), standalone)
	s.text(left, 18, "start", "#222", "p99 latency against subscribers (log-log)", ` font-weight="600"`)
	xs := logScale{loS, hiS, left, w - right}
	ys := logScale{loL, hiL, h - bottom, top}
	for _, d := range decades(loS, hiS) {
		s.line(xs.at(d), top, xs.at(d), h-bottom, "#e5e5e5", 1)
		s.text(xs.at(d), h-bottom+16, "middle", "#555", fmt.Sprintf("%g", d))
	}
	s.text((left+w-right)/2, h-12, "middle", "#333", "subscribers per transport")
	for _, d := range decades(loL, hiL) {
		s.line(left, ys.at(d), w-right, ys.at(d), "#e5e5e5", 1)
		s.text(left-6, ys.at(d)+4, "end", "#555", fmtMs(d))
	}
	li := 0
	for _, k := range keys {
		rs := series[k]
		if len(rs) < 2 {
			continue
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Subs < rs[j].Subs })
		c := seriesColor(k.target, rs[0].Transport)
		var pts []string
		for _, r := range rs {
			if r.Latency.Count > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.at(float64(r.Subs)), ys.at(r.Latency.P99)))
			}
		}
		dash := ""
		if k.target == "nchan" {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"%s/>`, strings.Join(pts, " "), c, dash)
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&s.b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`, xy[0], xy[1], c)
		}
		ly := top + 10 + float64(li)*18
		s.line(w-right+15, ly, w-right+40, ly, c, 2.5, dash)
		s.text(w-right+46, ly+4, "start", "#333", fmt.Sprintf("%s %s · %g/s · %d B", k.target, k.transport, k.rate, k.payload), ` font-size="11"`)
		li++
	}
	return s.String()
}

// classicChart draws the throughput of 100,000 clients on a log axis: the
// 2010 article's two figures and each measured transport.
func classicChart(results []Result) string {
	type bar struct {
		name, color string
		v           float64
	}
	bars := []bar{{"2010 polling (871 B)", "#999999", mbps(100000, 871)}, {"2010 WebSocket (2 B)", "#999999", mbps(100000, 2)}}
	for _, r := range classicRows(results) {
		bars = append(bars, bar{r.Target + " " + r.label(), seriesColor(r.Target, r.Transport), mbps(100000, r.classicOverhead())})
	}
	lo, hi := math.Inf(1), 0.0
	for _, b := range bars {
		if b.v > 0 {
			lo, hi = min(lo, b.v), max(hi, b.v)
		}
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	labelW, rowH, top, w := 190.0, 22.0, 30.0, 900.0
	h := top + rowH*float64(len(bars)) + 30
	s := newSVG(int(w), int(h), false)
	s.text(labelW+10, 16, "start", "#222", "Overhead traffic of 100,000 clients at one message per second, Mbps (2^20 bit/s), log scale", ` font-weight="600"`)
	sc := logScale{lo, hi, labelW + 10, w - 110}
	for _, d := range decades(lo, hi) {
		s.line(sc.at(d), top-4, sc.at(d), h-24, "#e5e5e5", 1)
		s.text(sc.at(d), h-8, "middle", "#555", fmt.Sprintf("%g", d))
	}
	for i, b := range bars {
		y := top + rowH*float64(i)
		s.text(labelW, y+rowH/2+4, "end", "#222", b.name)
		x := sc.at(b.v)
		s.rect(labelW+10, y+3, x-labelW-10, rowH-6, b.color, fmt.Sprintf("%.3f Mbps", b.v))
		s.text(x+6, y+rowH/2+4, "start", "#555", fmt.Sprintf("%.3f", b.v), ` font-size="11"`)
	}
	return s.String()
}

func procsText(n int) string {
	if n > 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("default (%d)", runtime.NumCPU())
}

func renderHTML(rep Report) string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fourway bench</title><style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}.wide{overflow-x:auto}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.bad{background:#fdd;color:#b00;font-weight:700}.note{color:#b00}
code{background:#f4f4f4;padding:1px 4px}h2{margin-top:32px}svg{max-width:100%;height:auto;display:block;margin:8px 0}
.muted{color:#666;font-size:13px}</style></head><body>`)
	b.WriteString(`<h1>fourway bench</h1>`)
	fmt.Fprintf(&b, `<p>Command: <code>%s</code><br>Started %s, ran %.0f s.</p>`, e(rep.Command), rep.Started.Format("2006-01-02 15:04:05 UTC"), rep.Seconds)
	m := rep.Machine
	fmt.Fprintf(&b, `<p class="muted">Machine: %s, %d cores, %d MiB memory, %s, %s, kernel %s. %s</p>`, e(m.CPU), m.Cores, m.MemoryMiB, e(m.GoVersion), e(m.OS), e(m.Kernel), e(strings.Join(rep.Versions, "; ")))
	c := rep.Config
	fmt.Fprintf(&b, `<p class="muted">Configuration: poll interval %s, warm-up %s, measured window %s, connects spread over %s, %d publishing connections, client headers %q, fourway --history %d, server GOMAXPROCS %s; nginx runs one worker process. Load generator and server on the same machine (loopback), the server a separate process started fresh for every row.</p>`,
		c.PollInterval, c.Warmup, c.Duration, c.Stagger, c.Publishers, c.ClientHeaders, c.History, procsText(c.ServerProcs))

	rs := rep.Results
	if len(rs) == 0 {
		b.WriteString(`<p class="note">No result.</p></body></html>`)
		return b.String()
	}
	b.WriteString(`<h2>Results</h2><div class="wide"><table><tr><th class="l">target</th><th class="l">transport</th><th>subs</th><th>rate/s</th><th>payload B</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>delivered</th><th>lost</th><th>dup</th><th>down B/msg</th><th>up B/msg</th><th>payload B/msg</th><th>overhead B/msg</th><th>req/msg</th><th>handshake B</th><th>server CPU s</th><th>CPU µs/msg</th><th>RSS idle MiB</th><th>KiB/conn</th><th>bench CPU s</th><th>other CPU s</th></tr>`)
	for _, r := range rs {
		bad := func(v int64) string {
			if v != 0 {
				return ` class="bad"`
			}
			return ""
		}
		srv := `<td colspan="4" class="muted">not local</td>`
		if r.ServerNote != "" {
			srv = `<td colspan="4" class="muted">` + e(r.ServerNote) + `</td>`
		}
		if s := r.Server; s != nil {
			srv = fmt.Sprintf("<td>%s</td><td>%s</td><td>%s</td><td>%s</td>", f2(s.CPUSeconds), f2(s.CPUPerMsgMicros), f1(s.RSSIdleMiB), f1(s.MemPerConnKiB))
		}
		fmt.Fprintf(&b, `<tr><td class="l">%s</td><td class="l">%s</td><td>%d</td><td>%g</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d / %d</td><td%s>%d</td><td%s>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>%s<td>%s</td><td>%s</td></tr>`,
			r.Target, htmlTransport(r), r.Subs, r.Rate, r.Payload,
			latencyCell(r.Latency.P50), latencyCell(r.Latency.P90), latencyCell(r.Latency.P99), latencyCell(r.Latency.P999), latencyCell(r.Latency.Max),
			r.Delivered, r.Expected, bad(r.Lost), r.Lost, bad(r.Duplicated), r.Duplicated,
			f1(r.Wire.DownPerMsg), f1(r.Wire.UpPerMsg), f1(r.Wire.PayloadPerMsg), f1(r.Wire.OverheadPerMsg), f3(r.Wire.RequestsPerMsg),
			f1(r.Wire.HandshakeDown+r.Wire.HandshakeUp), srv, f2(r.BenchCPUSeconds), f2(r.OtherCPUSeconds))
	}
	b.WriteString(`</table></div>`)
	for _, l := range legend(rs) {
		fmt.Fprintf(&b, `<p class="muted">%s</p>`, e(l))
	}
	for _, r := range rs {
		for _, n := range r.Notes {
			fmt.Fprintf(&b, `<p class="note">%s %s, %d subs, %g/s: %s</p>`, r.Target, e(r.label()), r.Subs, r.Rate, e(n))
		}
	}
	b.WriteString(`<p class="muted">Latency: from the intended send time stamped by the open-loop publisher to receipt, messages intended inside the window. Payload: the message as the application receives it (fourway: the message JSON with its id and time; Nchan: the published body, its id travels in headers or id lines). Overhead = bytes down + bytes up − payload, on the subscriber's socket (TCP payload), after the handshake; handshake = what connecting cost per subscriber (upgrade, stream headers, hello). Server CPU: user+system seconds of the server's processes inside the window, from /proc (10 ms resolution); per message: divided by the deliveries received inside the window. KiB/conn: (RSS with every subscriber connected and idle − RSS before) / subscribers; below a few hundred subscribers it is mostly the heap's growth steps, not the connections. Bench CPU: the load generator's own CPU seconds in the window (publisher and every subscriber, one process): when server and bench together near the machine's cores, latency includes waiting for a core. Other CPU: what the rest of the machine (other processes, interrupts) used in the window, from /proc/stat.</p>`)

	writeProcHTML(&b, rs)
	writeAcksHTML(&b, rep.Acks)
	if len(rep.Targets) > 0 {
		b.WriteString(`<h2>Speed targets</h2><table><tr><th class="l">what</th><th class="l">target</th><th class="l">measured</th><th class="l"></th></tr>`)
		for _, t := range rep.Targets {
			mark, cls := "met", ""
			if !t.Met {
				mark, cls = "missed", ` class="bad"`
			}
			fmt.Fprintf(&b, `<tr><td class="l">%s</td><td class="l">%s</td><td class="l">%s</td><td class="l"%s>%s</td></tr>`, e(t.What), e(t.Want), e(t.Got), cls, mark)
		}
		b.WriteString(`</table><p class="muted">Checked in the bench's output, never as timed assertions in tests. Load generator and server share the machine's cores: read them with the bench CPU column and any CPU-bound note above.</p>`)
	}
	b.WriteString(`<h2>Latency</h2>`)
	b.WriteString(latencyChart(rs, false))
	if sc := scalingChart(rs, false); sc != "" {
		b.WriteString(`<h2>Latency against subscribers</h2>` + sc)
	}
	b.WriteString(`<h2>Bytes and requests per message</h2>`)
	b.WriteString(bytesChart(rs, false))
	b.WriteString(requestsChart(rs))

	b.WriteString(`<h2>The 2010 table, then and now</h2><p>"HTML5 Web Sockets: A Quantum Leap in Scalability for the Web" (2010) counted 871 bytes of HTTP headers per poll against 2 bytes of WebSocket framing, for clients that each receive one message per second. Below, the same computation from the bytes measured here: Mbps = clients × overhead bytes × 8 / 2<sup>20</sup>. For polls, the overhead of one request and response that carried a message (Nchan's interval poll adds the 304 that ends every tick); for streams, the overhead per message.</p>`)
	b.WriteString(`<table><tr><th class="l">one message per second per client</th><th>overhead B/msg</th><th>1,000 clients Mbps</th><th>10,000</th><th>100,000</th></tr>`)
	for _, c := range classic2010 {
		fmt.Fprintf(&b, `<tr><td class="l">%s</td><td>%g</td><td>%g</td><td>%g</td><td>%g</td></tr>`, e(c.name), c.bytes, c.mbps[0], c.mbps[1], c.mbps[2])
	}
	for _, r := range classicRows(rs) {
		o := r.classicOverhead()
		fmt.Fprintf(&b, `<tr><td class="l">%s %s (measured)</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`, r.Target, e(r.label()), f1(o),
			f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o)))
	}
	b.WriteString(`</table>`)
	b.WriteString(classicChart(rs))
	b.WriteString(`</body></html>`)
	return b.String()
}

// htmlTransport is a row's transport cell: the name, what an SSE row
// measures, the mixed scenario it is part of, and its protocol.
func htmlTransport(r Result) string {
	s := r.Transport
	if r.Proto != "" {
		s += " [" + r.Proto + "]"
		if r.Negotiated != "" {
			s += `<br><span class="muted">` + html.EscapeString(r.Negotiated) + `</span>`
		}
	}
	if t := transportTitle(r.Transport); t != "" && r.Target == "fourway" {
		s += `<br><span class="muted">` + html.EscapeString(t) + `</span>`
	}
	if r.Mixed != "" {
		s += `<br><span class="muted">in mixed ` + html.EscapeString(r.Mixed) + `: one server, CPU and memory shared</span>`
	}
	if r.Setup != "" {
		s += `<br><span class="muted">on ` + html.EscapeString(setupTitle(r.Setup)) + `</span>`
	}
	return s
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
