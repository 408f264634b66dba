// Command bench measures what each of fourway's four transports costs: the
// latency from publish to receipt, the bytes and requests on the wire per
// message, and the server's CPU and memory, under the same open-loop load,
// and optionally the same for nginx + Nchan.
//
//	go run ./bench                       # fourway, default scenario, all four transports
//	go run ./bench -subs 10,100,1000 -rate 100 -transports ws,sse
//	go run ./bench -target fourway,nchan # both servers in one report
//	go run ./bench -url http://127.0.0.1:8080   # a fourway already running
//
// How it measures, and why that way:
//   - The publisher is open loop: message i is due at start + i/rate and
//     carries that intended time; latency is receipt minus intended time on
//     this process's monotonic clock. A server that slows down shows up as
//     latency, not as a publisher that quietly sends less (no coordinated
//     omission).
//   - S subscribers per transport connect staggered; short pollers poll on
//     a timetable with phases spread over the interval. A warm-up precedes
//     the measured window; latency is recorded in an HdrHistogram.
//   - Every subscriber is checked against every acknowledged message: lost
//     and duplicated must both be 0.
//   - Bytes are counted on the subscribers' own sockets (a counting
//     net.Conn under http.Transport and websocket.Dialer), headers,
//     framing and handshakes included; handshakes are reported apart.
//   - The server runs as a separate process (the fourway binary, built
//     once per run, or nginx), started fresh for every transport, so its
//     CPU seconds and resident memory come from /proc without the load
//     generator's.
package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Config is the bench's whole configuration, as the report records it.
type Config struct {
	Render        string     `json:"-"` // a report.json to render again instead of measuring
	URL           string     `json:"url,omitempty"`
	Targets       []string   `json:"targets"`
	Transports    []string   `json:"transports"`
	Protos        []string   `json:"protos,omitempty"` // -proto: h1, h1tls, h2, h2c
	Subs          []int      `json:"subscribers"`
	Rates         []float64  `json:"rates"`
	Payloads      []int      `json:"payloads"`
	PollInterval  Duration   `json:"poll_interval"`
	Warmup        Duration   `json:"warmup"`
	Duration      Duration   `json:"duration"`
	Stagger       Duration   `json:"stagger"`
	Publishers    int        `json:"publishers"`
	Plan          []PlanItem `json:"plan,omitempty"`
	ClientHeaders string     `json:"client_headers"`
	History       int        `json:"history"`
	Nginx         string     `json:"nginx"`
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
	// clusterSetups in turn, on a NATS cluster and nginx the bench starts.
	Cluster    bool     `json:"cluster,omitempty"`
	Setups     []string `json:"setups,omitempty"` // -setups: which of clusterSetups, in that order
	NatsServer string   `json:"nats_server,omitempty"`
	// Acks is -acks: JetStream publishes measured for the publish-to-ack
	// latency, per replica count (R1 and R3), with -cluster.
	Acks int `json:"acks,omitempty"`
}

// Report is everything one bench run produced.
type Report struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Machine  Machine   `json:"machine"`
	Config   Config    `json:"config"`
	Results  []Result  `json:"results"`
	Versions []string  `json:"versions,omitempty"`
	Targets  []Target  `json:"targets,omitempty"`
	// Acks is JetStream's publish-to-ack latency on the -cluster's NATS
	// servers, R1 and R3.
	Acks []AckLatency `json:"jetstream_acks,omitempty"`
}

// PlanItem is one entry of -plan: transports measured with the same
// subscribers, rate and payload. An entry of Transports may be a mixed
// scenario, "ws+sse": those transports served at once by one server.
type PlanItem struct {
	Transports []string `json:"transports"`
	Subs       int      `json:"subscribers"`
	Rate       float64  `json:"rate"`
	Payload    int      `json:"payload_bytes"`
}

