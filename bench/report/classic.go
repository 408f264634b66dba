package report

import (
	"fmt"
	"io"
	"text/tabwriter"

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

// writeClassic prints the 2010 table next to the one from measured bytes.
func writeClassic(out io.Writer, results []record.Result) {
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "one message per second per client\toverhead B/msg\t1,000 clients Mbps\t10,000\t100,000\t")
	for _, c := range classic2010 {
		fmt.Fprintf(tw, "%s\t%g\t%g\t%g\t%g\t\n", c.name, c.bytes, c.mbps[0], c.mbps[1], c.mbps[2])
	}
	for _, r := range classicRows(results) {
		o := classicOverhead(r)
		fmt.Fprintf(tw, "%s %s (measured)\t%s\t%s\t%s\t%s\t\n", r.Target, r.Label(), f1(o),
			f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o)))
	}
	tw.Flush()
}
