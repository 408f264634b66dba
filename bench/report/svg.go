package report

import (
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strings"

	"fourway/bench/record"
)

// The charts are hand-written SVG, drawn as strings: inline in the HTML
// page, and standalone files beside it (latency.svg, bytes.svg,
// scaling.svg).

// pctColors and pctNames are the latency chart's percentiles, in order.
var (
	pctColors = []string{"#4e79a7", "#59a14f", "#e15759", "#b07aa1", "#444444"}
	pctNames  = []string{"p50", "p90", "p99", "p99.9", "max"}
)

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

// rowLabel names a result in a chart, with its load when the results
// are of several.
func rowLabel(r record.Result, many bool) string {
	s := r.Target + " " + r.Label()
	if many {
		s += fmt.Sprintf(" · %d subs · %g/s · %s", r.Subs, r.Rate, payloadText(r))
	}
	return s
}

// manyScenarios reports whether the results span more than one setting of
// subscribers, rate or payload, so labels must say which.
func manyScenarios(results []record.Result) bool {
	for _, r := range results[1:] {
		if r.Subs != results[0].Subs || r.Rate != results[0].Rate || r.PayloadName() != results[0].PayloadName() {
			return true
		}
	}
	return false
}

// svg is a chart being drawn, w by h pixels.
type svg struct {
	b    strings.Builder
	w, h int
}

// newSVG starts a chart on a white background; a standalone one is an
// SVG file of its own, with its namespace.
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

// point is a position on a chart, in pixels from its top left corner.
type point struct{ x, y float64 }

// text writes t at p, anchored "start", "middle" or "end", filled with
// the colour fill; extra are more attributes (` font-size="11"`).
func (s *svg) text(p point, anchor, fill, t string, extra ...string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"%s>%s</text>`, p.x, p.y, anchor, fill, strings.Join(extra, ""), html.EscapeString(t))
}

// line draws a line from a to b, of the colour stroke and width pixels wide.
func (s *svg) line(a, b point, stroke string, width float64, extra ...string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`, a.x, a.y, b.x, b.y, stroke, width, strings.Join(extra, ""))
}

// rect fills a rectangle w by h pixels from its top left corner p, with a
// title a reader sees on hovering it.
func (s *svg) rect(p point, w, h float64, fill, title string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`, p.x, p.y, max(w, 0), h, fill, html.EscapeString(title))
}

func (s *svg) String() string { return s.b.String() + "</svg>" }

// logScale maps [lo, hi] to [x0, x1] logarithmically.
type logScale struct{ lo, hi, x0, x1 float64 }

// at is where v is on the scale, v held within [lo, hi].
func (l logScale) at(v float64) float64 {
	v = min(max(v, l.lo), l.hi)
	return l.x0 + (math.Log10(v)-math.Log10(l.lo))/(math.Log10(l.hi)-math.Log10(l.lo))*(l.x1-l.x0)
}

// decades are the powers of ten from lo to hi.
func decades(lo, hi float64) []float64 {
	var out []float64
	for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi*1.0001; d *= 10 {
		if d >= lo*0.9999 {
			out = append(out, d)
		}
	}
	return out
}

// fmtMs writes a latency given in milliseconds in its unit: "2s",
// "10ms", "500µs".
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
func latencyChart(results []record.Result, standalone bool) string {
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
	s.text(point{labelW + 10, 16}, "start", "#222", "Latency, publish (intended time) to receipt, log scale", ` font-weight="600"`)
	for i, name := range pctNames {
		x := labelW + 10 + float64(i)*80
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="32" r="5" fill="%s"/>`, x+6, pctColors[i])
		s.text(point{x + 15, 36}, "start", "#333", name)
	}
	for _, d := range decades(lo, hi) {
		x := sc.at(d)
		s.line(point{x, top - 4}, point{x, h - 28}, "#dddddd", 1)
		s.text(point{x, h - 12}, "middle", "#555", fmtMs(d))
	}
	for i, r := range results {
		y := top + rowH*float64(i) + rowH/2
		s.text(point{labelW, y + 4}, "end", "#222", rowLabel(r, many))
		if r.Latency.Count == 0 {
			s.text(point{labelW + 14, y + 4}, "start", "#c00", "no data")
			continue
		}
		v := []float64{r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max}
		s.line(point{sc.at(v[0]), y}, point{sc.at(v[4]), y}, seriesColor(r.Target, r.Transport), 3)
		for j, x := range v {
			fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#fff"><title>%s %s %s: %.3f ms</title></circle>`,
				sc.at(x), y, pctColors[j], r.Target, r.Label(), pctNames[j], x)
		}
		s.text(point{sc.at(v[4]) + 8, y + 4}, "start", "#555", fmt.Sprintf("p99 %s", latencyCell(v[2])+" ms"), ` font-size="11"`)
	}
	return s.String()
}

