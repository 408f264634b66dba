package report

import (
	"fmt"
	"html"
	"io"
	"slices"
	"sort"
	"strings"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// The server's CPU process by process: for -cluster every fourway node,
// NATS server and nginx of a setup, for -url -pids the processes named;
// one table, written as text, Markdown and HTML.

// procTable is the rows that have a per-process figure (or a setup), with
// one column per process name, in the order they first appear.
type procTable struct {
	cols []string
	rows []procRow
}

// procRow is one row of the process table.
type procRow struct {
	r     record.Result
	cells []string // CPU µs per delivery, by column; "–" where the row has no such process
	sum   string
	// Against the same scenario on one node in memory (-cluster): summed
	// CPU per delivery and p99, as ratios; empty when there is none.
	cpuVsMemory, p99VsMemory string
}

// newProcTable makes the process table of the results.
func newProcTable(results []record.Result) procTable {
	var t procTable
	idx := map[string]int{}
	for _, r := range results {
		if len(r.Procs) == 0 && r.Setup == "" {
			continue
		}
		for _, p := range r.Procs {
			if _, ok := idx[p.Name]; !ok {
				idx[p.Name] = len(t.cols)
				t.cols = append(t.cols, p.Name)
			}
		}
	}
	// fourway nodes first, then the NATS servers, then nginx, each in name order.
	rank := func(n string) string {
		for i, p := range []string{"fourway", "nats-server", "nginx"} {
			if strings.HasPrefix(n, p) {
				return fmt.Sprint(i) + n
			}
		}
		return "9" + n
	}
	sort.SliceStable(t.cols, func(i, j int) bool { return rank(t.cols[i]) < rank(t.cols[j]) })
	for i, c := range t.cols {
		idx[c] = i
	}
	for _, r := range results {
		if len(r.Procs) == 0 && r.Setup == "" {
			continue
		}
		row := procRow{r: r, cells: make([]string, len(t.cols)), sum: "–"}
		for i := range row.cells {
			row.cells[i] = "–"
		}
		for _, p := range r.Procs {
			row.cells[idx[p.Name]] = f2(p.CPUPerMsgMicros)
		}
		if r.Server != nil {
			row.sum = f2(r.Server.CPUPerMsgMicros)
		}
		if m, ok := memoryRow(results, r); ok && r.Setup != plan.SetupMemory {
			if r.Server != nil && m.Server != nil && m.Server.CPUPerMsgMicros > 0 {
				row.cpuVsMemory = fmt.Sprintf("×%.2f", r.Server.CPUPerMsgMicros/m.Server.CPUPerMsgMicros)
			}
			if m.Latency.P99 > 0 {
				row.p99VsMemory = fmt.Sprintf("×%.2f", r.Latency.P99/m.Latency.P99)
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// memoryRow is the -cluster row that r is compared with: the same
// scenario on one node in memory.
func memoryRow(results []record.Result, r record.Result) (record.Result, bool) {
	if r.Setup == "" {
		return record.Result{}, false
	}
	for _, m := range results {
		if m.Setup == plan.SetupMemory && m.Transport == r.Transport && m.Mixed == r.Mixed && m.Subs == r.Subs && m.Rate == r.Rate && m.Payload == r.Payload && m.PayloadKind == r.PayloadKind && m.Compress == r.Compress && m.Proto == r.Proto {
			return m, true
		}
	}
	return record.Result{}, false
}

// header is the table's header: the row, the latencies, a column per
// process, their sum and the ratios.
func (t procTable) header() []string {
	h := []string{"transport", "setup", "p50 ms", "p99 ms", "lost / dup", "POST p50 ms", "POST p99 ms"}
	for _, c := range t.cols {
		h = append(h, c+" µs")
	}
	h = append(h, "sum µs/delivery", "CPU × memory", "p99 × memory")
	return h
}

// cells are a row's cells, under header.
func (t procTable) cells(row procRow) []string {
	r := row.r
	setup := plan.SetupTitle(r.Setup)
	if r.Setup == "" {
		setup = "external (-pids)"
	}
	c := []string{r.Transport, setup, percentile(r.Latency, "p50"), percentile(r.Latency, "p99"), fmt.Sprintf("%d / %d", r.Lost, r.Duplicated),
		percentile(r.PublishRTT, "p50"), percentile(r.PublishRTT, "p99")}
	c = append(c, row.cells...)
	return append(c, row.sum, dash(row.cpuVsMemory), dash(row.p99VsMemory))
}

// procLegend says what the process table's figures are.
const procLegend = "Each process's CPU seconds (user + system, /proc) inside the window, divided by every delivery of the scenario, in µs; nginx is its master and worker. The sum is the server's CPU per delivery. POST: the round trip of each acknowledged publish (POST /api/messages to its 201), which on JetStream waits for the stream's ack. × memory: against the same transport on one node with the in-memory feed, in this run."

// writeProcTable prints the process table as text.
func writeProcTable(out io.Writer, results []record.Result) {
	t := newProcTable(results)
	if len(t.rows) == 0 {
		return
	}
	// As text, the table is two, the rows named in each or numbered
	// (fitted): the row's figures, then its processes'.
	h, n := t.header(), len(t.cols)
	figures := textTable{title: "server CPU per delivery, process by process:", head: append(slices.Clip(h[2:7]), h[7+n:]...)}
	procs := textTable{head: h[7 : 7+n]}
	for _, row := range t.rows {
		c := t.cells(row)
		figures.rows = append(figures.rows, append(slices.Clip(c[2:7]), c[7+n:]...))
		procs.rows = append(procs.rows, c[7:7+n])
	}
	lines, _ := fitted([]textTable{figures, procs}, h[:2], func(i int) []string { return t.cells(t.rows[i])[:2] }, "")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	writeProse(out, []string{procLegend})
}

// writeProcMarkdown writes it as a Markdown table.
func writeProcMarkdown(out io.Writer, results []record.Result) {
	t := newProcTable(results)
	if len(t.rows) == 0 {
		return
	}
	h := t.header()
	fmt.Fprintf(out, "\nServer CPU per delivery, process by process:\n\n| %s |\n|---|---|%s\n", strings.Join(h, " | "), strings.Repeat("--:|", len(h)-2))
	for _, row := range t.rows {
		fmt.Fprintf(out, "| %s |\n", strings.Join(t.cells(row), " | "))
	}
	fmt.Fprintf(out, "\n%s\n", procLegend)
}

// writeProcHTML writes it as an HTML table.
func writeProcHTML(b *strings.Builder, results []record.Result) {
	t := newProcTable(results)
	if len(t.rows) == 0 {
		return
	}
	b.WriteString(`<h2>Server CPU per delivery, process by process</h2><div class="wide"><table><tr>`)
	for i, h := range t.header() {
		cls := ""
		if i < 2 {
			cls = ` class="l"`
		}
		fmt.Fprintf(b, "<th%s>%s</th>", cls, html.EscapeString(h))
	}
	b.WriteString("</tr>")
	for _, row := range t.rows {
		b.WriteString("<tr>")
		for i, c := range t.cells(row) {
			cls := ""
			if i < 2 {
				cls = ` class="l"`
			}
			if i == 4 && !row.r.DeliveryOK() {
				cls = ` class="bad"`
			}
			fmt.Fprintf(b, "<td%s>%s</td>", cls, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	fmt.Fprintf(b, `</table></div><p class="muted">%s</p>`, html.EscapeString(procLegend))
}
