package report

import (
	"fmt"
	"html"
	"strings"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// The HTML report is one file: styles and charts (hand-written SVG) are
// inline, nothing is loaded from anywhere, so it opens offline and can be
// attached to an issue as it is.

// renderHTML is the report as one page: its heading, the results table
// and its legend, the processes and JetStream's acks of a -cluster, the
// speed targets, the charts, and the 2010 table.
func renderHTML(rep record.Report) string {
	var b strings.Builder
	writeHTMLHeading(&b, rep)
	rs := rep.Results
	if len(rs) == 0 {
		b.WriteString(`<p class="note">No result.</p></body></html>`)
		return b.String()
	}
	writeHTMLResults(&b, rs)
	writeServerSplitHTML(&b, rs)
	writeProcHTML(&b, rs)
	writeAcksHTML(&b, rep.Acks)
	writeTargetsHTML(&b, rep.Targets)
	writeChartsHTML(&b, rs)
	writeClassicHTML(&b, rs)
	b.WriteString(`</body></html>`)
	return b.String()
}

// writeHTMLHeading writes the page's head and styles, the command, the
// machine and the configuration.
func writeHTMLHeading(b *strings.Builder, rep record.Report) {
	e := html.EscapeString
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fourway bench</title><style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}.wide{overflow-x:auto}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.bad{background:#fdd;color:#b00;font-weight:700}.note{color:#b00}
code{background:#f4f4f4;padding:1px 4px}h2{margin-top:32px}svg{max-width:100%;height:auto;display:block;margin:8px 0}
.muted{color:#666;font-size:13px}</style></head><body>`)
	b.WriteString(`<h1>fourway bench</h1>`)
	fmt.Fprintf(b, `<p>Command: <code>%s</code><br>Started %s, ran %.0f s.</p>`, e(rep.Command), rep.Started.Format("2006-01-02 15:04:05 UTC"), rep.Seconds)
	m := rep.Machine
	fmt.Fprintf(b, `<p class="muted">Machine: %s, %d cores, %d MiB memory, %s, %s, kernel %s. %s</p>`, e(m.CPU), m.Cores, m.MemoryMiB, e(m.GoVersion), e(m.OS), e(m.Kernel), e(strings.Join(rep.Versions, "; ")))
	c := rep.Config
	fmt.Fprintf(b, `<p class="muted">Configuration: poll interval %s, warm-up %s, measured window %s, connects spread over %s, %d publishing connections, client headers %q, fourway --history %d, server GOMAXPROCS %s; nginx runs one worker process. Load generator and server on the same machine (loopback), the server a separate process started fresh for every row.</p>`,
		c.PollInterval, c.Warmup, c.Duration, c.Stagger, c.Publishers, c.ClientHeaders, c.History, procsText(c.ServerProcs))
}

// writeHTMLResults writes the results table, its legend, the rows'
// notes, and what each column means.
func writeHTMLResults(b *strings.Builder, rs []record.Result) {
	e := html.EscapeString
	b.WriteString(`<h2>Results</h2><div class="wide"><table><tr><th class="l">target</th><th class="l">transport</th><th>subs</th><th>rate/s</th><th>payload</th><th>samples</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>delivered</th><th>lost</th><th>dup</th><th>down B/delivery</th><th>up B/delivery</th><th>payload B/delivery</th><th>overhead B/delivery</th><th>req/delivery</th><th>handshake B</th><th>server CPU s</th><th>CPU µs/delivery</th><th>RSS idle MiB</th><th>KiB/conn</th><th>bench CPU s</th><th>other CPU s</th></tr>`)
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
			cls := ""
			if r.CPUTooShort() {
				cls = ` class="note" title="too few CPU seconds for the clock: see below"`
			}
			srv = fmt.Sprintf("<td>%s</td><td%s>%s</td><td>%s</td><td>%s</td>", f2(s.CPUSeconds), cls, cpuPerDelivery(r), f1(s.RSSIdleMiB), f1(s.MemPerConnKiB))
		}
		l := r.Latency
		fmt.Fprintf(b, `<tr><td class="l">%s</td><td class="l">%s</td><td>%d</td><td>%g</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d / %d</td><td%s>%d</td><td%s>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>%s<td>%s</td><td>%s</td></tr>`,
			r.Target, htmlTransport(r), r.Subs, r.Rate, e(r.PayloadName()), l.Count,
			percentile(l, "p50"), percentile(l, "p90"), percentile(l, "p99"), percentile(l, "p99.9"), latencyCell(l.Max),
			r.Delivered, r.Expected, bad(r.Lost), r.Lost, bad(r.Duplicated), r.Duplicated,
			f1(r.Wire.DownPerMsg), f1(r.Wire.UpPerMsg), f1(r.Wire.PayloadPerMsg), f1(r.Wire.OverheadPerMsg), f3(r.Wire.RequestsPerMsg),
			f1(r.Wire.HandshakeDown+r.Wire.HandshakeUp), srv, f2(r.BenchCPUSeconds), f2(r.OtherCPUSeconds))
	}
	b.WriteString(`</table></div>`)
	for _, l := range resultProse(rs) {
		cls := "muted"
		if strings.HasPrefix(l, "note:") || strings.HasPrefix(l, "!!") || strings.HasPrefix(l, "~") {
			cls = "note"
		}
		fmt.Fprintf(b, `<p class="%s">%s</p>`, cls, e(l))
	}
	b.WriteString(`<p class="muted">Latency: from the intended send time stamped by the open-loop publisher to receipt, messages intended inside the window. Payload: the message as the application receives it (fourway: the message JSON with its id and time; Nchan: the published body, its id travels in headers or id lines). Overhead B/delivery = bytes down + bytes up − payload, on the subscriber's socket (TCP payload), after the handshake, over every message delivered (a poll answer that carries several messages shares its headers among them); handshake = what connecting cost per subscriber (upgrade, stream headers, hello). Server CPU: user+system seconds of the server's processes inside the window, from /proc (10 ms ticks); per delivery: divided by the deliveries received inside the window, to the digits the ticks allow. KiB/conn: (RSS with every subscriber connected and idle − RSS before) / subscribers; below a few hundred subscribers it is mostly the heap's growth steps, not the connections. Bench CPU: the load generator's own CPU seconds in the window (publisher and every subscriber, one process): when server and bench together near the machine's cores, latency includes waiting for a core. Other CPU: what the rest of the machine (other processes, interrupts) used in the window, from /proc/stat.</p>`)
}

// writeServerSplitHTML writes what fourway counted of each row's overhead,
// as report.md's table does (serverSplitRows).
func writeServerSplitHTML(b *strings.Builder, rs []record.Result) {
	rows := serverSplitRows(rs)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, `<h2>The overhead, as the server counted it</h2><p class="muted">%s</p><div class="wide"><table><tr><th class="l">server</th><th class="l">transport</th>`, html.EscapeString(serverSplitLegend))
	for _, h := range serverSplitHead {
		fmt.Fprintf(b, `<th>%s</th>`, html.EscapeString(h))
	}
	b.WriteString(`</tr>`)
	for _, r := range rows {
		fmt.Fprintf(b, `<tr><td class="l">%s</td><td class="l">%s</td>`, html.EscapeString(r.Target), htmlTransport(r))
		for _, c := range serverSplitCells(r) {
			fmt.Fprintf(b, `<td>%s</td>`, c)
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table></div>`)
}

// writeTargetsHTML writes the speed targets, if any were checked.
func writeTargetsHTML(b *strings.Builder, targets []record.Target) {
	e := html.EscapeString
	if len(targets) == 0 {
		return
	}
	b.WriteString(`<h2>Speed targets</h2><table><tr><th class="l">what</th><th class="l">target</th><th class="l">measured</th><th class="l"></th></tr>`)
	for _, t := range targets {
		mark, cls := "met", ""
		if !t.Met {
			mark, cls = "missed", ` class="bad"`
		}
		fmt.Fprintf(b, `<tr><td class="l">%s</td><td class="l">%s</td><td class="l">%s</td><td class="l"%s>%s</td></tr>`, e(t.What), e(t.Want), e(t.Got), cls, mark)
	}
	b.WriteString(`</table><p class="muted">Checked in the bench's output, never as timed assertions in tests. Load generator and server share the machine's cores: read them with the bench CPU column and any CPU-bound note above.</p>`)
}

// writeChartsHTML writes the latency, scaling, bytes and requests charts.
func writeChartsHTML(b *strings.Builder, rs []record.Result) {
	b.WriteString(`<h2>Latency</h2>`)
	b.WriteString(latencyChart(rs, false))
	if sc := scalingChart(rs, false); sc != "" {
		b.WriteString(`<h2>Latency against subscribers</h2>` + sc)
	}
	b.WriteString(`<h2>Bytes and requests per message</h2>`)
	b.WriteString(bytesChart(rs, false))
	b.WriteString(requestsChart(rs))
}

// writeClassicHTML writes the 2010 table from the bytes measured here,
// beside the article's own, and its chart.
func writeClassicHTML(b *strings.Builder, rs []record.Result) {
	e := html.EscapeString
	b.WriteString(`<h2>The 2010 table, then and now</h2><p>"HTML5 Web Sockets: A Quantum Leap in Scalability for the Web" (2010) counted 871 bytes of HTTP headers per poll against 2 bytes of WebSocket framing, for clients that each receive one message per second. Below, the same computation from the bytes measured here: Mbps = clients × overhead bytes × 8 / 2<sup>20</sup>. Overhead B/exchange is what one message costs alone: for polls, one request and its answer carrying one message (Nchan's interval poll adds the 304 that ends every tick), as a client polling once a second gets; for streams, one message's framing. The results' overhead B/delivery is over every message delivered in the run, where one poll answer may carry several.</p>`)
	b.WriteString(`<table><tr><th class="l">one message per second per client</th><th>overhead B/exchange</th><th>1,000 clients Mbps</th><th>10,000</th><th>100,000</th></tr>`)
	for _, c := range classic2010 {
		fmt.Fprintf(b, `<tr><td class="l">%s</td><td>%g</td><td>%g</td><td>%g</td><td>%g</td></tr>`, e(c.name), c.bytes, c.mbps[0], c.mbps[1], c.mbps[2])
	}
	for _, r := range classicRows(rs) {
		o := classicOverhead(r)
		fmt.Fprintf(b, `<tr><td class="l">%s %s (measured)</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`, r.Target, e(r.Label()), f1(o),
			f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o)))
	}
	b.WriteString(`</table>`)
	b.WriteString(classicChart(rs))
}

// htmlTransport is a row's transport cell: the name, what an SSE row
// measures, the mixed scenario it is part of, and its protocol.
func htmlTransport(r record.Result) string {
	s := r.Transport
	if r.Proto != "" {
		s += " [" + r.Proto + "]"
		if r.Negotiated != "" {
			s += `<br><span class="muted">` + html.EscapeString(r.Negotiated) + `</span>`
		}
	}
	if t := plan.TransportTitle(r.Transport); t != "" && r.Target == "fourway" {
		s += `<br><span class="muted">` + html.EscapeString(t) + `</span>`
	}
	if r.Mixed != "" {
		s += `<br><span class="muted">in mixed ` + html.EscapeString(r.Mixed) + `: one server, CPU and memory shared</span>`
	}
	if r.Setup != "" {
		s += `<br><span class="muted">on ` + html.EscapeString(plan.SetupTitle(r.Setup)) + `</span>`
	}
	if r.Link != "" {
		s += `<br><span class="muted">via the ` + html.EscapeString(r.Link) + ` link</span>`
	}
	if r.Compress {
		s += `<br><span class="muted">compressed: ` + html.EscapeString(r.Compression) + `</span>`
	}
	return s
}