// parsePlan reads "ws,sse:1000:100;ws+sse:1000:100;longpoll:1000:10[:payload]".
// A comma separates scenarios of their own, each on a fresh server; a plus
// joins transports into one mixed scenario on one server.
func parsePlan(s string, payload int) ([]PlanItem, error) {
	var plan []PlanItem
	for _, item := range strings.Split(s, ";") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		f := strings.Split(item, ":")
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("-plan: %q is not transports:subs:rate[:payload]", item)
		}
		p := PlanItem{Transports: splitList(f[0]), Payload: payload}
		var err error
		if p.Subs, err = strconv.Atoi(f[1]); err != nil || p.Subs < 1 {
			return nil, fmt.Errorf("-plan: %q: subscribers must be a positive whole number", item)
		}
		if p.Rate, err = strconv.ParseFloat(f[2], 64); err != nil || p.Rate <= 0 {
			return nil, fmt.Errorf("-plan: %q: rate must be a positive number", item)
		}
		if len(f) == 4 {
			if p.Payload, err = strconv.Atoi(f[3]); err != nil || p.Payload < 1 {
				return nil, fmt.Errorf("-plan: %q: payload must be a positive whole number", item)
			}
		}
		if len(p.Transports) == 0 {
			return nil, fmt.Errorf("-plan: %q names no transport", item)
		}
		for _, t := range p.Transports {
			if err := checkTransport(t); err != nil {
				return nil, fmt.Errorf("-plan: %w", err)
			}
		}
		plan = append(plan, p)
	}
	return plan, nil
}

// allTransports are the four transports of the wire contract.
var allTransports = []string{"poll", "longpoll", "sse", "ws"}

// knownTransports are the names -transports and -plan take, and what the
// bench measures by default: the four, and beside their base transport
// the writer rows (writers.go): longpoll-direct, the long poll served by
// fourway's own HTTP/1.1 path (--longpoll-writer direct) instead of
// net/http's request cycle, and sse-direct, SSE served by fourway's own
// writer (--sse-writer direct) instead of the r3labs/sse library, so that
// a reader sees the protocol's cost and the library's apart. With -url,
// the default is the four: the running server has one writer of each.
var knownTransports = []string{"poll", "longpoll", "longpoll-direct", "sse", "sse-direct", "ws"}

// transportTitle is what a transport's row measures, for a reader choosing
// between them: the writer rows and their bases.
func transportTitle(tr string) string {
	for _, w := range writerRows {
		switch tr {
		case w.name:
			return w.title
		case w.base:
			return w.baseTitle
		}
	}
	return ""
}

// checkTransport accepts a transport name, or a mixed scenario of two or
// more different ones joined by "+" ("ws+sse").
func checkTransport(t string) error {
	parts := strings.Split(t, "+")
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("%q: a mixed scenario joins transport names with +, and one is empty", t)
		}
		if !contains(knownTransports, p) {
			return fmt.Errorf("%q is not one of %s (or several of them joined by +)", p, strings.Join(knownTransports, ", "))
		}
		if contains(parts[:i], p) {
			return fmt.Errorf("%q names %s twice: a mixed scenario has one group of subscribers per transport", t, p)
		}
	}
	return checkWriterPair(t, parts)
}

// mixedParts returns the transports of a mixed scenario ("ws+sse"), or
// nil for a single transport.
func mixedParts(t string) []string {
	if !strings.Contains(t, "+") {
		return nil
	}
	return strings.Split(t, "+")
}

