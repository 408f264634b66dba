package report

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"fourway/bench/record"
)

// f1, f2 and f3 write v with one, two and three decimals.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// latencyCell writes a latency in milliseconds with three significant
// digits, at most two decimals.
func latencyCell(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return f1(v)
	}
	return f2(v)
}

// procsText is the server's GOMAXPROCS, n or Go's default.
func procsText(n int) string {
	if n > 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("default (%d)", runtime.NumCPU())
}

// dash is s, or a dash for nothing.
func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// pct is how much a is above b, in percent.
func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return (a/b - 1) * 100
}

// consoleWidth is the widest line the text report prints: the tables, and
// the prose beside them wrapped to it.
const consoleWidth = 120

// wrap breaks a line of prose into lines no wider than consoleWidth, at
// spaces, the lines after the first indented by two.
func wrap(s string) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
			if len(out) > 0 {
				line = "  " + w
			}
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > consoleWidth:
			out = append(out, line)
			line = "  " + w
		default:
			line += " " + w
		}
	}
	return append(out, line)
}

// writeProse prints each paragraph, wrapped.
func writeProse(out io.Writer, paragraphs []string) {
	for _, p := range paragraphs {
		for _, l := range wrap(p) {
			fmt.Fprintln(out, l)
		}
	}
}

// textTable is one table of the text report: a title, a header and rows,
// its first left columns (the rows' names) aligned left, the others
// (figures) right.
type textTable struct {
	title string
	head  []string
	rows  [][]string
	left  int
}

// lines writes the table as aligned text, one string a line, each
// indented by two and its columns two apart.
func (t textTable) lines() []string {
	all := append([][]string{t.head}, t.rows...)
	var widths []int
	for _, r := range all {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var out []string
	if t.title != "" {
		out = append(out, t.title)
	}
	for _, r := range all {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i < t.left {
				b.WriteString("  " + c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// prefixed is t with columns put before its own, aligned left: head, and
// for row i the cells of row(i).
func (t textTable) prefixed(head []string, row func(i int) []string) textTable {
	p := textTable{title: t.title, head: append(slices.Clip(head), t.head...), left: len(head)}
	for i, r := range t.rows {
		p.rows = append(p.rows, append(slices.Clip(row(i)), r...))
	}
	return p
}

// widest is the width, in characters, of the widest line.
func widest(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, utf8.RuneCountInString(l))
	}
	return w
}

// fitted writes tables whose rows are the same rows, each named by the
// cells of name(i) under head, no wider than consoleWidth when it can:
// each row named in full in every table, or, when that is too wide (long
// transport names: a mix, a setup), numbered in a table of its own and by
// its number in the others. What is the same on every row, common, comes
// first.
func fitted(tables []textTable, head []string, name func(i int) []string, common string) (lines []string, numbered bool) {
	var out []string
	if common != "" {
		out = append(out, common)
	}
	named := out
	for _, t := range tables {
		named = append(named, t.prefixed(head, name).lines()...)
	}
	if widest(named) <= consoleWidth || len(tables) == 0 {
		return named, false
	}
	if tables[0].title != "" {
		out = append(out, tables[0].title)
		tables = append([]textTable{{head: tables[0].head, rows: tables[0].rows}}, tables[1:]...)
	}
	key := textTable{title: "rows:", head: append([]string{"#"}, head...), left: len(head) + 1}
	for i := range tables[0].rows {
		key.rows = append(key.rows, append([]string{fmt.Sprint(i + 1)}, name(i)...))
	}
	out = append(out, key.lines()...)
	for _, t := range tables {
		out = append(out, t.prefixed([]string{"#"}, func(i int) []string { return []string{fmt.Sprint(i + 1)} }).lines()...)
	}
	return out, true
}

// payloadText is a row's payload as the charts and the spread write it: "100 B" of
// padding, or its kind, "json4k".
func payloadText(r record.Result) string {
	if r.PayloadKind != "" {
		return r.PayloadKind
	}
	return fmt.Sprintf("%d B", r.Payload)
}