// bytesChart draws the bytes of one message: payload, overhead down, bytes
// up.
func bytesChart(results []record.Result, standalone bool) string {
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
	s.text(point{labelW + 10, 16}, "start", "#222", "Bytes on the wire per delivered message (subscriber's socket)", ` font-weight="600"`)
	keys := []struct{ c, n string }{{"#bbbbbb", "payload"}, {"#e15759", "overhead down (headers, framing)"}, {"#f28e2b", "up (requests)"}}
	x := labelW + 10
	for _, k := range keys {
		s.rect(point{x, 26}, 12, 12, k.c, k.n)
		s.text(point{x + 17, 36}, "start", "#333", k.n)
		x += 17 + 7*float64(len(k.n)) + 16 // about 7 px a character at 12 px
	}
	scale := (w - labelW - 280) / maxB
	for i, r := range results {
		y := top + rowH*float64(i)
		s.text(point{labelW, y + rowH/2 + 4}, "end", "#222", rowLabel(r, many))
		x = labelW + 10
		pay := min(r.Wire.PayloadPerMsg, r.Wire.DownPerMsg)
		parts := []struct {
			v    float64
			c, n string
		}{{pay, "#bbbbbb", "payload"}, {r.Wire.DownPerMsg - pay, "#e15759", "overhead down"}, {r.Wire.UpPerMsg, "#f28e2b", "up"}}
		for _, p := range parts {
			s.rect(point{x, y + 4}, p.v*scale, rowH-8, p.c, fmt.Sprintf("%s: %.1f B", p.n, p.v))
			x += p.v * scale
		}
		s.text(point{x + 6, y + rowH/2 + 4}, "start", "#555", fmt.Sprintf("%.0f down + %.0f up, overhead %.1f B", r.Wire.DownPerMsg, r.Wire.UpPerMsg, r.Wire.OverheadPerMsg), ` font-size="11"`)
	}
	return s.String()
}

// requestsChart draws HTTP requests per delivered message.
func requestsChart(results []record.Result) string {
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
	s.text(point{labelW + 10, 16}, "start", "#222", "HTTP requests per delivered message (streams: 0 after the handshake)", ` font-weight="600"`)
	scale := (w - labelW - 120) / maxR
	for i, r := range results {
		y := top + rowH*float64(i)
		s.text(point{labelW, y + rowH/2 + 4}, "end", "#222", rowLabel(r, many))
		s.rect(point{labelW + 10, y + 4}, r.Wire.RequestsPerMsg*scale, rowH-8, seriesColor(r.Target, r.Transport), fmt.Sprintf("%.3f", r.Wire.RequestsPerMsg))
		s.text(point{labelW + 16 + r.Wire.RequestsPerMsg*scale, y + rowH/2 + 4}, "start", "#555", fmt.Sprintf("%.3f", r.Wire.RequestsPerMsg), ` font-size="11"`)
	}
	return s.String()
}

// scalingChart draws p99 latency against subscribers, one line per target,
// transport, rate and payload that was measured at two or more counts.
func scalingChart(results []record.Result, standalone bool) string {
	series := scalingSeriesOf(results)
	xs, ys, ok := scalingAxes(series)
	if !ok {
		return ""
	}
	w, h := 900.0, 420.0
	left, right, top, bottom := 70.0, 250.0, 30.0, 50.0
	xs.x0, xs.x1, ys.x0, ys.x1 = left, w-right, h-bottom, top
	s := newSVG(int(w), int(h), standalone)
	s.text(point{left, 18}, "start", "#222", "p99 latency against subscribers (log-log)", ` font-weight="600"`)
	for _, d := range decades(xs.lo, xs.hi) {
		s.line(point{xs.at(d), top}, point{xs.at(d), h - bottom}, "#e5e5e5", 1)
		s.text(point{xs.at(d), h - bottom + 16}, "middle", "#555", fmt.Sprintf("%g", d))
	}
	s.text(point{(left + w - right) / 2, h - 12}, "middle", "#333", "subscribers per transport")
	for _, d := range decades(ys.lo, ys.hi) {
		s.line(point{left, ys.at(d)}, point{w - right, ys.at(d)}, "#e5e5e5", 1)
		s.text(point{left - 6, ys.at(d) + 4}, "end", "#555", fmtMs(d))
	}
	for i, sr := range series {
		s.scalingLine(sr, xs, ys, point{w - right, top + 10 + float64(i)*18})
	}
	return s.String()
}

// scalingSeries is the rows of one target, transport, rate and payload,
// by their number of subscribers.
type scalingSeries struct {
	target, transport string
	rate              float64
	payload           string // as -payload names it: a size, or a kind
	rows              []record.Result
}

