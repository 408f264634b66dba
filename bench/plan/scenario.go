package plan

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Scenario is one measured run: one target, one transport, or, when Mixed
// is set, several transports at once on one server.
type Scenario struct {
	Target    string `json:"target"`
	Transport string `json:"transport"`
	// Proto is what the row runs over (-proto): h1, h1tls, h2 or h2c;
	// empty in a report from before -proto, which was h1.
	Proto string `json:"proto,omitempty"`
	// Mixed is the mixed scenario this row is part of ("ws+sse"): its
	// transports were served at once by one server, to one publisher, Subs
	// subscribers each. The server's CPU and memory are the whole server's,
	// shared by the scenario's rows. Empty for a scenario of one transport.
	Mixed   string  `json:"mixed,omitempty"`
	Subs    int     `json:"subscribers"`   // of Transport
	Rate    float64 `json:"rate"`          // messages per second
	Payload int     `json:"payload_bytes"` // bytes of the publisher's data
	// PayloadKind is the kind of the publisher's data (PayloadKinds), or
	// "" for data padded to Payload bytes.
	PayloadKind string `json:"payload_kind,omitempty"`
	// Compress is whether the subscribers offer compression as a browser
	// does: permessage-deflate on a WebSocket, Accept-Encoding: gzip on
	// every HTTP request. What the server answered is in the row's
	// result.
	Compress     bool     `json:"compress,omitempty"`
	PollInterval Duration `json:"poll_interval"`
	Warmup       Duration `json:"warmup"`
	Duration     Duration `json:"duration"`
	Stagger      Duration `json:"stagger"` // subscribers' connects spread over it
	Publishers   int      `json:"publishers"`
	// SourceAddrs is how many loopback source addresses the subscribers
	// dial from (127.0.0.2, 127.0.0.3, ...), so that the ephemeral port
	// range does not bound the subscribers; 0 leaves it to the kernel
	// (127.0.0.1).
	SourceAddrs int `json:"source_addrs,omitempty"`
	// Setup is the -cluster setup the row ran on: "memory" (one node, the
	// in-memory feed), "jetstream" (one node on the R3 stream) or
	// "cluster" (two nodes on it behind nginx); empty outside -cluster.
	Setup string `json:"setup,omitempty"`
	// Link is the emulated link (-links) the subscribers reach the server
	// through, the publisher not; empty for none, straight to the server.
	Link string `json:"link,omitempty"`
	// Outage is -outage: the link goes silent this long at the window's
	// start; Storm is -storm: every connection cut there ("cut",
	// "restart"); Herd is -herd: the clients retry without the page's
	// jitter.
	Outage Duration `json:"outage,omitempty"`
	Storm  string   `json:"storm,omitempty"`
	Herd   bool     `json:"herd,omitempty"`
}

// Transports are the transports the scenario's subscribers use.
func (sc Scenario) Transports() []string {
	if sc.Mixed != "" {
		return strings.Split(sc.Mixed, "+")
	}
	return []string{sc.Transport}
}

// Name is the scenario's transport as a reader sees it: "ws", or "ws+sse"
// for a mixed scenario.
func (sc Scenario) Name() string {
	if sc.Mixed != "" {
		return sc.Mixed
	}
	return sc.Transport
}

// Label is a row's transport as a reader sees it: "ws", or "ws in ws+sse"
// for a row of a mixed scenario.
//
// Its protocol follows in brackets: "ws [h2]"; its link after "via".
func (sc Scenario) Label() string { return sc.label(true) }

// LabelBesideLink is Label without the link, for a table that gives the
// link a column of its own.
func (sc Scenario) LabelBesideLink() string { return sc.label(false) }

func (sc Scenario) label(withLink bool) string {
	l := sc.Transport
	if sc.Mixed != "" {
		l = sc.Transport + " in " + sc.Mixed
	}
	if sc.Proto != "" {
		l += " [" + sc.Proto + "]"
	}
	if sc.Setup != "" {
		l += " / " + sc.Setup
	}
	if sc.Link != "" && withLink {
		l += " via " + sc.Link
	}
	if sc.Compress {
		l += " compressed"
	}
	return l
}

// PayloadName is the row's payload as -payload names it: its kind, or
// its size in bytes.
func (sc Scenario) PayloadName() string {
	if sc.PayloadKind != "" {
		return sc.PayloadKind
	}
	return strconv.Itoa(sc.Payload)
}

// TotalSubs is every subscriber the scenario connects, all transports.
func (sc Scenario) TotalSubs() int { return sc.Subs * len(sc.Transports()) }

