package main

// Writer rows: rows that measure one of fourway's own writers beside the
// writer it ships with. sse-direct is SSE with --sse-writer direct,
// longpoll-direct the long poll with --longpoll-writer direct. Each uses
// its base transport's client (the wire is the same; only the server's
// writer differs), is measured against a server started with the flag,
// checked in GET /api/config, and is Nchan's base row for -target nchan.
// Everything that treats a writer row differently from its base reads
// writerRows.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"fourway/transports/wire"
)

// writerRow is one row measuring a writer of fourway's own.
type writerRow struct {
	name      string // the row: "sse-direct"
	base      string // the transport whose client it uses and that it is measured beside: "sse"
	flag      string // fourway's flag choosing the writer: "sse-writer"
	usual     string // the flag's default, what the base row measures: "r3labs"
	field     string // where GET /api/config names the writer: "sse.writer"
	writer    string // what a server has one of, for a reader: "SSE writer"
	title     string // what the row measures: transportTitle
	baseTitle string // what the base row measures, beside it
	// protos are the protocols the direct writer serves; over any other
	// the server serves the base's writer, so the row would not be what
	// it says: notOver names them, why says why.
	protos  []string
	notOver string
	why     string
	nchan   string // why Nchan's base row stands for both
	// configured is the writer GET /api/config names.
	configured func(wire.Config) string
}

// directWriter is the value of every writer row's flag that the row measures.
const directWriter = "direct"

var writerRows = []writerRow{
	{
		name: "sse-direct", base: "sse", flag: "sse-writer", usual: "r3labs", field: "sse.writer", writer: "SSE writer",
		title: "SSE (direct writer: the protocol's cost)", baseTitle: "SSE (r3labs/sse library)",
		protos: []string{"h1", "h1tls"}, notOver: "HTTP/2",
		why:        "fourway's direct writer takes a connection of its own; under HTTP/2 the library serves SSE",
		nchan:      "Nchan has one SSE writer: its sse row stands for both",
		configured: func(c wire.Config) string { return c.SSE.Writer },
	},
	{
		name: "longpoll-direct", base: "longpoll", flag: "longpoll-writer", usual: "nethttp", field: "longpoll.writer", writer: "long-poll writer",
		title: "long poll (direct writer: without net/http's request cycle)", baseTitle: "long poll (net/http)",
		protos: []string{"h1"}, notOver: "TLS or HTTP/2",
		why:        "fourway's direct long-poll writer serves only HTTP/1.1 in the clear; under TLS and HTTP/2 net/http serves the long poll",
		nchan:      "Nchan has one long poll: its longpoll row stands for both",
		configured: func(c wire.Config) string { return c.LongPoll.Writer },
	},
}

// writerRowOf is the writer row named tr, or nil.
func writerRowOf(tr string) *writerRow {
	for i := range writerRows {
		if writerRows[i].name == tr {
			return &writerRows[i]
		}
	}
	return nil
}

// baseTransport is the transport whose client a row uses, and whose
// name /api/stats and Nchan give it: sse for sse-direct, longpoll for
// longpoll-direct, any other transport itself.
func baseTransport(tr string) string {
	if w := writerRowOf(tr); w != nil {
		return w.base
	}
	return tr
}

// writerFor is the row's flag for a scenario: "direct" when it measures
// the row, else the default.
func (w writerRow) writerFor(sc Scenario) string {
	if contains(sc.transports(), w.name) {
		return directWriter
	}
	return w.usual
}

// writersFor is every writer flag of fourway for a scenario, as
// childConfig.Writers takes them.
func writersFor(sc Scenario) map[string]string {
	m := map[string]string{}
	for _, w := range writerRows {
		m[w.flag] = w.writerFor(sc)
	}
	return m
}

// concerned are the writer rows whose writer a scenario depends on: it
// measures the row or its base.
func concerned(sc Scenario) []writerRow {
	var out []writerRow
	trs := sc.transports()
	for _, w := range writerRows {
		if contains(trs, w.name) || contains(trs, w.base) {
			out = append(out, w)
		}
	}
	return out
}

// writerFlags are the flags a fourway measured for the scenario runs
// with, for an error that says which server to start:
// "--longpoll-writer direct".
func writerFlags(sc Scenario) string {
	var f []string
	for _, w := range concerned(sc) {
		f = append(f, "--"+w.flag+" "+w.writerFor(sc))
	}
	return strings.Join(f, " ")
}

