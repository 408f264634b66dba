package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// writeMarkdown writes the run as a README section: the table, the 2010
// table next to the measured one, the targets, and the command.
func writeMarkdown(out io.Writer, rep record.Report, chart string) {
	m := rep.Machine
	fmt.Fprintf(out, "Measured on %s, %d cores, %d MiB, %s, %s; load generator and server on the same machine over loopback, the server a separate process started fresh for every row.\n\n", m.CPU, m.Cores, m.MemoryMiB, m.GoVersion, m.OS)
	fmt.Fprintf(out, "```sh\n%s\n```\n\n", rep.Command)
	if chart != "" {
		fmt.Fprintf(out, "![latency per transport](%s)\n\n", chart)
	}
	writeResultsMarkdown(out, rep.Results)
	writeCompressionMarkdown(out, rep.Results)
	writeFaultsMarkdown(out, rep.Results)
	writeProcMarkdown(out, rep.Results)
	writeServerSplitMarkdown(out, rep.Results)
	writeAcksMarkdown(out, rep.Acks)
	var notes []string
	for _, l := range resultProse(rep.Results) {
		notes = append(notes, "- "+l)
	}
	fmt.Fprintf(out, "\n%s\n", strings.Join(notes, "\n"))
	writeClassicMarkdown(out, rep.Results)
	if len(rep.Targets) > 0 {
		fmt.Fprintln(out, "\n| speed target | want | got | |")
		fmt.Fprintln(out, "|---|---|---|---|")
		for _, t := range rep.Targets {
			mark := "met"
			if !t.Met {
				mark = "**missed**"
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s |\n", t.What, t.Want, t.Got, mark)
		}
	}
}

// writeResultsMarkdown writes the results table.
func writeResultsMarkdown(out io.Writer, results []record.Result) {
	linked := slices.ContainsFunc(results, func(r record.Result) bool { return r.Link != "" })
	link, rule := "", ""
	if linked {
		link, rule = "link | ", "---|"
	}
	fmt.Fprintln(out, "| server | transport | "+link+"subs | msg/s | samples | p50 ms | p99 ms | max ms | lost / dup | B down/delivery | B up/delivery | overhead B/delivery | req/delivery | server CPU s | server CPU µs/delivery | KiB/conn |")
	fmt.Fprintln(out, "|---|---|"+rule+"--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		secs, cpu, mem := "–", "–", "–"
		if s := r.Server; s != nil {
			secs, cpu, mem = f2(s.CPUSeconds), cpuPerDelivery(r), f1(s.MemPerConnKiB)
		} else if r.ServerNote != "" {
			cpu, mem = r.ServerNote, r.ServerNote
		}
		ld := fmt.Sprintf("%d / %d", r.Lost, r.Duplicated)
		if !r.DeliveryOK() {
			ld = "**" + ld + " FAILED**"
		}
		transport := mdTransport(r)
		if linked { // the link in a column of its own
			besideLink := r
			besideLink.Link = ""
			transport = mdTransport(besideLink) + " | " + r.Link
		}
		fmt.Fprintf(out, "| %s | %s | %d | %g | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Target, transport, r.Subs, r.Rate, r.Latency.Count, percentile(r.Latency, "p50"), percentile(r.Latency, "p99"), latencyCell(r.Latency.Max), ld,
			f1(r.Wire.DownPerMsg), f1(r.Wire.UpPerMsg), f1(r.Wire.OverheadPerMsg), f3(r.Wire.RequestsPerMsg), secs, cpu, mem)
	}
}

// writeCompressionMarkdown writes, when rows offered compression, each
// row's payload, what its answers came in, its bytes down beside what they
// decode to, and its server's CPU per delivery.
func writeCompressionMarkdown(out io.Writer, results []record.Result) {
	if !anyCompressed(results) {
		return
	}
	fmt.Fprintln(out, "\n| server | transport | subs | msg/s | payload | compression | B down/delivery | decoded B/delivery | server CPU µs/delivery |")
	fmt.Fprintln(out, "|---|---|--:|--:|---|---|--:|--:|--:|")
	for _, r := range results {
		comp, decoded, cpu := "–", "–", "–"
		if r.Compress {
			comp, decoded = compressionCell(r.Compression), f1(r.Wire.DecodedPerMsg)
		}
		if r.Server != nil {
			cpu = cpuPerDelivery(r)
		}
		fmt.Fprintf(out, "| %s | %s | %d | %g | %s | %s | %s | %s | %s |\n", r.Target, mdTransport(r), r.Subs, r.Rate, r.PayloadName(), comp, f1(r.Wire.DownPerMsg), decoded, cpu)
	}
}

// writeClassicMarkdown writes the 2010 table, then the same computation
// from the bytes measured here.
func writeClassicMarkdown(out io.Writer, results []record.Result) {
	fmt.Fprintf(out, "\n%s:\n", classicTitle)
	fmt.Fprintln(out, "\n| one message per second per client | overhead B/exchange | 1,000 clients | 10,000 | 100,000 |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|")
	for _, c := range classic2010 {
		fmt.Fprintf(out, "| %s | %g | %g Mbps | %g Mbps | %g Mbps |\n", c.name, c.bytes, c.mbps[0], c.mbps[1], c.mbps[2])
	}
	for _, r := range classicRows(results) {
		o := classicOverhead(r)
		fmt.Fprintf(out, "| %s %s (measured) | %s | %s Mbps | %s Mbps | %s Mbps |\n", r.Target, r.Label(), f1(o),
			f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o)))
	}
}