func parseFlags(args []string, stderr io.Writer) (Config, bool, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	url := fs.String("url", "", "measure the fourway server at this base URL instead of starting one, such as nginx in front of several nodes (server CPU/memory: not measured, unless -pids)")
	pids := fs.String("pids", "", "with -url: the server's process ids, comma-separated (every node, nginx, nats-server...): their CPU per delivery from /proc, each and summed")
	cluster := fs.Bool("cluster", false, "start a 3-node NATS JetStream cluster (nats-server) and measure each transport on one node in memory, one node on JetStream (R3), and two nodes on JetStream behind nginx (deploy/nginx.conf), in turn")
	natsServer := fs.String("nats-server", findNatsServer(), "nats-server binary for -cluster")
	setups := fs.String("setups", strings.Join(clusterSetups, ","), "with -cluster: the setups each transport is measured on, in turn: memory (one node, in-memory feed), jetstream (one node on the R3 stream), cluster (two nodes on it behind nginx)")
	acks := fs.Int("acks", 2000, "with -cluster: JetStream publishes measured one at a time for the publish-to-ack latency, for R1 and for R3 (0: none)")
	targets := fs.String("target", "fourway", "servers to measure: fourway, nchan, or fourway,nchan")
	transports := fs.String("transports", strings.Join(knownTransports, ","), `transports to measure; "ws+sse" is one mixed scenario, both on one server at once`)
	protos := fs.String("proto", "h1", "protocols to measure each transport over: h1 (HTTP/1.1), h1tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS; WebSocket on HTTP/1.1 over TLS), h2c (cleartext HTTP/2; WebSocket on HTTP/1.1); a list, h1,h2")
	subs := fs.String("subs", "50", "subscribers per transport; a list sweeps (10,100,1000)")
	rates := fs.String("rate", "20", "messages per second; a list sweeps")
	payloads := fs.String("payload", "100", "bytes of each published message's data; a list sweeps")
	pollInterval := fs.Duration("poll-interval", 500*time.Millisecond, "short polling interval")
	warmup := fs.Duration("warmup", time.Second, "publishing before the measured window")
	duration := fs.Duration("duration", 4*time.Second, "measured window")
	stagger := fs.Duration("stagger", 500*time.Millisecond, "subscribers' connects are spread over this")
	publishers := fs.Int("publishers", 4, "concurrent publishing connections")
	headers := fs.String("client-headers", "go", `request headers subscribers send: "go" (Go's minimal client) or "browser" (a typical browser's, some 500 bytes)`)
	history := fs.Int("history", 1000, "fourway's --history (messages the feed retains)")
	nginx := fs.String("nginx", defaultNginx, "nginx binary for -target nchan")
	fourwayBin := fs.String("fourway", "", "the fourway binary to measure (default: built from the module in the working directory, once per run, with go build)")
	out := fs.String("out", filepath.Join(os.TempDir(), "fourway-bench"), "directory for report.json, report.csv, report.html, report.md and the charts")
	plan := fs.String("plan", "", `scenarios instead of the -transports × -subs × -rate sweep: "ws,sse:1000:100;longpoll:1000:10" (transports:subs:rate[:payload])`)
	serverProcs := fs.Int("server-procs", 0, "GOMAXPROCS of the fourway server child (0: Go's default, every core); 1 matches nginx's one worker")
	selfProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	serverProfile := fs.String("server-profile", "", "directory where each fourway server child writes a CPU profile (go tool pprof)")
	sourceAddrs := fs.Int("source-addrs", -1, fmt.Sprintf("loopback source addresses the subscribers dial from, 127.0.0.2 and on, so the ephemeral port range does not bound them; -1: one per %d subscribers of a scenario, none (127.0.0.1) below that; 0: none", subsPerSourceAddr))
	render := fs.String("render", "", "measure nothing: write the report (and print the table) again from this report.json, into -out")
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c = Config{Render: *render, URL: *url, PollInterval: Duration(*pollInterval), Warmup: Duration(*warmup), Duration: Duration(*duration),
		Stagger: Duration(*stagger), Publishers: *publishers, ClientHeaders: *headers, History: *history, Nginx: *nginx, Fourway: *fourwayBin, Out: *out, ServerProfile: *serverProfile, SelfProfile: *selfProfile, ServerProcs: *serverProcs,
		SourceAddrs: *sourceAddrs, Cluster: *cluster, NatsServer: *natsServer, Acks: *acks}
	if c.URL != "" {
		if err := checkURL(c.URL); err != nil {
			return c, false, err
		}
	}
	if c.Fourway != "" {
		if c.URL != "" {
			return c, false, errors.New("-fourway names the server the bench starts, and with -url it starts none")
		}
		if st, err := os.Stat(c.Fourway); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return c, false, fmt.Errorf("-fourway %q: not an executable file (%v)", c.Fourway, err)
		}
	}
	if *pids != "" {
		if c.URL == "" {
			return c, false, errors.New("-pids: only with -url (the bench reads the CPU of the servers it starts itself)")
		}
		var err error
		if c.PIDs, err = parsePIDs(*pids); err != nil {
			return c, false, err
		}
	}
	if c.Cluster {
		for _, s := range splitList(*setups) {
			if !contains(clusterSetups, s) {
				return c, false, fmt.Errorf("-setups: %q is not one of %s", s, strings.Join(clusterSetups, ", "))
			}
			if contains(c.Setups, s) {
				return c, false, fmt.Errorf("-setups: %s named twice", s)
			}
			c.Setups = append(c.Setups, s)
		}
		if len(c.Setups) == 0 {
			return c, false, errors.New("-setups names no setup")
		}
	} else {
		c.NatsServer, c.Acks = "", 0
	}
	c.Targets = splitList(*targets)
	c.Transports = splitList(*transports)
	c.Protos = splitList(*protos)
	if len(c.Protos) == 0 {
		return c, false, errNoProto
	}
	for _, p := range c.Protos {
		if err := checkProto(p); err != nil {
			return c, false, err
		}
		if p == "h2c" && contains(c.Targets, "nchan") {
			return c, false, errors.New("-proto h2c: not with -target nchan: nginx's cleartext http2 listener speaks only HTTP/2, so Nchan's WebSocket could not share it")
		}
		if c.URL != "" && !strings.HasPrefix(c.URL, schemeFor(p)+"://") {
			return c, false, fmt.Errorf("-proto %s needs a %s:// -url", p, schemeFor(p))
		}
	}
	transportsSet := false
	fs.Visit(func(f *flag.Flag) { transportsSet = transportsSet || f.Name == "transports" })
	if err := checkDirectProtos(c.Protos, *plan, c.Transports, transportsSet); err != nil {
		return c, false, err
	}
	if (c.URL != "" || *cluster) && !transportsSet {
		c.Transports = allTransports
	}
	var err error
	if c.Subs, err = intList("subs", *subs); err != nil {
		return c, false, err
	}
	if c.Payloads, err = intList("payload", *payloads); err != nil {
		return c, false, err
	}
	for _, s := range splitList(*rates) {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 {
			return c, false, fmt.Errorf("-rate: %q is not a positive number", s)
		}
		c.Rates = append(c.Rates, r)
	}
	if *plan != "" {
		if c.Plan, err = parsePlan(*plan, c.Payloads[0]); err != nil {
			return c, false, err
		}
	}
	for _, t := range c.Targets {
		if t != "fourway" && t != "nchan" {
			return c, false, fmt.Errorf("-target: %q is neither fourway nor nchan", t)
		}
		if t == "nchan" && c.URL != "" {
			return c, false, errors.New("-url measures a running fourway; it cannot be combined with -target nchan")
		}
	}
	for _, t := range c.Transports {
		if err := checkTransport(t); err != nil {
			return c, false, fmt.Errorf("-transports: %w", err)
		}
	}
	switch {
	case len(c.Targets) == 0 || len(c.Transports) == 0 || len(c.Subs) == 0 || len(c.Rates) == 0 || len(c.Payloads) == 0:
		return c, false, errors.New("-target, -transports, -subs, -rate and -payload need at least one value")
	case *pollInterval <= 0 || *duration <= 0 || *warmup < 0 || *stagger < 0:
		return c, false, errors.New("-poll-interval and -duration must be positive, -warmup and -stagger not negative")
	case *publishers < 1:
		return c, false, errors.New("-publishers must be at least 1")
	case *headers != "go" && *headers != "browser":
		return c, false, errors.New(`-client-headers must be "go" or "browser"`)
	case *sourceAddrs < -1 || *sourceAddrs > maxSourceAddrs:
		return c, false, fmt.Errorf("-source-addrs must be -1 (automatic), 0 (none) or up to %d", maxSourceAddrs)
	}
	if c.Cluster {
		switch {
		case c.URL != "":
			return c, false, errors.New("-cluster starts its own servers; it cannot be combined with -url")
		case len(c.Targets) != 1 || c.Targets[0] != "fourway":
			return c, false, errors.New("-cluster measures fourway; it cannot be combined with -target nchan")
		case len(c.Protos) != 1 || c.Protos[0] != "h1":
			return c, false, errors.New("-cluster runs over plain HTTP/1.1 (deploy/nginx.conf listens without TLS); it cannot be combined with -proto")
		case *acks < 0:
			return c, false, errors.New("-acks must be 0 (none) or more")
		}
	}
	if c.URL != "" && *sourceAddrs > 0 && !loopbackURL(c.URL) {
		return c, false, errors.New("-source-addrs: the subscribers can dial from loopback addresses only to a server on loopback")
	}
	return c, *quiet, nil
}