// fourwayConfig is a fourway server's GET /api/config.
func fourwayConfig(ctx context.Context, base, proto string) (wire.Config, error) {
	var c wire.Config
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/config", nil)
	if err != nil {
		return c, err
	}
	client := publisherClient(proto, 1)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return c, fmt.Errorf("GET /api/config: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("GET /api/config: %s %v", resp.Status, err)
	}
	return c, nil
}

// checkWriters makes sure the server measured for a scenario runs the
// writers its rows are named after: sse the library's, sse-direct the
// direct one; longpoll net/http's, longpoll-direct the direct one.
func checkWriters(ctx context.Context, base string, sc Scenario) error {
	rows := concerned(sc)
	if len(rows) == 0 {
		return nil
	}
	c, err := fourwayConfig(ctx, base, sc.Proto)
	if err != nil {
		return err
	}
	for _, w := range rows {
		got, want := w.configured(c), w.writerFor(sc)
		if got == "" {
			return fmt.Errorf("GET /api/config names no %s (%s): a fourway from before --%s", w.writer, w.field, w.flag)
		}
		if got != want {
			row := w.base
			if contains(sc.transports(), w.name) {
				row = w.name
			}
			if sc.Mixed != "" {
				row += " in " + sc.Mixed
			}
			return fmt.Errorf("the server's %s is %q (%s in GET /api/config), but %s measures %q", w.writer, got, w.field, row, want)
		}
	}
	return nil
}

// directServes reports whether the server serves every writer row of
// tr ("ws+longpoll-direct") with its direct writer over proto.
func directServes(tr, proto string) bool {
	for _, p := range strings.Split(tr, "+") {
		if w := writerRowOf(p); w != nil && !contains(w.protos, proto) {
			return false
		}
	}
	return true
}

// checkDirectProtos refuses a writer row over a protocol its direct
// writer does not serve (sse-direct over HTTP/2, longpoll-direct over
// TLS or HTTP/2) when the row was asked for by name: the server would
// serve the base's writer, and the row would not be what it says. The
// default transports leave such rows out (planScenarios), as the legend
// says.
func checkDirectProtos(protos []string, plan string, trs []string, transportsSet bool) error {
	for _, p := range protos {
		for _, w := range writerRows {
			named := strings.Contains(plan, w.name)
			if transportsSet && plan == "" {
				for _, t := range trs {
					named = named || contains(strings.Split(t, "+"), w.name)
				}
			}
			if named && !contains(w.protos, p) {
				return fmt.Errorf("-proto %s: %s cannot run over %s (%s): measure %s over %s, %s over %s",
					p, w.name, w.notOver, w.why, w.base, p, w.name, joinOr(w.protos))
			}
		}
	}
	return nil
}

// writerLegend says which writer each SSE and long-poll row measures.
func writerLegend(results []Result) []string {
	var out []string
	for _, w := range writerRows {
		row, base := hasRows(results, w)
		switch {
		case row:
			out = append(out, fmt.Sprintf("%s: %s; %s: %s, fourway run with --%s %s (%s)", w.base, w.baseTitle, w.name, w.title, w.flag, directWriter, w.nchan))
		case base:
			out = append(out, fmt.Sprintf("%s: %s on fourway", w.base, w.baseTitle))
		}
	}
	return out
}

// directProtoLegend says which writer rows the results' protocols leave
// out, where the results have the row or its base.
func directProtoLegend(results []Result) []string {
	var out []string
	for _, w := range writerRows {
		var without []string
		for _, r := range results {
			if r.Proto != "" && !contains(w.protos, r.Proto) && !contains(without, r.Proto) {
				without = append(without, r.Proto)
			}
		}
		if row, base := hasRows(results, w); len(without) > 0 && (row || base) {
			out = append(out, fmt.Sprintf("%s is not measured over %s: %s", w.name, joinOr(without), w.why))
		}
	}
	return out
}

// hasRows reports whether the results have the writer row, and its base.
func hasRows(results []Result, w writerRow) (row, base bool) {
	for _, r := range results {
		row = row || r.Transport == w.name
		base = base || r.Transport == w.base
	}
	return row, base
}

// joinOr is "h1", "h1 or h1tls", "h1tls, h2 or h2c".
func joinOr(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// checkWriterPair refuses a mixed scenario of a writer row and its base:
// one server has one writer of each kind.
func checkWriterPair(t string, parts []string) error {
	for _, w := range writerRows {
		if contains(parts, w.base) && contains(parts, w.name) {
			return fmt.Errorf("%q: one server has one %s, so %s and %s cannot share it", t, w.writer, w.base, w.name)
		}
	}
	return nil
}
