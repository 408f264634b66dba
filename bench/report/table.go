package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"fourway/bench/record"
)

// writeTable prints the results as aligned text.
func writeTable(out io.Writer, results []record.Result) {
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\ttransport\tsubs\trate/s\tpayload\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tdelivered\tlost\tdup\tdown B/msg\tup B/msg\toverhead B/msg\treq/msg\thandshake B\tCPU s\tCPU µs/msg\tRSS MiB\tKiB/conn\tbench CPU s\tother CPU s\t")
	for _, r := range results {
		srv := "-\t-\t-\t-\t"
		if r.ServerNote != "" {
			srv = "-\t" + r.ServerNote + "\t-\t-\t"
		}
		if s := r.Server; s != nil {
			srv = fmt.Sprintf("%s\t%s\t%s\t%s\t", f2(s.CPUSeconds), f2(s.CPUPerMsgMicros), f1(s.RSSIdleMiB), f1(s.MemPerConnKiB))
		}
		flag := ""
		if !r.DeliveryOK() {
			flag = " !!"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%g\t%d\t%s\t%s\t%s\t%s\t%s\t%d%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\t%s\t\n",
			r.Target, r.Label(), r.Subs, r.Rate, r.Payload,
			latencyCell(r.Latency.P50), latencyCell(r.Latency.P90), latencyCell(r.Latency.P99), latencyCell(r.Latency.P999), latencyCell(r.Latency.Max),
			r.Delivered, flag, r.Lost, r.Duplicated,
			f1(r.Wire.DownPerMsg), f1(r.Wire.UpPerMsg), f1(r.Wire.OverheadPerMsg), f3(r.Wire.RequestsPerMsg),
			f1(r.Wire.HandshakeDown+r.Wire.HandshakeUp), srv, f2(r.BenchCPUSeconds), f2(r.OtherCPUSeconds))
	}
	tw.Flush()
	for _, l := range legend(results) {
		fmt.Fprintln(out, l)
	}
	for _, r := range results {
		for _, n := range r.Notes {
			mark := "note"
			if strings.HasPrefix(n, "DELIVERY") {
				mark = "!! FAILED"
			}
			fmt.Fprintf(out, "%s: %s %s subs=%d rate=%g: %s\n", mark, r.Target, r.Label(), r.Subs, r.Rate, n)
		}
	}
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
	fmt.Fprintf(out, "fourway bench: %s, %d cores, %d MiB, %s, %s\n", m.CPU, m.Cores, m.MemoryMiB, m.GoVersion, m.OS)
	fmt.Fprintf(out, "command: %s\n", rep.Command)
	fmt.Fprintf(out, "poll interval %s, warm-up %s, window %s, stagger %s, client headers %s, fourway GOMAXPROCS %s, nginx 1 worker\n\n",
		c.PollInterval, c.Warmup, c.Duration, c.Stagger, c.ClientHeaders, procsText(c.ServerProcs))
}

// Print prints the report's tables: the results, the processes and
// JetStream's acks of a -cluster, the 2010 table and the speed targets.
func Print(out io.Writer, rep record.Report) {
	writeTable(out, rep.Results)
	writeClusterTables(out, rep)
	fmt.Fprintln(out)
	writeClassic(out, rep.Results)
	fmt.Fprintln(out)
	writeTargets(out, rep.Targets)
}
