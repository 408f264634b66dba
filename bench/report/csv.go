package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"fourway/bench/record"
)

// csvHeader is report.csv's first line: its columns.
var csvHeader = []string{"target", "transport", "subscribers", "rate", "payload_bytes", "poll_interval", "warmup", "duration",
	"published", "publish_errors", "expected", "delivered", "lost", "duplicated", "reconnects", "errors",
	"lat_count", "lat_mean_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms",
	"down_per_msg", "up_per_msg", "payload_per_msg", "overhead_per_msg", "requests_per_msg", "handshake_down", "handshake_up",
	"exchange_overhead", "empty_exchange", "classic_overhead",
	"bench_cpu_seconds", "other_cpu_seconds", "cpu_seconds", "cpu_us_per_delivery", "rss_before_mib", "rss_idle_mib", "rss_end_mib", "mem_per_conn_kib",
	"mixed", "source_addrs", "proto", "negotiated", "req_header_first", "req_header_later", "req_header_n",
	"server_headers_per_msg", "server_frame_headers_per_msg", "server_framing_per_msg", "server_heartbeats_per_msg",
	"link", "payload_kind", "compress", "compression", "decoded_per_msg"}

// writeCSV writes the results as report.csv, one row each.
func writeCSV(out io.Writer, results []record.Result) error {
	w := csv.NewWriter(out)
	_ = w.Write(csvHeader)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, r := range results {
		row := []string{r.Target, r.Transport, strconv.Itoa(r.Subs), g(r.Rate), strconv.Itoa(r.Payload), r.PollInterval.String(), r.Warmup.String(), r.Duration.String(),
			strconv.FormatInt(r.Published, 10), strconv.FormatInt(r.PublishErrors, 10), strconv.FormatInt(r.Expected, 10), strconv.FormatInt(r.Delivered, 10),
			strconv.FormatInt(r.Lost, 10), strconv.FormatInt(r.Duplicated, 10), strconv.Itoa(r.Reconnects), strconv.Itoa(r.Errors),
			strconv.FormatInt(r.Latency.Count, 10), g(r.Latency.Mean), g(r.Latency.P50), g(r.Latency.P90), g(r.Latency.P99), g(r.Latency.P999), g(r.Latency.Max),
			g(r.Wire.DownPerMsg), g(r.Wire.UpPerMsg), g(r.Wire.PayloadPerMsg), g(r.Wire.OverheadPerMsg), g(r.Wire.RequestsPerMsg), g(r.Wire.HandshakeDown), g(r.Wire.HandshakeUp),
			g(r.Wire.ExchangeOverhead), g(r.Wire.EmptyExchange), g(classicOverhead(r)), g(r.BenchCPUSeconds), g(r.OtherCPUSeconds)}
		if s := r.Server; s != nil {
			row = append(row, g(s.CPUSeconds), g(s.CPUPerMsgMicros), g(s.RSSBeforeMiB), g(s.RSSIdleMiB), g(s.RSSEndMiB), g(s.MemPerConnKiB))
		} else {
			row = append(row, "", "", "", "", "", "")
		}
		// mixed: the mixed scenario the row is part of ("ws+sse"), whose
		// rows share the server and so its cpu and memory figures.
		row = append(row, r.Mixed, strconv.Itoa(r.SourceAddrs))
		// proto: -proto (h1, h1tls, h2, h2c); negotiated: what the answers
		// came over ("HTTP/2.0 over TLS"); req_header_*: one poller's
		// first request's bytes written and its req_header_n-th's.
		row = append(row, r.Proto, r.Negotiated, strconv.FormatInt(r.Wire.ReqHeaderFirst, 10), strconv.FormatInt(r.Wire.ReqHeaderLater, 10), strconv.Itoa(r.Wire.ReqHeaderN))
		// server_*: what fourway counted of its own bytes, per message
		// (serverbytes.go): headers, and HTTP/2 frame headers.
		row = append(row, g(r.Wire.ServerHeadersPerMsg), g(r.Wire.ServerFramesPerMsg))
		// and the streams' framing and heartbeats, both ways.
		row = append(row, g(r.Wire.ServerFramingPerMsg), g(r.Wire.ServerHeartbeatsPerMsg))
		// link: the emulated link the subscribers reached the server
		// through (-links); empty for none.
		row = append(row, r.Link)
		// payload_kind: the kind of data, when a kind (payload_bytes its
		// size); compress: the subscribers offered compression;
		// compression: what the answers came in; decoded_per_msg: what
		// the bodies and messages decode to, per message.
		row = append(row, r.PayloadKind, strconv.FormatBool(r.Compress), r.Compression, g(r.Wire.DecodedPerMsg))
		_ = w.Write(row)
	}
	w.Flush()
	return w.Error()
}
