package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultNginx is Debian's nginx, -nginx's default.
const DefaultNginx = "/usr/sbin/nginx"

// NchanModule is where Debian's libnginx-mod-nchan puts the module.
const NchanModule = "/usr/lib/nginx/modules/ngx_nchan_module.so"

// Config is the bench's whole configuration, as the report records it.
type Config struct {
	Render     string    `json:"-"` // a report.json to render again instead of measuring
	URL        string    `json:"url,omitempty"`
	Targets    []string  `json:"targets"`
	Transports []string  `json:"transports"`
	Protos     []string  `json:"protos,omitempty"` // -proto: h1, h1tls, h2, h2c
	Subs       []int     `json:"subscribers"`
	Rates      []float64 `json:"rates"`
	Payloads   []int     `json:"payloads"`
	// PayloadKinds are the payload kinds -payload names (PayloadKinds),
	// measured after the sizes of Payloads.
	PayloadKinds []string `json:"payload_kinds,omitempty"`
	// Compress is -compress: whether the subscribers offer compression,
	// one row each way when it holds both; empty is off.
	Compress      CompressModes `json:"compress,omitempty"`
	PollInterval  Duration      `json:"poll_interval"`
	Warmup        Duration      `json:"warmup"`
	Duration      Duration      `json:"duration"`
	Stagger       Duration      `json:"stagger"`
	Publishers    int           `json:"publishers"`
	Plan          []PlanItem    `json:"plan,omitempty"`
	ClientHeaders string        `json:"client_headers"`
	History       int           `json:"history"`
	Nginx         string        `json:"nginx"`
	// Fourway is -fourway: the fourway binary to run as the server; ""
	// builds one from the module, once per run.
	Fourway       string `json:"-"`
	Out           string `json:"out"`
	ServerProfile string `json:"server_profile,omitempty"`
	SelfProfile   string `json:"cpuprofile,omitempty"`
	ServerProcs   int    `json:"server_gomaxprocs,omitempty"`
	// SourceAddrs is -source-addrs: loopback addresses the subscribers
	// dial from; -1 chooses by the number of subscribers.
	SourceAddrs int `json:"source_addrs"`
	// PIDs are -pids: the processes of the -url server, whose CPU and
	// memory the report shows (each, and summed).
	PIDs []int `json:"pids,omitempty"`
	// Cluster is -cluster: each scenario on the three setups of
	// ClusterSetups in turn, on a NATS cluster and nginx the bench starts.
	Cluster    bool     `json:"cluster,omitempty"`
	Setups     []string `json:"setups,omitempty"` // -setups: which of ClusterSetups, in that order
	NatsServer string   `json:"nats_server,omitempty"`
	// Acks is -acks: JetStream publishes measured for the publish-to-ack
	// latency, per replica count (R1 and R3), with -cluster.
	Acks int `json:"acks,omitempty"`
	// Rounds is -rounds: every scenario measured that many times, the
	// whole list once a round, so that the report shows the spread
	// between runs.
	Rounds int `json:"rounds,omitempty"`
	// Page is, with -page, where the report.json is also written as the
	// page's built-in figures (public/bench-report.json); "" without.
	Page string `json:"-"`
	// Links are -link or -links: every scenario runs once through each of
	// these emulated links (package transports/links), its subscribers
	// reaching the server through it, its publisher not.
	Links []string `json:"links,omitempty"`
	// Outage, Storm and Herd are faults in the window (see faults.go):
	// the link silent for Outage; every connection cut at once, "cut" (the
	// server drops them) or "restart" (its process killed and started
	// again); every client retrying without the page's jitter.
	Outage Duration `json:"outage,omitempty"`
	Storm  string   `json:"storm,omitempty"`
	Herd   bool     `json:"herd,omitempty"`
}

// PagePlan is what -page measures unless told otherwise: the rows the
// page's verdict reads, at the loads of fourway's speed targets, against
// nginx + Nchan, with a window of PageDuration after connects spread over
// PageStagger.
const (
	PagePlan     = "ws,sse,sse-direct:1000:100;longpoll:1000:10;poll:1000:10"
	PageTargets  = "fourway,nchan"
	PageDuration = 5 * time.Second
	PageStagger  = 2 * time.Second
)

// PlanItem is one entry of -plan: transports measured with the same
// subscribers, rate and payload. An entry of Transports may be a mixed
// scenario, "ws+sse": those transports served at once by one server.
type PlanItem struct {
	Transports []string `json:"transports"`
	Subs       int      `json:"subscribers"`
	Rate       float64  `json:"rate"`
	Payload    int      `json:"payload_bytes"`
	// PayloadKind is the payload kind named instead of a size, whose size
	// Payload then is; "" for padded data.
	PayloadKind string `json:"payload_kind,omitempty"`
}

// CompressModes is -compress: false (off, the default), true (on:
// -compress alone), or both, "off,on": every row measured without
// compression, then with it, side by side in one run.
type CompressModes []bool

// IsBoolFlag lets -compress stand alone, meaning on.
func (m *CompressModes) IsBoolFlag() bool { return true }

// String writes the modes as Set reads them: "off", "on", "off,on".
func (m *CompressModes) String() string {
	if m == nil || len(*m) == 0 {
		return "off"
	}
	words := make([]string, len(*m))
	for i, on := range *m {
		words[i] = map[bool]string{false: "off", true: "on"}[on]
	}
	return strings.Join(words, ",")
}

// Set reads "on", "off" (or true and false, as for a boolean flag), or
// both, comma-separated, each once.
func (m *CompressModes) Set(s string) error {
	var modes CompressModes
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		on, err := w == "on", error(nil)
		if w != "on" && w != "off" {
			if on, err = strconv.ParseBool(w); err != nil {
				return fmt.Errorf("%q is not on or off", w)
			}
		}
		if slices.Contains(modes, on) {
			return fmt.Errorf("%q says %s twice", s, w)
		}
		modes = append(modes, on)
	}
	if len(modes) == 0 {
		return fmt.Errorf("%q says neither on nor off", s)
	}
	*m = modes
	return nil
}

// Duration prints as Go does ("500ms") in JSON.
type Duration time.Duration

// MarshalText writes d as Go does: "500ms".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText reads d as time.ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}
