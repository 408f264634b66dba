package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one scenario measured.
type Result struct {
	Scenario
	Published     int64 `json:"published"` // messages the server acknowledged
	PublishErrors int64 `json:"publish_errors"`
	PublishLate   int64 `json:"publish_late"` // started over 10 ms after due (publisher saturated)

	// Every subscriber is checked against every acknowledged message.
	Expected   int64 `json:"expected"`   // published × subscribers
	Delivered  int64 `json:"delivered"`  // distinct (message, subscriber) pairs received
	Lost       int64 `json:"lost"`       // expected but never received
	Duplicated int64 `json:"duplicated"` // received more than once
	Reconnects int   `json:"reconnects"`
	Errors     int   `json:"errors"`    // failed requests or broken connections
	Anomalies  int   `json:"anomalies"` // missed/reset signals, unparseable messages, contract breaches
	Skipped    int   `json:"skipped_ticks"`
	// Epoch is the feed epoch fourway named to the subscribers (the id
	// sequence their cursors belong to); empty for Nchan.
	Epoch string `json:"epoch,omitempty"`
	// Negotiated is what the subscribers' answers came over, as the
	// client saw it (resp.Proto, and TLS or not): "HTTP/2.0 over TLS"
	// for an h2 poll, "HTTP/1.1 over TLS" for its WebSocket. Every
	// answer was checked against Proto; one that was not what the row
	// asks ends the scenario.
	Negotiated string `json:"negotiated,omitempty"`

	WindowDeliveries int64       `json:"window_deliveries"` // deliveries received inside the window
	Latency          Latency     `json:"latency_ms"`
	Wire             Wire        `json:"wire"`
	Server           *ServerCost `json:"server,omitempty"`
	// Procs is the server's CPU process by process, when it is several
	// (every fourway node, NATS server and nginx of a cluster, or the
	// -pids of a server the bench did not start); Server is their sum.
	Procs []ProcCost `json:"processes,omitempty"`
	// ServerNote says why Server is absent: the server is external (-url
	// without -pids), so its CPU and memory were not measured.
	ServerNote string `json:"server_note,omitempty"`
	// PublishRTT is the round trip of each acknowledged publish (POST
	// /api/messages, or Nchan's /pub, to its answer), in milliseconds:
	// on JetStream it holds the stream's acknowledgement.
	PublishRTT      Latency `json:"publish_rtt_ms"`
	ConnectSeconds  float64 `json:"connect_seconds"`
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"` // the load generator's, in the window
	// The whole machine's busy CPU seconds in the window, and what neither
	// the server nor the bench used (other processes, the kernel's
	// interrupt work).
	MachineCPUSeconds float64  `json:"machine_cpu_seconds"`
	OtherCPUSeconds   float64  `json:"other_cpu_seconds"`
	Notes             []string `json:"notes,omitempty"`
}

