package report

import (
	"fmt"
	"html"
	"io"
	"strings"

	"fourway/bench/record"
)

// ackLegend says how the publish-to-ack latency was measured.
const ackLegend = "JetStream publish-to-ack: the bench's own nats.go client publishes to a stream of that many replicas (file storage, as fourway's) and waits for each ack before the next, R1 and R3 in alternating blocks of 50, after 20 unrecorded; on loopback, to the -cluster's nats-server processes. Not through fourway: a fourway publish (POST /api/messages) adds its HTTP round trip, the POST columns above."

// ackRows are the acks table's rows, one per stream.
func ackRows(acks []record.AckLatency) [][]string {
	var rows [][]string
	for _, a := range acks {
		rows = append(rows, []string{fmt.Sprintf("R%d", a.Replicas), fmt.Sprint(a.Publishes), fmt.Sprint(a.Payload),
			percentile(a.Latency, "p50"), percentile(a.Latency, "p90"), percentile(a.Latency, "p99"), latencyCell(a.Latency.Max), a.Leader, a.Connected})
	}
	return rows
}

// ackHeader is the acks table's header.
var ackHeader = []string{"stream", "publishes", "payload B", "p50 ms", "p90 ms", "p99 ms", "max ms", "leader", "client on"}

// writeAcks prints the publish-to-ack latency as text.
func writeAcks(out io.Writer, acks []record.AckLatency) {
	if len(acks) == 0 {
		return
	}
	t := textTable{title: "JetStream publish-to-ack latency:", head: ackHeader, rows: ackRows(acks), left: 1}
	for _, l := range t.lines() {
		fmt.Fprintln(out, l)
	}
	writeProse(out, []string{ackLegend})
}

// writeAcksMarkdown writes it as a Markdown table.
func writeAcksMarkdown(out io.Writer, acks []record.AckLatency) {
	if len(acks) == 0 {
		return
	}
	fmt.Fprintf(out, "\nJetStream publish-to-ack latency:\n\n| %s |\n|---|%s\n", strings.Join(ackHeader, " | "), strings.Repeat("--:|", 6)+"---|---|")
	for _, r := range ackRows(acks) {
		fmt.Fprintf(out, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintf(out, "\n%s\n", ackLegend)
}

// writeAcksHTML writes it as an HTML table.
func writeAcksHTML(b *strings.Builder, acks []record.AckLatency) {
	if len(acks) == 0 {
		return
	}
	b.WriteString(`<h2>JetStream publish-to-ack latency</h2><table><tr>`)
	for _, h := range ackHeader {
		fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr>")
	for _, r := range ackRows(acks) {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	fmt.Fprintf(b, `</table><p class="muted">%s</p>`, html.EscapeString(ackLegend))
}
