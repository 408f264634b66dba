package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"fourway/bench/record"
)

// rowNames are the columns that name a row in the text tables: its
// server and transport (with its protocol, mix and setup), and its
// subscribers, rate, payload and link where the rows differ in them; what
// is the same on every row is said once, in common.
func rowNames(results []record.Result) (head []string, cells func(r record.Result) []string, common string) {
	varies := func(f func(r record.Result) string) bool {
		for _, r := range results {
			if f(r) != f(results[0]) {
				return true
			}
		}
		return false
	}
	cols := []struct {
		head string
		cell func(r record.Result) string
		once string
	}{
		{"subs", func(r record.Result) string { return fmt.Sprint(r.Subs) }, "%s subscribers"},
		{"msg/s", func(r record.Result) string { return fmt.Sprintf("%g", r.Rate) }, "%s msg/s"},
		{"payload", func(r record.Result) string { return r.PayloadName() }, "payload %s"},
		{"link", func(r record.Result) string { return r.Link }, "via the %s link"},
	}
	head = []string{"server", "transport"}
	var shown []func(r record.Result) string
	var same []string
	for _, c := range cols {
		if len(results) > 0 && !varies(c.cell) {
			if v := c.cell(results[0]); v != "" { // no link: nothing to say
				same = append(same, fmt.Sprintf(c.once, v))
			}
			continue
		}
		head = append(head, c.head)
		shown = append(shown, c.cell)
	}
	cells = func(r record.Result) []string {
		out := []string{r.Target, r.LabelBesideLink()}
		for _, f := range shown {
			out = append(out, f(r))
		}
		return out
	}
	if len(same) > 0 {
		common = "every row: " + strings.Join(same, ", ")
	}
	return head, cells, common
}

// resultTables are the results as three tables, each of a few columns:
// latency, the wire, and the server's CPU and memory.
func resultTables(results []record.Result) []textTable {
	lat := textTable{title: "latency from publish to receipt, and delivery:",
		head: []string{"samples", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "delivered", "lost", "dup"}}
	wire := textTable{title: "bytes and requests on a subscriber's socket, per message delivered (handshake: per subscriber):",
		head: []string{"down B", "up B", "payload B", "overhead B/delivery", "req/delivery", "handshake B"}}
	srv := textTable{title: "CPU and memory: the server's, per delivery and per connection, and the machine's:",
		head: []string{"server CPU s", "µs/delivery", "RSS MiB", "KiB/conn", "bench CPU s", "other CPU s"}}
	compressed := anyCompressed(results)
	if compressed {
		wire.head = append(wire.head, "compression", "decoded B")
	}
	for _, r := range results {
		flag := ""
		if !r.DeliveryOK() {
			flag = " !!"
		}
		l := r.Latency
		lat.rows = append(lat.rows, []string{fmt.Sprint(l.Count), percentile(l, "p50"), percentile(l, "p90"), percentile(l, "p99"), percentile(l, "p99.9"),
			latencyCell(l.Max), fmt.Sprintf("%d%s", r.Delivered, flag), fmt.Sprint(r.Lost), fmt.Sprint(r.Duplicated)})
		w := r.Wire
		wire.rows = append(wire.rows, []string{f1(w.DownPerMsg), f1(w.UpPerMsg), f1(w.PayloadPerMsg), f1(w.OverheadPerMsg), f3(w.RequestsPerMsg), f1(w.HandshakeDown + w.HandshakeUp)})
		if compressed {
			cells := []string{"–", "–"}
			if r.Compress {
				cells = []string{compressionCell(r.Compression), f1(w.DecodedPerMsg)}
			}
			wire.rows[len(wire.rows)-1] = append(wire.rows[len(wire.rows)-1], cells...)
		}
		cells := []string{"–", "–", "–", "–"}
		if r.ServerNote != "" {
			cells = []string{"–", r.ServerNote, "–", "–"}
		}
		if s := r.Server; s != nil {
			cells = []string{f2(s.CPUSeconds), cpuPerDelivery(r), f1(s.RSSIdleMiB), f1(s.MemPerConnKiB)}
		}
		srv.rows = append(srv.rows, append(cells, f2(r.BenchCPUSeconds), f2(r.OtherCPUSeconds)))
	}
	return []textTable{lat, wire, srv}
}

// resultLines are the results' tables as text (fitted), and whether
// their rows are numbered.
func resultLines(results []record.Result) ([]string, bool) {
	head, cells, common := rowNames(results)
	return fitted(resultTables(results), head, func(i int) []string { return cells(results[i]) }, common)
}

// writeTable prints the results as aligned text, their legend, the rules
// the figures are written by, and the rows' notes.
func writeTable(out io.Writer, results []record.Result) (numbered bool) {
	lines, numbered := resultLines(results)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	writeProse(out, resultProse(results))
	return numbered
}

// overheadLegend says what the results' overhead per delivery counts.
const overheadLegend = "overhead B/delivery: bytes down + bytes up − payload on the subscribers' sockets after the handshake, over every message delivered in the run: " +
	"a poll answer that carries several messages shares its request and headers among them (the 2010 table's overhead B/exchange is one message alone)"