// scalingSeriesOf are the series of the results with two rows or more, in
// the order they first appear.
func scalingSeriesOf(results []record.Result) []*scalingSeries {
	var all, out []*scalingSeries
	for _, r := range results {
		i := slices.IndexFunc(all, func(s *scalingSeries) bool {
			return s.target == r.Target && s.transport == r.Label() && s.rate == r.Rate && s.payload == payloadText(r)
		})
		if i < 0 {
			all = append(all, &scalingSeries{target: r.Target, transport: r.Label(), rate: r.Rate, payload: payloadText(r)})
			i = len(all) - 1
		}
		all[i].rows = append(all[i].rows, r)
	}
	for _, s := range all {
		if len(s.rows) >= 2 {
			sort.Slice(s.rows, func(i, j int) bool { return s.rows[i].Subs < s.rows[j].Subs })
			out = append(out, s)
		}
	}
	return out
}

// scalingAxes are the subscribers' and the p99's ranges, in whole
// decades; not ok when there is nothing to draw.
func scalingAxes(series []*scalingSeries) (subs, p99 logScale, ok bool) {
	loS, hiS, loL, hiL := math.Inf(1), 0.0, math.Inf(1), 0.0
	for _, s := range series {
		for _, r := range s.rows {
			loS, hiS = min(loS, float64(r.Subs)), max(hiS, float64(r.Subs))
			if r.Latency.Count > 0 {
				loL, hiL = min(loL, r.Latency.P99), max(hiL, r.Latency.P99)
			}
		}
	}
	if len(series) == 0 || hiL == 0 {
		return subs, p99, false
	}
	subs = logScale{lo: math.Pow(10, math.Floor(math.Log10(loS))), hi: math.Pow(10, math.Ceil(math.Log10(hiS)))}
	p99 = logScale{lo: math.Pow(10, math.Floor(math.Log10(max(loL, 0.001)))), hi: math.Pow(10, math.Ceil(math.Log10(hiL)))}
	return subs, p99, true
}

// scalingLine draws one series as a line with a dot per row (dashed for
// Nchan), and its legend at legend.
func (s *svg) scalingLine(sr *scalingSeries, xs, ys logScale, legend point) {
	c := seriesColor(sr.target, sr.rows[0].Transport)
	var pts []string
	for _, r := range sr.rows {
		if r.Latency.Count > 0 {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.at(float64(r.Subs)), ys.at(r.Latency.P99)))
		}
	}
	dash := ""
	if sr.target == "nchan" {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"%s/>`, strings.Join(pts, " "), c, dash)
	for _, p := range pts {
		xy := strings.Split(p, ",")
		fmt.Fprintf(&s.b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`, xy[0], xy[1], c)
	}
	s.line(point{legend.x + 15, legend.y}, point{legend.x + 40, legend.y}, c, 2.5, dash)
	s.text(point{legend.x + 46, legend.y + 4}, "start", "#333", fmt.Sprintf("%s %s · %g/s · %s", sr.target, sr.transport, sr.rate, sr.payload), ` font-size="11"`)
}

// classicChart draws the throughput of 100,000 clients on a log axis: the
// 2010 article's two figures and each measured transport.
func classicChart(results []record.Result) string {
	type bar struct {
		name, color string
		v           float64
	}
	bars := []bar{{"2010 polling (871 B)", "#999999", mbps(100000, 871)}, {"2010 WebSocket (2 B)", "#999999", mbps(100000, 2)}}
	for _, r := range classicRows(results) {
		bars = append(bars, bar{r.Target + " " + r.Label(), seriesColor(r.Target, r.Transport), mbps(100000, classicOverhead(r))})
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
	s.text(point{labelW + 10, 16}, "start", "#222", "Overhead traffic of 100,000 clients at one message per second, Mbps (2^20 bit/s), log scale", ` font-weight="600"`)
	sc := logScale{lo, hi, labelW + 10, w - 110}
	for _, d := range decades(lo, hi) {
		s.line(point{sc.at(d), top - 4}, point{sc.at(d), h - 24}, "#e5e5e5", 1)
		s.text(point{sc.at(d), h - 8}, "middle", "#555", fmt.Sprintf("%g", d))
	}
	for i, b := range bars {
		y := top + rowH*float64(i)
		s.text(point{labelW, y + rowH/2 + 4}, "end", "#222", b.name)
		x := sc.at(b.v)
		s.rect(point{labelW + 10, y + 3}, x-labelW-10, rowH-6, b.color, fmt.Sprintf("%.3f Mbps", b.v))
		s.text(point{x + 6, y + rowH/2 + 4}, "start", "#555", fmt.Sprintf("%.3f", b.v), ` font-size="11"`)
	}
	return s.String()
}