// run runs every scenario the flags describe and writes the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, quiet, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.Render != "" {
		b, err := os.ReadFile(cfg.Render)
		if err != nil {
			return err
		}
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", cfg.Render, err)
		}
		// The targets follow from the results: checked again, with
		// today's rules (Nchan's row of the same protocol, say).
		rep.Targets = checkTargets(rep.Results)
		writeTable(stdout, rep.Results)
		writeClusterTables(stdout, rep)
		fmt.Fprintln(stdout)
		writeClassic(stdout, rep.Results)
		fmt.Fprintln(stdout)
		writeTargets(stdout, rep.Targets)
		return writeReport(cfg.Out, rep)
	}
	if cfg.SelfProfile != "" {
		f, err := os.Create(cfg.SelfProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	rep, err := bench(ctx, cfg, quiet, stderr)
	if err != nil && len(rep.Results) == 0 {
		return err
	}
	rep.Command = command(args)
	rep.Targets = checkTargets(rep.Results)
	fmt.Fprintf(stdout, "fourway bench: %s, %d cores, %d MiB, %s, %s\n", rep.Machine.CPU, rep.Machine.Cores, rep.Machine.MemoryMiB, rep.Machine.GoVersion, rep.Machine.OS)
	fmt.Fprintf(stdout, "command: %s\n", rep.Command)
	fmt.Fprintf(stdout, "poll interval %s, warm-up %s, window %s, stagger %s, client headers %s, fourway GOMAXPROCS %s, nginx 1 worker\n\n",
		cfg.PollInterval, cfg.Warmup, cfg.Duration, cfg.Stagger, cfg.ClientHeaders, procsText(cfg.ServerProcs))
	writeTable(stdout, rep.Results)
	writeClusterTables(stdout, rep)
	fmt.Fprintln(stdout)
	writeClassic(stdout, rep.Results)
	fmt.Fprintln(stdout)
	writeTargets(stdout, rep.Targets)
	if werr := writeReport(cfg.Out, rep); werr != nil {
		return werr
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(cfg.Out, "report.html"))
	if err != nil {
		return err
	}
	for _, r := range rep.Results {
		if !r.deliveryOK() {
			return fmt.Errorf("%s %s: %d lost, %d duplicated of %d expected", r.Target, r.label(), r.Lost, r.Duplicated, r.Expected)
		}
	}
	return nil
}

// bench runs the scenarios; on error it returns what it measured so far.
func bench(ctx context.Context, cfg Config, quiet bool, stderr io.Writer) (Report, error) {
	rep := Report{Started: time.Now().UTC(), Machine: machine(), Config: cfg}
	rep.Versions = versions(cfg)
	scenarios := planScenarios(cfg)
	headers := http.Header{}
	if cfg.ClientHeaders == "browser" {
		headers = browserHeaders()
	}
	prog := &progress{}
	stopProgress := startProgress(prog, stderr, quiet)
	defer stopProgress()
	begin := time.Now()
	if cfg.URL != "" {
		if err := checkFourwayURL(ctx, strings.TrimSuffix(cfg.URL, "/"), cfg.Protos[0]); err != nil {
			return rep, err
		}
	}
	binary := cfg.Fourway
	if binary == "" && cfg.URL == "" && (contains(cfg.Targets, "fourway") || cfg.Cluster) {
		dir, err := os.MkdirTemp("", "fourway-bench-bin-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
		prog.set("fourway", "building the server (go build)", 0)
		if binary, err = buildFourway(ctx, dir); err != nil {
			return rep, err
		}
	}
	var ce *clusterEnv
	if cfg.Cluster {
		var err error
		var stopCluster func()
		if ce, stopCluster, err = startClusterEnv(ctx, cfg, prog); err != nil {
			return rep, err
		}
		defer stopCluster()
		if cfg.Acks > 0 {
			prog.set("JetStream publish-to-ack", fmt.Sprintf("%d publishes each to R1 and R3", cfg.Acks), 0)
			if rep.Acks, err = measureAcks(ctx, ce.nats, cfg.Acks, cfg.Payloads[0]); err != nil {
				return rep, fmt.Errorf("JetStream publish-to-ack: %w", err)
			}
		}
	}
	for i, sc := range scenarios {
		if err := ctx.Err(); err != nil {
			rep.Seconds = time.Since(begin).Seconds()
			return rep, err
		}
		var d dialect = fourway{}
		label := fmt.Sprintf("[%d/%d] %s %s [%s] subs=%d rate=%g payload=%d", i+1, len(scenarios), sc.Target, sc.name(), sc.Proto, sc.Subs, sc.Rate, sc.Payload)
		if sc.Setup != "" {
			label += " on " + setupTitle(sc.Setup)
		}
		cc := childConfig{Binary: binary, History: cfg.History, Procs: cfg.ServerProcs, Writers: writersFor(sc), Files: filesNeeded(sc), Proto: sc.Proto}
		if cfg.ServerProfile != "" {
			if err := os.MkdirAll(cfg.ServerProfile, 0o755); err != nil {
				return rep, err
			}
			cc.Profile, _ = filepath.Abs(filepath.Join(cfg.ServerProfile, fmt.Sprintf("%s-%d-%g-%d.pprof", sc.name(), sc.Subs, sc.Rate, sc.Payload)))
		}
		startFourway := func(ctx context.Context) (*server, error) { return startFourwayChild(ctx, cc) }
		if ce != nil {
			startFourway = func(ctx context.Context) (*server, error) { return ce.startSetup(ctx, sc, cc) }
		}
		start := func(ctx context.Context) (*server, error) {
			srv, err := startFourway(ctx)
			if err != nil {
				return nil, err
			}
			if err := checkWriters(ctx, srv.base, sc); err != nil {
				srv.stop()
				return nil, err
			}
			return srv, nil
		}
		switch {
		case ce != nil: // start, above, serves the row on the cluster's setup
		case sc.Target == "nchan":
			d = nchan{}
			start = func(ctx context.Context) (*server, error) {
				return startNchan(ctx, cfg.Nginx, nchanConnections(sc), sc.Proto)
			}
		case cfg.URL != "":
			base := strings.TrimSuffix(cfg.URL, "/")
			start = func(ctx context.Context) (*server, error) {
				if err := checkWriters(ctx, base, sc); err != nil {
					return nil, fmt.Errorf("%s: %w: measure %s against a `fourway %s`", base, err, sc.name(), writerFlags(sc))
				}
				return &server{base: base, parts: pidParts(cfg.PIDs), stop: func() error { return nil }}, nil
			}
		}
		// The bench holds the subscribers' end of every connection.
		if err := raiseFileLimit(processFiles, filesNeeded(sc), "the bench", fmt.Sprintf("%d subscribers and %d publishing connections", sc.totalSubs(), sc.Publishers)); err != nil {
			rep.Seconds = time.Since(begin).Seconds()
			return rep, fmt.Errorf("%s: %w", label, err)
		}
		res, err := runScenario(ctx, sc, d, start, headers, prog, label)
		if err != nil {
			rep.Seconds = time.Since(begin).Seconds()
			return rep, fmt.Errorf("%s: %w", label, err)
		}
		rep.Results = append(rep.Results, res...)
	}
	rep.Seconds = time.Since(begin).Seconds()
	return rep, nil
}

// planScenarios lists the scenarios the configuration asks for, in the
// order they run: -plan's, or the sweep of -payload × -rate × -subs ×
// -transports, each for every target and every -proto. "ws,sse" is two scenarios, each on
// a server of its own; "ws+sse" is one mixed scenario.
func planScenarios(cfg Config) []Scenario {
	var scenarios []Scenario
	seen := map[Scenario]bool{}
	protos := cfg.Protos
	if len(protos) == 0 {
		protos = []string{"h1"} // a report from before -proto
	}
	add := func(tr string, subs int, rate float64, payload int) {
		for _, tg := range cfg.Targets {
			for _, proto := range protos {
				if !directServes(tr, proto) {
					continue // the default transports: see checkDirectProtos
				}
				sc := Scenario{Target: tg, Transport: tr, Proto: proto, Subs: subs, Rate: rate, Payload: payload,
					PollInterval: cfg.PollInterval, Warmup: cfg.Warmup, Duration: cfg.Duration, Stagger: cfg.Stagger, Publishers: cfg.Publishers}
				if tg == "nchan" {
					// Nchan has one SSE writer and one long poll, its own:
					// its sse row is what both of fourway's SSE rows are
					// compared with, its longpoll both long-poll rows,
					// measured once.
					sc.Transport = nchanTransport(tr)
				}
				if mixedParts(sc.Transport) != nil {
					sc.Mixed, sc.Transport = sc.Transport, ""
				}
				sc.SourceAddrs = sourceAddrsFor(cfg, sc)
				setups := []string{""}
				if cfg.Cluster {
					setups = cfg.Setups // in turn, one transport on each
				}
				for _, setup := range setups {
					sc.Setup = setup
					if seen[sc] {
						continue
					}
					seen[sc] = true
					scenarios = append(scenarios, sc)
				}
			}
		}
	}
	for _, p := range cfg.Plan {
		for _, tr := range p.Transports {
			add(tr, p.Subs, p.Rate, p.Payload)
		}
	}
	for _, payload := range cfg.Payloads {
		if cfg.Plan != nil {
			break
		}
		for _, rate := range cfg.Rates {
			for _, subs := range cfg.Subs {
				for _, tr := range cfg.Transports {
					add(tr, subs, rate, payload)
				}
			}
		}
	}
	return scenarios
}

// startProgress prints the progress line on stderr until the returned func
// is called: in place on a terminal, one line every few seconds otherwise.
func startProgress(p *progress, stderr io.Writer, quiet bool) func() {
	if quiet {
		return func() {}
	}
	tty := false
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 3 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(stderr, "\r\033[K")
				}
				return
			case <-t.C:
			}
			label, phase := p.label.Load(), p.phase.Load()
			if label == nil {
				continue
			}
			left := ""
			if u := p.until.Load(); u > 0 {
				left = fmt.Sprintf(" %4.1fs left", max(0, float64(u-mono())/1e9))
			}
			var delivered int64
			if f := p.delivered.Load(); f != nil {
				delivered = (*f)()
			}
			line := fmt.Sprintf("%s: %s%s, %d published, %d delivered", *label, *phase, left, p.published.Load(), delivered)
			if tty {
				fmt.Fprintf(stderr, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(stderr, line)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// nchanTransport is the Nchan transport that stands for a fourway one:
// the same, but a writer row, which is Nchan's row of its base
// (sse-direct Nchan's sse, longpoll-direct Nchan's longpoll: Nchan has
// one writer of each), also inside a mixed scenario.
func nchanTransport(tr string) string {
	parts := strings.Split(tr, "+")
	for i, p := range parts {
		parts[i] = baseTransport(p)
	}
	return strings.Join(parts, "+")
}

// subsPerSourceAddr is how many subscribers of a scenario each automatic
// source address carries: well inside the ephemeral port range (28,232
// ports by Linux's default), leaving room for sockets of earlier runs in
// TIME_WAIT.
const subsPerSourceAddr = 5000

// sourceAddrsFor is how many source addresses a scenario's subscribers
// dial from: -source-addrs, or by default one per subsPerSourceAddr
// subscribers once there are more than that, when the server is on
// loopback.
func sourceAddrsFor(cfg Config, sc Scenario) int {
	if cfg.SourceAddrs >= 0 {
		return cfg.SourceAddrs
	}
	if cfg.URL != "" && !loopbackURL(cfg.URL) {
		return 0
	}
	n := (sc.totalSubs() + subsPerSourceAddr - 1) / subsPerSourceAddr
	if n < 2 {
		return 0
	}
	return min(n, maxSourceAddrs)
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

// browserHeaders are what a desktop browser sends with a same-origin fetch,
// less cookies: the setting of the 2010 article's 871 bytes.
func browserHeaders() http.Header {
	h := http.Header{}
	h.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-US,en;q=0.9")
	h.Set("Referer", "http://127.0.0.1/")
	h.Set("Sec-Ch-Ua", `"Chromium";v="131", "Not_A Brand";v="24"`)
	h.Set("Sec-Ch-Ua-Mobile", "?0")
	h.Set("Sec-Ch-Ua-Platform", `"Linux"`)
	h.Set("Sec-Fetch-Dest", "empty")
	h.Set("Sec-Fetch-Mode", "cors")
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	return h
}

// versions names what was measured: the fourway built from the
// repository at its commit (and whether the server's files differed from
// it), or the binary given with -fourway; nats-server, nginx and Nchan.
func versions(cfg Config) []string {
	var v []string
	if cfg.Fourway != "" {
		v = append(v, binaryVersion(cfg.Fourway))
	} else if out, err := execOutput("git", "rev-parse", "--short", "HEAD"); err == nil {
		commit := "fourway " + strings.TrimSpace(out)
		if st, err := execOutput("git", "status", "--porcelain", "--", "main.go", "feed", "transports", "public", "go.mod", "go.sum"); err == nil && strings.TrimSpace(st) != "" {
			commit += " with uncommitted changes in main.go, feed/, transports/, public/ or go.mod"
		}
		v = append(v, commit)
	}
	if cfg.Cluster {
		if out, err := execOutput(cfg.NatsServer, "--version"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
	}
	if contains(cfg.Targets, "nchan") || cfg.Cluster {
		if out, err := execOutput(cfg.Nginx, "-v"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
		if out, err := execOutput("dpkg-query", "-W", "-f", "${Package} ${Version}", "libnginx-mod-nchan"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
	}
	return v
}

// binaryVersion names a fourway binary and the commit it was built from,
// as Go recorded it in the binary.
func binaryVersion(path string) string {
	s := "fourway binary " + path
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return s
	}
	for _, kv := range info.Settings {
		switch {
		case kv.Key == "vcs.revision":
			s += ", commit " + kv.Value[:min(7, len(kv.Value))]
		case kv.Key == "vcs.modified" && kv.Value == "true":
			s += " with uncommitted changes"
		}
	}
	return s
}

func command(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,=+-@%") != "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'" // quoted for a POSIX shell
		}
		q[i] = a
	}
	return strings.TrimSpace("go run ./bench " + strings.Join(q, " "))
}

func writeReport(dir string, rep Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.csv"))
	if err != nil {
		return err
	}
	if err := writeCSV(f, rep.Results); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte(renderHTML(rep)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latency.svg"), []byte(latencyChart(rep.Results, true)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bytes.svg"), []byte(bytesChart(rep.Results, true)), 0o644); err != nil {
		return err
	}
	if sc := scalingChart(rep.Results, true); sc != "" {
		if err := os.WriteFile(filepath.Join(dir, "scaling.svg"), []byte(sc), 0o644); err != nil {
			return err
		}
	}
	var md strings.Builder
	writeMarkdown(&md, rep, "latency.svg")
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive whole number", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