// resultProse is what the results tables need said beside them: the
// legend, the rules their figures are written by, the rows' notes, and
// the spread between runs.
func resultProse(results []record.Result) []string {
	prose := legend(results)
	prose = append(prose, overheadLegend)
	prose = append(prose, compressionLegend(results)...)
	prose = append(prose, percentileLegend(results)...)
	prose = append(prose, cpuNotes(results)...)
	for _, r := range results {
		for _, n := range r.Notes {
			mark := "note"
			if strings.HasPrefix(n, "DELIVERY") {
				mark = "!! FAILED"
			}
			prose = append(prose, fmt.Sprintf("%s: %s %s subs=%d rate=%g: %s", mark, r.Target, r.Label(), r.Subs, r.Rate, n))
		}
	}
	return append(prose, spreadLines(results)...)
}

// writeClusterTables prints, after the main table, the per-process table
// and the publish-to-ack latency, when the run has them.
func writeClusterTables(out io.Writer, rep record.Report) {
	if len(newProcTable(rep.Results).rows) > 0 {
		fmt.Fprintln(out)
		writeProcTable(out, rep.Results)
	}
	if len(rep.Acks) > 0 {
		fmt.Fprintln(out)
		writeAcks(out, rep.Acks)
	}
}

// PrintHeading prints what a run measured on and with, before its tables.
func PrintHeading(out io.Writer, rep record.Report) {
	m, c := rep.Machine, rep.Config
	writeProse(out, []string{
		fmt.Sprintf("fourway bench: %s, %d cores, %d MiB, %s, %s", m.CPU, m.Cores, m.MemoryMiB, m.GoVersion, m.OS),
	})
	for _, l := range shellLines("command: ", rep.Command) {
		fmt.Fprintln(out, l)
	}
	writeProse(out, []string{
		fmt.Sprintf("poll interval %s, warm-up %s, window %s, stagger %s, client headers %s, fourway GOMAXPROCS %s, nginx 1 worker",
			c.PollInterval, c.Warmup, c.Duration, c.Stagger, c.ClientHeaders, procsText(c.ServerProcs)),
	})
	fmt.Fprintln(out)
}

// shellLines writes a command line after prefix in lines no wider than
// consoleWidth where its words allow, each line but the last ending in
// " \\", so that it can be copied to a shell as it is. Words are
// separated by spaces outside single quotes, as Command writes them.
func shellLines(prefix, cmd string) []string {
	var words []string
	word, quoted := "", false
	for _, c := range cmd {
		switch {
		case c == '\'':
			quoted = !quoted
		case c == ' ' && !quoted:
			words, word = append(words, word), ""
			continue
		}
		word += string(c)
	}
	words = append(words, word)
	var out []string
	line := prefix + words[0]
	for _, w := range words[1:] {
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w)+2 > consoleWidth {
			out = append(out, line+" \\")
			line = "    " + w
			continue
		}
		line += " " + w
	}
	return append(out, line)
}

// Print prints the report's tables: the results, the processes and
// JetStream's acks of a -cluster, the 2010 table and the speed targets.
func Print(out io.Writer, rep record.Report) {
	numbered := writeTable(out, rep.Results)
	writeFaults(out, rep.Results)
	writeClusterTables(out, rep)
	fmt.Fprintln(out)
	writeClassic(out, rep.Results, numbered)
	fmt.Fprintln(out)
	writeTargets(out, rep.Targets)
}

// anyCompressed reports whether a row's subscribers offered compression.
func anyCompressed(results []record.Result) bool {
	for _, r := range results {
		if r.Compress {
			return true
		}
	}
	return false
}

// compressionCell is a row's compression as its column writes it:
// "deflate" for permessage-deflate, whatever its parameters (the legend
// gives them), else as recorded: "gzip", "none".
func compressionCell(c string) string {
	if strings.HasPrefix(c, "permessage-deflate") {
		return "deflate"
	}
	return c
}

// compressionLegend says, when rows offered compression, what the
// columns mean, and what each deflate row negotiated.
func compressionLegend(results []record.Result) []string {
	if !anyCompressed(results) {
		return nil
	}
	out := []string{"compressed: the subscribers offered compression as a browser does (WebSocket permessage-deflate, HTTP Accept-Encoding: gzip); " +
		"compression: what the answers that carried messages came in; down B is what travelled, compressed; " +
		"decoded B: what the bodies (SSE's event lines, a poll's page) and WebSocket messages decode to, per message, headers and frame headers not counted; " +
		"payload B is the message decoded, so a compressed row's overhead is negative where compression saved more than its headers and framing cost"}
	seen := map[string]bool{}
	for _, r := range results {
		line := fmt.Sprintf("%s %s negotiated %s", r.Target, r.Label(), r.Compression)
		if r.Compress && r.Compression != compressionCell(r.Compression) && !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	return out
}
