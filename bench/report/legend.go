package report

import (
	"fmt"
	"slices"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// legend says what the rows' names mean where a name alone could mislead:
// which SSE and long-poll row is which (writerLegend), and that a mixed
// scenario's rows share one server, so its CPU and memory figures are the
// whole server's.
func legend(results []record.Result) []string {
	mixed := map[string]bool{}
	var mixes []string
	for _, r := range results {
		if r.Mixed != "" && !mixed[r.Mixed] {
			mixed[r.Mixed] = true
			mixes = append(mixes, r.Mixed)
		}
	}
	out := writerLegend(results)
	out = append(out, protoLegend(results)...)
	for _, m := range mixes {
		out = append(out, fmt.Sprintf("mixed scenario %s: the subscribers of each of its transports (subs is per transport) on one server at once, to one publisher; a row \"X in %s\" is X's subscribers, and its server CPU µs/delivery is the whole server's CPU over the window divided by every delivery of the scenario (all its rows), KiB/conn the server's memory over all its connections: the same figures on each of its rows", m, m))
	}
	return out
}

// writerLegend says which writer each SSE and long-poll row measures.
func writerLegend(results []record.Result) []string {
	var out []string
	for _, w := range plan.WriterRows {
		row, base := hasRows(results, w)
		switch {
		case row:
			out = append(out, fmt.Sprintf("%s: %s; %s: %s, fourway run with --%s %s (%s)", w.Base, w.BaseTitle, w.Name, w.Title, w.Flag, plan.DirectWriter, w.Nchan))
		case base:
			out = append(out, fmt.Sprintf("%s: %s on fourway", w.Base, w.BaseTitle))
		}
	}
	return out
}

// directProtoLegend says which writer rows the results' protocols leave
// out, where the results have the row or its base.
func directProtoLegend(results []record.Result) []string {
	var out []string
	for _, w := range plan.WriterRows {
		var without []string
		for _, r := range results {
			if r.Proto != "" && !slices.Contains(w.Protos, r.Proto) && !slices.Contains(without, r.Proto) {
				without = append(without, r.Proto)
			}
		}
		if row, base := hasRows(results, w); len(without) > 0 && (row || base) {
			out = append(out, fmt.Sprintf("%s is not measured over %s: %s", w.Name, plan.JoinOr(without), w.Why))
		}
	}
	return out
}

// hasRows reports whether the results have the writer row, and its base.
func hasRows(results []record.Result, w plan.WriterRow) (row, base bool) {
	for _, r := range results {
		row = row || r.Transport == w.Name
		base = base || r.Transport == w.Base
	}
	return row, base
}

// protoLegend says what the rows' protocols are, that bytes under TLS are
// TLS records, and, for the poll and long-poll rows, what one poller's
// first request wrote against its hundredth (HPACK at work over HTTP/2).
func protoLegend(results []record.Result) []string {
	var out, seen []string
	tls := false
	for _, r := range results {
		if r.Proto != "" && !slices.Contains(seen, r.Proto) {
			seen = append(seen, r.Proto)
			out = append(out, fmt.Sprintf("[%s]: %s", r.Proto, plan.ProtoTitle(r.Proto)))
		}
		tls = tls || plan.ProtoTLS(r.Proto)
	}
	out = append(out, directProtoLegend(results)...)
	if tls {
		out = append(out, "under TLS (h1tls, h2) the bytes are counted on the socket below TLS: each record's header and tag (5 + 16 bytes, plus 1 under TLS 1.3) are in the overhead, and the TLS handshake in the handshake bytes")
	}
	for _, r := range results {
		if r.Wire.ReqHeaderN > 0 {
			out = append(out, fmt.Sprintf("%s %s request headers, one subscriber: request 1 wrote %d B, request %d wrote %d B", r.Target, r.Label(), r.Wire.ReqHeaderFirst, r.Wire.ReqHeaderN, r.Wire.ReqHeaderLater))
		}
	}
	return out
}
