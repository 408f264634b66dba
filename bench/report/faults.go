package report

import (
	"fmt"
	"io"
	"strings"

	"fourway/bench/record"
)

// outageTable is what each row's subscribers met of an -outage: how many
// noticed the silence before the link returned, and when; and how long
// after the return every one had every message meant for before it. nil
// when no row had an outage.
func outageTable(results []record.Result) *textTable {
	t := textTable{
		title: "silent link (-outage): from the silence to the client noticing, and from the return to every message delivered, ms (least / median / most)",
		head:  []string{"row", "silent", "noticed", "how", "noticed after", "caught up", "after the return", "lost"},
	}
	for _, r := range results {
		o := r.Outage
		if o == nil {
			continue
		}
		how := o.How
		if o.Noticed == 0 {
			how = "not before the bytes came back"
		}
		t.rows = append(t.rows, []string{
			r.Target + " " + r.Label(), fmt.Sprintf("%.0f ms", o.SilentMS),
			fmt.Sprintf("%d of %d", o.Noticed, o.Subscribers), how, spreadCell(o.NoticeMS),
			fmt.Sprintf("%d of %d", o.CaughtUp, o.Subscribers), spreadCell(o.CaughtUpMS),
			fmt.Sprint(r.Lost),
		})
	}
	if len(t.rows) == 0 {
		return nil
	}
	return &t
}

// spreadCell is "least / median / most", or a dash for none.
func spreadCell(s record.Spread) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", s.Min, s.Median, s.Max)
}

// outageRules are the rules the rows' clients notice a dead connection
// by, one line per transport.
func outageRules(results []record.Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range results {
		if r.Outage == nil || seen[r.Transport] {
			continue
		}
		seen[r.Transport] = true
		out = append(out, fmt.Sprintf("%s: %s.", r.Transport, r.Outage.Rule))
		if r.Outage.NoticedAfter > 0 {
			out = append(out, fmt.Sprintf("%s: %d subscribers gave a connection up only after the link had returned.", r.Label(), r.Outage.NoticedAfter))
		}
	}
	return out
}

// writeFaults prints the faults' tables, if any row met one.
func writeFaults(out io.Writer, results []record.Result) {
	t := outageTable(results)
	if t == nil {
		return
	}
	fmt.Fprintln(out)
	for _, l := range t.lines() {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintln(out, "  the clients notice as the page's do:")
	for _, r := range outageRules(results) {
		for _, l := range wrap(r) {
			fmt.Fprintln(out, "  "+l)
		}
	}
}

// writeFaultsMarkdown writes the faults' tables into report.md.
func writeFaultsMarkdown(out io.Writer, results []record.Result) {
	t := outageTable(results)
	if t == nil {
		return
	}
	fmt.Fprintf(out, "\n%s:\n\n| %s |\n|%s\n", strings.ToUpper(t.title[:1])+t.title[1:], strings.Join(t.head, " | "), strings.Repeat("---|", len(t.head)))
	for _, r := range t.rows {
		fmt.Fprintf(out, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(out)
	for _, r := range outageRules(results) {
		fmt.Fprintln(out, "- "+r)
	}
}
