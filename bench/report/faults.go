package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"fourway/bench/record"
)

// outageTable is what each row's subscribers met of an -outage: how many
// noticed the silence before the link returned, and when; and how long
// after the return every one had every message meant for before it. nil
// when no row had an outage.
func outageTable(results []record.Result) *textTable {
	t := textTable{
		head: []string{"row", "noticed", "by", "after, ms", "caught up", "after return, ms", "lost"},
	}
	var silent []string
	for _, r := range results {
		for k, o := range silences(r) {
			if s := fmt.Sprintf("%.0f ms", o.SilentMS); !slices.Contains(silent, s) {
				silent = append(silent, s)
			}
			how := o.How
			if o.Noticed == 0 {
				how = "not until the return"
			}
			name := r.Target + " " + r.Label()
			if len(r.SilentLinks) > 0 {
				name += fmt.Sprintf(" #%d at %.0f s", k+1, o.AtMS/1000)
			}
			t.rows = append(t.rows, []string{
				name,
				fmt.Sprintf("%d/%d", o.Noticed, o.Subscribers), how, spreadCell(o.NoticeMS),
				fmt.Sprintf("%d/%d", o.CaughtUp, o.Subscribers), spreadCell(o.CaughtUpMS),
				fmt.Sprint(r.Lost),
			})
		}
	}
	fault := "-outage"
	if slices.ContainsFunc(results, func(r record.Result) bool { return len(r.SilentLinks) > 0 }) {
		fault = "a link silent by itself"
	}
	t.title = "silent link (" + fault + ", " + strings.Join(silent, ", ") + "): from the silence to noticing it, from the return to every message (least/median/most)"
	if len(t.rows) == 0 {
		return nil
	}
	return &t
}

// silences are the silences a row's link met: every one of a link
// silent by itself (train), else -outage's one, or none.
func silences(r record.Result) []record.Outage {
	switch {
	case len(r.SilentLinks) > 0:
		return r.SilentLinks
	case r.SilentLink != nil:
		return []record.Outage{*r.SilentLink}
	}
	return nil
}

// spreadCell is "least / median / most", or a dash for none.
func spreadCell(s record.Spread) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", s.Min, s.Median, s.Max)
}

// outageRules are the rules the rows' clients notice a dead connection
// by, one line per transport, or per server and transport where the
// servers' clients differ (Nchan's WebSocket pings with "ping"); then
// the rows whose subscribers gave a connection up only after the return.
func outageRules(results []record.Result) []string {
	var rules, after []string
	said := map[string]string{} // transport: the first rule said of it
	for _, r := range results {
		if r.SilentLink == nil {
			continue
		}
		switch rule, ok := said[r.Transport]; {
		case !ok:
			said[r.Transport] = r.SilentLink.Rule
			rules = append(rules, fmt.Sprintf("%s: %s.", r.Transport, r.SilentLink.Rule))
		case rule != r.SilentLink.Rule && !slices.Contains(rules, fmt.Sprintf("%s %s: %s.", r.Target, r.Transport, r.SilentLink.Rule)):
			rules = append(rules, fmt.Sprintf("%s %s: %s.", r.Target, r.Transport, r.SilentLink.Rule))
		}
		for k, o := range silences(r) {
			if o.NoticedAfter > 0 {
				name := r.Target + " " + r.Label()
				if len(r.SilentLinks) > 0 {
					name += fmt.Sprintf(" #%d", k+1)
				}
				after = append(after, fmt.Sprintf("%s: %d subscribers gave a connection up only after the link had returned.", name, o.NoticedAfter))
			}
		}
	}
	return append(rules, after...)
}

