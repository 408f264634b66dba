package report

import (
	"fmt"
	"io"
	"slices"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// classicOverhead is the overhead bytes of one message in the 2010
// article's setting: every client receives one message per second, and a
// poller polls once per second (so each poll carries one message). Polls:
// the measured overhead of an exchange that carried a message, plus, on
// Nchan's interval poll, the 304 that ends each tick (one message per
// answer, so a poller must ask once more to learn it is caught up).
// Streams: the measured overhead per message.
func classicOverhead(r record.Result) float64 {
	switch plan.BaseTransport(r.Transport) {
	case "poll":
		o := r.Wire.ExchangeOverhead
		if r.Target == "nchan" {
			o += r.Wire.EmptyExchange
		}
		return o
	case "longpoll":
		return r.Wire.ExchangeOverhead
	}
	return r.Wire.OverheadPerMsg
}

// mbps is the article's unit: bits per second divided by 2^20.
func mbps(clients, bytesPerMsg float64) float64 { return clients * bytesPerMsg * 8 / (1 << 20) }

// classicClients are the article's numbers of clients.
var classicClients = []float64{1000, 10000, 100000}

// classic2010 is the article's own table.
var classic2010 = []struct {
	name  string
	bytes float64
	mbps  []float64
}{
	{"polling (2010, 871 B of headers)", 871, []float64{6.6, 66, 665}},
	{"WebSocket (2010, 2 B of framing)", 2, []float64{0.015, 0.153, 1.526}},
}

// classicRows picks one result per target and transport: the one with the
// fewest subscribers (bytes per message do not depend on the count; the
// smallest run is the least disturbed).
func classicRows(results []record.Result) []record.Result {
	var out []record.Result
	idx := map[string]int{}
	for _, r := range results {
		k := r.Target + "/" + r.Label()
		if i, ok := idx[k]; ok {
			if r.Subs < out[i].Subs {
				out[i] = r
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}

// classicTitle says what the 2010 table's overhead counts, apart from the
// results' overhead per delivery.
const classicTitle = "The 2010 table (\"HTML5 Web Sockets: A Quantum Leap in Scalability for the Web\"), then the same computation from the bytes measured here, " +
	"every client receiving one message per second; Mbps = clients × overhead bytes × 8 / 2^20. Its overhead B/exchange is what one message costs alone: " +
	"for polls, one request and its answer carrying one message (Nchan's interval poll adds the 304 that ends each tick), as a client polling once a second gets; " +
	"for streams, one message's framing. The results' overhead B/delivery is over every message delivered in the run, where one poll answer may carry several"

// writeClassic prints the 2010 table next to the one from measured bytes:
// each measured row by its name, or, where the results' rows are
// numbered and a name would make the table too wide, by its number.
func writeClassic(out io.Writer, results []record.Result, numbered bool) {
	writeProse(out, []string{classicTitle + ":"})
	head := []string{"one message per second per client", "overhead B/exchange", "1,000 clients Mbps", "10,000", "100,000"}
	table := func(name func(i int, r record.Result) string) textTable {
		t := textTable{head: head, left: 1}
		for _, c := range classic2010 {
			t.rows = append(t.rows, []string{c.name, fmt.Sprintf("%g", c.bytes), fmt.Sprintf("%g", c.mbps[0]), fmt.Sprintf("%g", c.mbps[1]), fmt.Sprintf("%g", c.mbps[2])})
		}
		for _, r := range classicRows(results) {
			i := slices.IndexFunc(results, func(c record.Result) bool { return c.Scenario == r.Scenario })
			o := classicOverhead(r)
			t.rows = append(t.rows, []string{name(i, r), f1(o), f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o))})
		}
		return t
	}
	lines := table(func(_ int, r record.Result) string { return r.Target + " " + r.Label() + " (measured)" }).lines()
	if numbered && widest(lines) > consoleWidth {
		lines = table(func(i int, _ record.Result) string { return fmt.Sprintf("row %d (measured)", i+1) }).lines()
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}
