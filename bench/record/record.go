// Package record holds what a bench run records: each row's Result, and
// the Report a run writes as report.json, with the machine it ran on, the
// speed targets checked and JetStream's publish-to-ack latency. It is
// what the report package reads, and load writes.
//
//	faults.go  what a row met of a fault: a silent link (Outage), every connection cut at once (Storm)
//	record.go  Report and Result, and their parts
package record

import (
	"math"
	"time"

	"fourway/bench/plan"
)

// Report is everything one bench run produced.
type Report struct {
	Command  string      `json:"command"`
	Started  time.Time   `json:"started"`
	Seconds  float64     `json:"seconds"`
	Machine  Machine     `json:"machine"`
	Config   plan.Config `json:"config"`
	Results  []Result    `json:"results"`
	Versions []string    `json:"versions,omitempty"`
	Targets  []Target    `json:"targets,omitempty"`
	// Acks is JetStream's publish-to-ack latency on the -cluster's NATS
	// servers, R1 and R3.
	Acks []AckLatency `json:"jetstream_acks,omitempty"`
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryMiB int64  `json:"memory_mib"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel"`
}

// Result is what one scenario measured.
type Result struct {
	plan.Scenario
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
	// LostWithServer is expected but never received because the server
	// that acknowledged it was killed first (-storm restart), its
	// in-memory feed with it; not in Lost, which must be 0 whatever the
	// storm.
	LostWithServer int64 `json:"lost_with_server,omitempty"`
	// Epoch is the feed epoch fourway named to the subscribers (the id
	// sequence their cursors belong to); empty for Nchan.
	Epoch string `json:"epoch,omitempty"`
	// Negotiated is what the subscribers' answers came over, as the
	// client saw it (resp.Proto, and TLS or not): "HTTP/2.0 over TLS"
	// for an h2 poll, "HTTP/1.1 over TLS" for its WebSocket. Every
	// answer was checked against Proto; one that was not what the row
	// asks ends the scenario.
	Negotiated string `json:"negotiated,omitempty"`
	// Compression is, on a row whose subscribers offered compression
	// (-compress), what the answers that carried messages came in: the
	// WebSocket's Sec-WebSocket-Extensions answer
	// ("permessage-deflate; server_no_context_takeover; ..."), an HTTP
	// answer's Content-Encoding ("gzip"), or "none"; several, each with
	// its share, when they differed ("gzip 90 %, none 10 %").
	Compression string `json:"compression,omitempty"`

	// SilentLink is what the row's subscribers met of an -outage, and
	// ReconnectStorm of a -storm; nil without. SilentLinks are the
	// silences of a link that goes silent by itself (train), each in
	// the window, in order; SilentLink is then the first.
	SilentLink     *Outage  `json:"silent_link,omitempty"`
	SilentLinks    []Outage `json:"silent_links,omitempty"`
	ReconnectStorm *Storm   `json:"reconnect_storm,omitempty"`

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
	// Bounds holds, for each percentile the window has enough samples
	// for ("p50", "p90", "p99", "p99_9"), the latencies between which it
	// lies with 95 % confidence, were the samples independent: the
	// values at the ranks n·q ± 1.96·√(n·q·(1−q)) of the n samples. The
	// report prints a percentile to the digits this range supports.
	Bounds map[string][2]float64 `json:"bounds_95_ms,omitempty"`
}

// Percentiles are the percentiles a Latency holds: name, JSON key, and q.
var Percentiles = []struct {
	Name, Key string
	Q         float64
}{{"p50", "p50", 0.50}, {"p90", "p90", 0.90}, {"p99", "p99", 0.99}, {"p99.9", "p99_9", 0.999}}

// SamplesBeyond is how many samples a window must hold beyond a
// percentile for the percentile to be printed: with ten, the tail that
// places it is ten latencies, not one or two chance ones.
const SamplesBeyond = 10

// MinSamples is how many samples a window needs for percentile q (0.99
// for p99) to be printed: SamplesBeyond above it, SamplesBeyond/(1−q).
// p50 needs 20, p90 100, p99 1,000 and p99.9 10,000.
func MinSamples(q float64) int64 { return int64(math.Round(SamplesBeyond / (1 - q))) }

// Enough reports whether the window holds enough samples for percentile q.
func (l Latency) Enough(q float64) bool { return l.Count >= MinSamples(q) }

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
	// DecodedPerMsg is, with -compress, what the bodies and messages read
	// decode to, per message: an HTTP answer's body after gzip (SSE's
	// event lines, a poll's page), a WebSocket message after inflating.
	// Beside DownPerMsg it says what compression saved; it does not count
	// headers and framing, which travel as they are.
	DecodedPerMsg float64 `json:"decoded_per_msg,omitempty"`
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

// NotMeasuredExternal is what the report says of the CPU and memory of a
// server the bench did not start (-url) and was given no -pids for.
const NotMeasuredExternal = "not measured (external)"

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
	// CPUErrorSeconds is the most CPUSeconds can be off by the clock it
	// is read from: /proc counts CPU in ticks of 10 ms (USER_HZ 100), its
	// user and system time each cut to whole ticks, so a difference of two
	// readings is off by under two ticks per process read (CPUError).
	CPUErrorSeconds float64 `json:"cpu_error_seconds,omitempty"`
}

// ClockTick is the unit /proc counts a process's CPU time in: USER_HZ,
// 100 a second on every Linux architecture Go supports.
const ClockTick = 10 * time.Millisecond

// CPUError is the most a process's CPU seconds over a window, read from
// /proc at both ends, can be off: user and system time are each cut to
// whole ticks at each reading, so each differs from the truth by under one
// tick, and their sum by under two; procs processes summed, procs times that.
func CPUError(procs int) float64 { return 2 * float64(procs) * ClockTick.Seconds() }

// MaxCPUError is the largest share of the window's CPU seconds that the
// clock's error may be for the CPU per delivery to be read without a
// warning: at 10 %, one process needs 0.2 s of CPU in the window.
const MaxCPUError = 0.10

// CPUErr is the cost's CPUErrorSeconds, or, for a report written before it
// was recorded, the error of the processes its row names (one if none).
func (r *Result) CPUErr() float64 {
	if r.Server != nil && r.Server.CPUErrorSeconds > 0 {
		return r.Server.CPUErrorSeconds
	}
	return CPUError(max(1, len(r.Procs)))
}

// CPUTooShort reports whether the row's server CPU seconds are too few for
// the clock: under CPUErr/MaxCPUError.
func (r *Result) CPUTooShort() bool {
	return r.Server != nil && r.Server.CPUSeconds < r.CPUErr()/MaxCPUError
}

// DeliveryOK is the check every result must pass.
func (r *Result) DeliveryOK() bool { return r.Lost == 0 && r.Duplicated == 0 && r.Published > 0 }

// Target is one speed target checked against one result (or pair).
type Target struct {
	What string `json:"what"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// AckLatency is JetStream's publish-to-ack latency for one replica count:
// the round trip of a JetStream publish from the bench's own Go client
// (nats.go, one publish at a time, waiting for each ack) to the cluster.
type AckLatency struct {
	Replicas  int     `json:"replicas"`
	Publishes int     `json:"publishes"`
	Payload   int     `json:"payload_bytes"`
	Leader    string  `json:"leader"`    // the NATS server leading the stream
	Connected string  `json:"connected"` // the NATS server the client was connected to
	Latency   Latency `json:"latency_ms"`
	What      string  `json:"what"`
}