// mdTransport is a row's transport cell: the name, what an SSE row
// measures, and the mixed scenario it is part of.
func mdTransport(r record.Result) string {
	s := r.Transport
	if t := plan.TransportTitle(r.Transport); t != "" && r.Target == "fourway" {
		s += " · " + t
	}
	if r.Mixed != "" {
		s += " · in mixed " + r.Mixed + " (one server: CPU and KiB/conn shared)"
	}
	if r.Proto != "" {
		s += " [" + r.Proto + "]"
	}
	if r.Setup != "" {
		s += " · on " + plan.SetupTitle(r.Setup)
	}
	if r.Link != "" {
		s += " · via the " + r.Link + " link"
	}
	if r.Compress {
		s += " compressed"
	}
	return s
}

// serverSplitRows are the rows fourway counted anything of its overhead of.
func serverSplitRows(results []record.Result) []record.Result {
	var rows []record.Result
	for _, r := range results {
		if r.Wire.ServerHeadersPerMsg > 0 || r.Wire.ServerFramesPerMsg > 0 || r.Wire.ServerFramingPerMsg > 0 {
			rows = append(rows, r)
		}
	}
	return rows
}

// serverSplitLegend says what the server-counted table holds.
const serverSplitLegend = "Of the overhead per delivery, what fourway's own /api/stats counted over the window, per delivered message: headers (HTTP/1.1 heads in the clear; under HTTP/2 the HPACK header blocks), HTTP/2 frame headers (9 bytes a frame), and the streams' framing (WebSocket frame headers, SSE field names and chunk framing) and heartbeats, both ways; the rest is a poll answer's JSON, TLS records, connection frames, and what the server could not see over TLS"

// serverSplitHead is the server-counted table's header, after the row's
// server and transport.
var serverSplitHead = []string{"overhead B/delivery", "headers B/delivery", "HTTP/2 frame headers B/delivery", "stream framing B/delivery", "heartbeats B/delivery"}

// serverSplitCells are a row's cells under serverSplitHead.
func serverSplitCells(r record.Result) []string {
	w := r.Wire
	return []string{f1(w.OverheadPerMsg), f1(w.ServerHeadersPerMsg), f1(w.ServerFramesPerMsg), f1(w.ServerFramingPerMsg), f1(w.ServerHeartbeatsPerMsg)}
}

// writeServerSplitMarkdown writes what fourway counted of each row's
// overhead, for the rows it counted anything of.
func writeServerSplitMarkdown(out io.Writer, results []record.Result) {
	rows := serverSplitRows(results)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(out, "\n%s:\n", serverSplitLegend)
	fmt.Fprintf(out, "\n| server | transport | %s |\n", strings.Join(serverSplitHead, " | "))
	fmt.Fprintln(out, "|---|---|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %s | %s |\n", r.Target, mdTransport(r), strings.Join(serverSplitCells(r), " | "))
	}
}