// Latency is publish-to-receipt time of the messages intended inside the
// window, in milliseconds, from the intended send time.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// Wire is the cost of a delivered message on the subscribers' sockets, in
// bytes (TCP payload: request and status lines, headers, chunk framing,
// WebSocket frame headers; TCP/IP headers not included).
type Wire struct {
	Messages      int64   `json:"messages"` // deliveries the per-message figures are over
	DownPerMsg    float64 `json:"down_per_msg"`
	UpPerMsg      float64 `json:"up_per_msg"`
	PayloadPerMsg float64 `json:"payload_per_msg"` // the message as the application gets it
	// OverheadPerMsg is down + up - payload.
	OverheadPerMsg float64 `json:"overhead_per_msg"`
	RequestsPerMsg float64 `json:"requests_per_msg"`
	// Handshake is what connecting cost, per subscriber (WebSocket upgrade
	// and hello; SSE request, headers and hello), apart from the above.
	HandshakeDown float64 `json:"handshake_down"`
	HandshakeUp   float64 `json:"handshake_up"`
	// HTTP polls: overhead of one request-response that carried messages,
	// and of one that came back empty.
	ExchangeOverhead float64 `json:"exchange_overhead,omitempty"`
	EmptyExchange    float64 `json:"empty_exchange,omitempty"`
	EmptyShare       float64 `json:"empty_share,omitempty"` // share of requests that came back empty
	// Everything the subscribers' sockets carried, from the first connect
	// to the end of the run (closing included), all subscribers together.
	TotalDown     int64 `json:"total_down"`
	TotalUp       int64 `json:"total_up"`
	TotalRequests int64 `json:"total_requests"`
	// Polls and long polls, one subscriber's (the first): the bytes it
	// wrote for its first request and for its ReqHeaderN-th, the
	// hundredth or the last it made if it made fewer (see sub.reqUp).
	// Over HTTP/1.1 the two are the same request line and headers; over
	// HTTP/2, HPACK's dynamic table makes the later one smaller.
	ReqHeaderFirst int64 `json:"req_header_first,omitempty"`
	ReqHeaderLater int64 `json:"req_header_later,omitempty"`
	ReqHeaderN     int   `json:"req_header_n,omitempty"`
	// What fourway counted of its sockets' bytes over the window, per
	// delivered message (serverbytes.go): headers (HTTP/1.1 heads in the
	// clear, or HTTP/2 header blocks as HPACK encoded them) and HTTP/2
	// frame headers. Zero for Nchan, and for HTTP/1.1 over TLS.
	ServerHeadersPerMsg float64 `json:"server_headers_per_msg,omitempty"`
	ServerFramesPerMsg  float64 `json:"server_frame_headers_per_msg,omitempty"`
	// And of the streams' bytes, both ways: framing (WebSocket frame
	// headers, SSE field names and chunk framing) and heartbeats, as
	// fourway counted them where it wrote and read them.
	ServerFramingPerMsg    float64 `json:"server_framing_per_msg,omitempty"`
	ServerHeartbeatsPerMsg float64 `json:"server_heartbeats_per_msg,omitempty"`
}