// Scenarios lists the scenarios the configuration asks for, in the
// order they run: -plan's, or the sweep of -payload × -rate × -subs ×
// -transports, each for every target and every -proto. "ws,sse" is two scenarios, each on
// a server of its own; "ws+sse" is one mixed scenario.
func Scenarios(cfg Config) []Scenario {
	var scenarios []Scenario
	seen := map[Scenario]bool{}
	protos := cfg.Protos
	if len(protos) == 0 {
		protos = []string{"h1"} // a report from before -proto
	}
	compress := cfg.Compress
	if len(compress) == 0 {
		compress = CompressModes{false}
	}
	add := func(tr string, subs int, rate float64, pl payloadSpec) {
		for _, tg := range cfg.Targets {
			for _, proto := range protos {
				if !directServes(tr, proto) {
					continue // the default transports: see checkDirectProtos
				}
				for _, on := range compress {
					sc := Scenario{Target: tg, Transport: tr, Proto: proto, Subs: subs, Rate: rate, Payload: pl.bytes, PayloadKind: pl.kind, Compress: on,
						PollInterval: cfg.PollInterval, Warmup: cfg.Warmup, Duration: cfg.Duration, Stagger: cfg.Stagger, Publishers: cfg.Publishers,
						Outage: cfg.Outage, Storm: cfg.Storm, Herd: cfg.Herd}
					for _, v := range variants(cfg, sc) {
						if !seen[v] {
							seen[v] = true
							scenarios = append(scenarios, v)
						}
					}
				}
			}
		}
	}
	for _, p := range cfg.Plan {
		for _, tr := range p.Transports {
			add(tr, p.Subs, p.Rate, payloadSpec{p.Payload, p.PayloadKind})
		}
	}
	if cfg.Plan != nil {
		return scenarios
	}
	for _, pl := range sweptPayloads(cfg) {
		for _, rate := range cfg.Rates {
			for _, subs := range cfg.Subs {
				for _, tr := range cfg.Transports {
					add(tr, subs, rate, pl)
				}
			}
		}
	}
	return scenarios
}

// payloadSpec is a row's payload: its size in bytes, and its kind when
// -payload named one (json4k), "" for a size alone.
type payloadSpec struct {
	bytes int
	kind  string
}

// sweptPayloads are -payload's sizes, then its kinds.
func sweptPayloads(cfg Config) []payloadSpec {
	var payloads []payloadSpec
	for _, n := range cfg.Payloads {
		payloads = append(payloads, payloadSpec{n, ""})
	}
	for _, name := range cfg.PayloadKinds {
		if k := PayloadKindOf(name); k != nil {
			payloads = append(payloads, payloadSpec{k.Bytes, k.Name})
		}
	}
	return payloads
}

// variants is sc as it runs: Nchan's own transport for Nchan (it has one
// SSE writer and one long poll: its sse row is what both of fourway's SSE
// rows are compared with, its longpoll both long-poll rows, measured
// once), a mixed scenario as such, its source addresses, then on each
// -cluster setup and through each -link in turn.
func variants(cfg Config, sc Scenario) []Scenario {
	if sc.Target == "nchan" {
		sc.Transport = NchanTransport(sc.Transport)
	}
	if mixedParts(sc.Transport) != nil {
		sc.Mixed, sc.Transport = sc.Transport, ""
	}
	sc.SourceAddrs = sourceAddrsFor(cfg, sc)
	setups := []string{""}
	if cfg.Cluster {
		setups = cfg.Setups // in turn, one transport on each
	}
	through := []string{""}
	if len(cfg.Links) > 0 {
		through = cfg.Links // in turn, one transport through each
	}
	var out []Scenario
	for _, setup := range setups {
		for _, link := range through {
			sc.Setup, sc.Link = setup, link
			out = append(out, sc)
		}
	}
	return out
}

// SubsPerSourceAddr is how many subscribers of a scenario each automatic
// source address carries: well inside the ephemeral port range (28,232
// ports by Linux's default), leaving room for sockets of earlier runs in
// TIME_WAIT.
const SubsPerSourceAddr = 5000

// MaxSourceAddrs is how many loopback source addresses the subscribers
// may dial from: 127.0.0.2 to 127.0.0.251.
const MaxSourceAddrs = 250

// sourceAddrsFor is how many source addresses a scenario's subscribers
// dial from: -source-addrs, or by default one per SubsPerSourceAddr
// subscribers once there are more than that, when the server is on
// loopback.
func sourceAddrsFor(cfg Config, sc Scenario) int {
	if cfg.SourceAddrs >= 0 {
		return cfg.SourceAddrs
	}
	if cfg.URL != "" && !loopbackURL(cfg.URL) {
		return 0
	}
	n := (sc.TotalSubs() + SubsPerSourceAddr - 1) / SubsPerSourceAddr
	if n < 2 {
		return 0
	}
	return min(n, MaxSourceAddrs)
}

// loopbackURL reports whether u names a server on a loopback IP address.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

// FileMargin is the open files a process needs beside its connections:
// binaries, pipes, /proc reads, the listener, the publishers' sockets.
const FileMargin = 256

// FilesNeeded is the open files one end of a scenario needs, the bench's
// or the server's: a socket per subscriber and per publishing connection,
// and the margin.
func FilesNeeded(sc Scenario) uint64 {
	return uint64(sc.TotalSubs()+sc.Publishers) + FileMargin
}

// WriterFor is the row's flag for a scenario: "direct" when it measures
// the row, else the default.
func (w WriterRow) WriterFor(sc Scenario) string {
	if slices.Contains(sc.Transports(), w.Name) {
		return DirectWriter
	}
	return w.Usual
}