// stormTable is how soon each row's subscribers were served again after
// a -storm cut them all, and the server's busiest moment meanwhile; nil
// when no row had a storm.
func stormTable(results []record.Result) *textTable {
	t := textTable{
		title: "reconnect storm (-storm): from the cut until 50, 99 and 100 % of the subscribers were served again (a hello, an answer)",
		head:  []string{"row", "storm", "retries", "served", "50 %", "99 %", "100 %", "lost", "in the kill", "server peak CPU"},
	}
	for _, r := range results {
		st := r.ReconnectStorm
		if st == nil {
			continue
		}
		retries := "full jitter"
		if st.Herd {
			retries = "herd"
		}
		cells := []string{r.Target + " " + r.Label(), st.Kind, retries, fmt.Sprintf("%d of %d", st.Served, st.Subscribers)}
		for _, v := range st.ServedMS {
			cells = append(cells, servedCell(v))
		}
		peak := "–"
		if st.PeakCPU > 0 {
			peak = fmt.Sprintf("%.2f cores", st.PeakCPU)
		}
		inKill := "–"
		if st.Kind == "restart" {
			inKill = fmt.Sprint(r.LostWithServer)
		}
		cells = append(cells, fmt.Sprint(r.Lost), inKill, peak)
		if st.Error != "" {
			cells[1] += " (failed)"
		}
		t.rows = append(t.rows, cells)
	}
	if len(t.rows) == 0 {
		return nil
	}
	return &t
}

// servedCell is a time to be served again, or "never" (-1).
func servedCell(v float64) string {
	if v < 0 {
		return "never"
	}
	return fmt.Sprintf("%.0f ms", v)
}

// stormNotes say how the storm's figures were taken, and its errors.
func stormNotes(results []record.Result) []string {
	var out []string
	for _, r := range results {
		if st := r.ReconnectStorm; st != nil && st.Error != "" {
			out = append(out, fmt.Sprintf("%s: the %s failed: %s.", r.Label(), st.Kind, st.Error))
		}
	}
	for _, r := range results {
		if st := r.ReconnectStorm; st != nil {
			out = append(out, fmt.Sprintf("The clients retry as the page's: the n-th retry in a row after a random wait below min(20 s, 500 ms · 2ⁿ) (full jitter), or exactly that under -herd. The server's peak CPU is its busiest interval of %.0f ms after the cut (restart: after the new process serves), in CPU seconds per second. Lost is what every row counts: the acknowledged messages a subscriber never received, 0 when the contract holds; in the kill, those a killed server acknowledged but had not yet sent to the subscriber, gone with its in-memory feed.", st.CPUIntervalMS))
			break
		}
	}
	return out
}

// faultTables are the faults' tables, each with its notes.
func faultTables(results []record.Result) (tables []*textTable, notes [][]string) {
	if t := outageTable(results); t != nil {
		tables = append(tables, t)
		notes = append(notes, append([]string{"The clients notice as the page's do:"}, outageRules(results)...))
	}
	if t := stormTable(results); t != nil {
		tables = append(tables, t)
		notes = append(notes, stormNotes(results))
	}
	return tables, notes
}

// writeFaults prints the faults' tables, if any row met one.
func writeFaults(out io.Writer, results []record.Result) {
	tables, notes := faultTables(results)
	for i, t := range tables {
		fmt.Fprintln(out)
		for _, l := range t.lines() {
			fmt.Fprintln(out, l)
		}
		writeProse(out, notes[i])
	}
}

// writeFaultsMarkdown writes the faults' tables into report.md.
func writeFaultsMarkdown(out io.Writer, results []record.Result) {
	tables, notes := faultTables(results)
	for i, t := range tables {
		fmt.Fprintf(out, "\n%s:\n\n| %s |\n|%s\n", strings.ToUpper(t.title[:1])+t.title[1:], strings.Join(t.head, " | "), strings.Repeat("---|", len(t.head)))
		for _, r := range t.rows {
			fmt.Fprintf(out, "| %s |\n", strings.Join(r, " | "))
		}
		fmt.Fprintln(out)
		for _, n := range notes[i] {
			fmt.Fprintln(out, "- "+n)
		}
	}
}