// ProcCost is one process's CPU inside the window (a process and its
// children for nginx: master and worker), per delivery of the scenario.
type ProcCost struct {
	Name            string  `json:"name"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	CPUPerMsgMicros float64 `json:"cpu_us_per_delivery"`
}

// notMeasuredExternal is what the report says of the CPU and memory of a
// server the bench did not start (-url) and was given no -pids for.
const notMeasuredExternal = "not measured (external)"

// latencyOf summarises a histogram of nanoseconds in milliseconds.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{
		Count: h.TotalCount(), Mean: h.Mean() / 1e6,
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
}

// ServerCost is the server's CPU and memory, read from /proc.
type ServerCost struct {
	WindowSecs      float64 `json:"window_seconds"`
	CPUSeconds      float64 `json:"cpu_seconds"` // during the window
	CPUPercent      float64 `json:"cpu_percent"` // of one core
	CPUPerMsgMicros float64 `json:"cpu_us_per_delivery"`
	RSSBeforeMiB    float64 `json:"rss_before_mib"` // before any subscriber
	RSSIdleMiB      float64 `json:"rss_idle_mib"`   // all subscribers connected, nothing published
	RSSEndMiB       float64 `json:"rss_end_mib"`
	MemPerConnKiB   float64 `json:"mem_per_conn_kib"` // (idle - before) / subscribers
}

func (r *Result) collect(subs []*sub, pub *publisher, hists histSet) {
	var span, hs, total counts
	var exchMsg, exchEmpty, exchMsgBytes, exchEmptyBytes int64
	var gaveUp int
	var firstGaveUp string
	epochs := map[string]bool{}
	for _, s := range subs {
		if s.gaveUp != "" {
			if gaveUp == 0 {
				firstGaveUp = fmt.Sprintf("subscriber %d: %s", s.idx, s.gaveUp)
			}
			gaveUp++
		}
		if s.feedEpoch != "" {
			epochs[s.feedEpoch] = true
			if r.Epoch == "" {
				r.Epoch = s.feedEpoch
			}
		}
		for seq, ok := range pub.ok {
			if !ok {
				continue
			}
			r.Expected++
			if seq < len(s.seen) && s.seen[seq] > 0 {
				r.Delivered++
			} else {
				r.Lost++
			}
		}
		r.Duplicated += s.dups
		r.Reconnects += s.reconnects
		r.Errors += s.errors
		r.Anomalies += s.anomalies
		r.Skipped += s.skippedTicks
		r.WindowDeliveries += s.inWindow.Load()
		span = span.add(s.span())
		hs = hs.add(s.handshake)
		total = total.add(s.snapshot())
		exchMsg += s.exchMsg
		exchEmpty += s.exchEmpty
		exchMsgBytes += s.exchMsgBytes
		exchEmptyBytes += s.exchEmptyBytes
		if r.Negotiated == "" {
			r.Negotiated = s.negotiated
		}
		if s.reqUp != nil {
			r.Wire.ReqHeaderFirst = s.reqUp[0].Load()
			for k := len(s.reqUp) - 1; k > 0; k-- {
				if v := s.reqUp[k].Load(); v > 0 {
					r.Wire.ReqHeaderLater, r.Wire.ReqHeaderN = v, k+1
					break
				}
			}
		}
	}
	if gaveUp > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d subscriber(s) gave up on an answer that asking again cannot change; first: %s", gaveUp, firstGaveUp))
	}
	if len(epochs) > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("the subscribers ended in %d different epochs: the server's id sequence started over during the run", len(epochs)))
	}
	r.Latency = latencyOf(hists.merged())
	w := Wire{Messages: span.Messages, ReqHeaderFirst: r.Wire.ReqHeaderFirst, ReqHeaderLater: r.Wire.ReqHeaderLater, ReqHeaderN: r.Wire.ReqHeaderN}
	if n := float64(span.Messages); n > 0 {
		w.DownPerMsg = float64(span.Down) / n
		w.UpPerMsg = float64(span.Up) / n
		w.PayloadPerMsg = float64(span.Payload) / n
		w.OverheadPerMsg = float64(span.Down+span.Up-span.Payload) / n
		w.RequestsPerMsg = float64(span.Requests) / n
	}
	if n := float64(len(subs)); n > 0 {
		w.HandshakeDown, w.HandshakeUp = float64(hs.Down)/n, float64(hs.Up)/n
	}
	if exchMsg > 0 {
		w.ExchangeOverhead = float64(exchMsgBytes) / float64(exchMsg)
		w.EmptyShare = float64(exchEmpty) / float64(exchMsg+exchEmpty)
	}
	if exchEmpty > 0 {
		w.EmptyExchange = float64(exchEmptyBytes) / float64(exchEmpty)
	}
	w.TotalDown, w.TotalUp, w.TotalRequests = total.Down, total.Up, total.Requests
	r.Wire = w
	if r.Lost > 0 || r.Duplicated > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("DELIVERY CHECK FAILED: %d lost, %d duplicated (both must be 0 on loopback)", r.Lost, r.Duplicated))
	}
	if r.Latency.Count == 0 {
		r.Notes = append(r.Notes, "no message was received inside the window")
	}
	if r.PublishLate > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d publishes started over 10 ms late: the publisher or the machine was saturated (latency still counts from the intended time)", r.PublishLate))
	}
}

// deliveryOK is the check every result must pass.
func (r *Result) deliveryOK() bool { return r.Lost == 0 && r.Duplicated == 0 && r.Published > 0 }

// classicOverhead is the overhead bytes of one message in the 2010
// article's setting: every client receives one message per second, and a
// poller polls once per second (so each poll carries one message). Polls:
// the measured overhead of an exchange that carried a message, plus, on
// Nchan's interval poll, the 304 that ends each tick (one message per
// answer, so a poller must ask once more to learn it is caught up).
// Streams: the measured overhead per message.
func (r *Result) classicOverhead() float64 {
	switch baseTransport(r.Transport) {
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

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func latencyCell(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return f1(v)
	}
	return f2(v)
}

// writeTable prints the results as aligned text.
func writeTable(out io.Writer, results []Result) {
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
		if !r.deliveryOK() {
			flag = " !!"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%g\t%d\t%s\t%s\t%s\t%s\t%s\t%d%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\t%s\t\n",
			r.Target, r.label(), r.Subs, r.Rate, r.Payload,
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
			fmt.Fprintf(out, "%s: %s %s subs=%d rate=%g: %s\n", mark, r.Target, r.label(), r.Subs, r.Rate, n)
		}
	}
}

// legend says what the rows' names mean where a name alone could mislead:
// which SSE and long-poll row is which (writerLegend), and that a mixed
// scenario's rows share one server, so its CPU and memory figures are the
// whole server's.
func legend(results []Result) []string {
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
		out = append(out, fmt.Sprintf("mixed scenario %s: the subscribers of each of its transports (subs is per transport) on one server at once, to one publisher; a row \"X in %s\" is X's subscribers, and its server CPU µs/msg is the whole server's CPU over the window divided by every delivery of the scenario (all its rows), KiB/conn the server's memory over all its connections: the same figures on each of its rows", m, m))
	}
	return out
}

// writeClassic prints the 2010 table next to the one from measured bytes.
func writeClassic(out io.Writer, results []Result) {
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "one message per second per client\toverhead B/msg\t1,000 clients Mbps\t10,000\t100,000\t")
	for _, c := range classic2010 {
		fmt.Fprintf(tw, "%s\t%g\t%g\t%g\t%g\t\n", c.name, c.bytes, c.mbps[0], c.mbps[1], c.mbps[2])
	}
	for _, r := range classicRows(results) {
		o := r.classicOverhead()
		fmt.Fprintf(tw, "%s %s (measured)\t%s\t%s\t%s\t%s\t\n", r.Target, r.label(), f1(o),
			f3(mbps(classicClients[0], o)), f3(mbps(classicClients[1], o)), f3(mbps(classicClients[2], o)))
	}
	tw.Flush()
}

// classicRows picks one result per target and transport: the one with the
// fewest subscribers (bytes per message do not depend on the count; the
// smallest run is the least disturbed).
func classicRows(results []Result) []Result {
	var out []Result
	idx := map[string]int{}
	for _, r := range results {
		k := r.Target + "/" + r.label()
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

var csvHeader = []string{"target", "transport", "subscribers", "rate", "payload_bytes", "poll_interval", "warmup", "duration",
	"published", "publish_errors", "expected", "delivered", "lost", "duplicated", "reconnects", "errors",
	"lat_count", "lat_mean_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms",
	"down_per_msg", "up_per_msg", "payload_per_msg", "overhead_per_msg", "requests_per_msg", "handshake_down", "handshake_up",
	"exchange_overhead", "empty_exchange", "classic_overhead",
	"bench_cpu_seconds", "other_cpu_seconds", "cpu_seconds", "cpu_us_per_delivery", "rss_before_mib", "rss_idle_mib", "rss_end_mib", "mem_per_conn_kib",
	"mixed", "source_addrs", "proto", "negotiated", "req_header_first", "req_header_later", "req_header_n",
	"server_headers_per_msg", "server_frame_headers_per_msg", "server_framing_per_msg", "server_heartbeats_per_msg"}

func writeCSV(out io.Writer, results []Result) error {
	w := csv.NewWriter(out)
	_ = w.Write(csvHeader)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, r := range results {
		row := []string{r.Target, r.Transport, strconv.Itoa(r.Subs), g(r.Rate), strconv.Itoa(r.Payload), r.PollInterval.String(), r.Warmup.String(), r.Duration.String(),
			strconv.FormatInt(r.Published, 10), strconv.FormatInt(r.PublishErrors, 10), strconv.FormatInt(r.Expected, 10), strconv.FormatInt(r.Delivered, 10),
			strconv.FormatInt(r.Lost, 10), strconv.FormatInt(r.Duplicated, 10), strconv.Itoa(r.Reconnects), strconv.Itoa(r.Errors),
			strconv.FormatInt(r.Latency.Count, 10), g(r.Latency.Mean), g(r.Latency.P50), g(r.Latency.P90), g(r.Latency.P99), g(r.Latency.P999), g(r.Latency.Max),
			g(r.Wire.DownPerMsg), g(r.Wire.UpPerMsg), g(r.Wire.PayloadPerMsg), g(r.Wire.OverheadPerMsg), g(r.Wire.RequestsPerMsg), g(r.Wire.HandshakeDown), g(r.Wire.HandshakeUp),
			g(r.Wire.ExchangeOverhead), g(r.Wire.EmptyExchange), g(r.classicOverhead()), g(r.BenchCPUSeconds), g(r.OtherCPUSeconds)}
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
		_ = w.Write(row)
	}
	w.Flush()
	return w.Error()
}
