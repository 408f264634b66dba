// Command bench measures what each of fourway's four transports costs: the
// latency from publish to receipt, the bytes and requests on the wire per
// message, and the server's CPU and memory, under the same open-loop load,
// and optionally the same for nginx + Nchan.
//
//	go run ./bench                       # fourway, default scenario, all four transports
//	go run ./bench -subs 10,100,1000 -rate 100 -transports ws,sse
//	go run ./bench -target fourway,nchan # both servers in one report
//	go run ./bench -url http://127.0.0.1:8080   # a fourway already running
//	go run ./bench -rounds 3             # every scenario three times: each row's spread
//	go run ./bench -page                 # the page's built-in figures afresh
//
// How it measures, and why that way, is in README.md. This file reads the
// flags and runs the scenarios; the packages below it, each using only
// those below it:
//
//	targets  the servers measured: the fourway binary, nginx + Nchan, a -url, a -cluster
//	load     the load: clients of each server, the open-loop publisher, one scenario measured
//	report   the table, CSV, JSON, Markdown, and the HTML page with its SVG charts
//	record   what a run records: each row's result, the report
//	plan     what to measure: the flags checked, the scenarios, the names of transports and protocols
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/bench/report"
	"fourway/bench/targets"
	"fourway/deploy/node"
	"fourway/transports/links"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags into the run's configuration, checked, and
// whether the progress line is off.
func parseFlags(args []string, stderr io.Writer) (plan.Config, bool, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c plan.Config
	var f plan.Flags
	duration := func(p *plan.Duration, name string, value time.Duration, usage string) {
		fs.DurationVar((*time.Duration)(p), name, value, usage)
	}
	fs.StringVar(&c.URL, "url", "", "measure the fourway server at this base URL instead of starting one, such as nginx in front of several nodes (server CPU/memory: not measured, unless -pids)")
	fs.StringVar(&f.PIDs, "pids", "", "with -url: the server's process ids, comma-separated (every node, nginx, nats-server...): their CPU per delivery from /proc, each and summed")
	fs.BoolVar(&c.Cluster, "cluster", false, "start a 3-node NATS JetStream cluster (nats-server) and measure each transport on one node in memory, one node on JetStream (R3), and two nodes on JetStream behind nginx (deploy/nginx.conf), in turn")
	fs.StringVar(&c.NatsServer, "nats-server", targets.FindNatsServer(), "nats-server binary for -cluster")
	fs.StringVar(&f.Setups, "setups", strings.Join(plan.ClusterSetups, ","), "with -cluster: the setups each transport is measured on, in turn: memory (one node, in-memory feed), jetstream (one node on the R3 stream), cluster (two nodes on it behind nginx)")
	fs.IntVar(&c.Acks, "acks", 2000, "with -cluster: JetStream publishes measured one at a time for the publish-to-ack latency, for R1 and for R3 (0: none)")
	fs.StringVar(&f.Targets, "target", "fourway", "servers to measure: fourway, nchan, or fourway,nchan")
	fs.StringVar(&f.Transports, "transports", strings.Join(plan.KnownTransports, ","), `transports to measure; "ws+sse" is one mixed scenario, both on one server at once`)
	fs.StringVar(&f.Protos, "proto", "h1", "protocols to measure each transport over: h1 (HTTP/1.1), h1tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS; WebSocket on HTTP/1.1 over TLS), h2c (cleartext HTTP/2; WebSocket on HTTP/1.1); a list, h1,h2")
	fs.StringVar(&f.Subs, "subs", "50", "subscribers per transport; a list sweeps (10,100,1000)")
	fs.StringVar(&f.Rates, "rate", "20", "messages per second; a list sweeps")
	fs.StringVar(&f.Payloads, "payload", "100", "bytes of each published message's data (padding), or a kind of data: json256 (a chat message), json4k (a dashboard update), text32k (a document); a list sweeps")
	fs.Var(&c.Compress, "compress", `subscribers offer compression as a browser does (WebSocket permessage-deflate, HTTP Accept-Encoding: gzip); "off,on": every row both ways, side by side`)
	duration(&c.PollInterval, "poll-interval", 500*time.Millisecond, "short polling interval")
	duration(&c.Warmup, "warmup", time.Second, "publishing before the measured window")
	duration(&c.Duration, "duration", 4*time.Second, "measured window")
	duration(&c.Stagger, "stagger", 500*time.Millisecond, "subscribers' connects are spread over this")
	fs.IntVar(&c.Publishers, "publishers", 4, "concurrent publishing connections")
	fs.StringVar(&c.ClientHeaders, "client-headers", "go", `request headers subscribers send: "go" (Go's minimal client) or "browser" (a typical browser's, some 500 bytes)`)
	fs.IntVar(&c.History, "history", 1000, "fourway's --history (messages the feed retains)")
	fs.StringVar(&c.Nginx, "nginx", plan.DefaultNginx, "nginx binary for -target nchan")
	fs.StringVar(&c.Fourway, "fourway", "", "the fourway binary to measure (default: built from the module in the working directory, once per run, with go build)")
	fs.StringVar(&c.Out, "out", filepath.Join(os.TempDir(), "fourway-bench"), "directory for report.json, report.csv, report.html, report.md and the charts")
	fs.StringVar(&f.Plan, "plan", "", `scenarios instead of the -transports × -subs × -rate sweep: "ws,sse:1000:100;longpoll:1000:10" (transports:subs:rate[:payload])`)
	fs.IntVar(&c.ServerProcs, "server-procs", 0, "GOMAXPROCS of the fourway server child (0: Go's default, every core); 1 matches nginx's one worker")
	fs.StringVar(&c.SelfProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	fs.StringVar(&c.ServerProfile, "server-profile", "", "directory where each fourway server child writes a CPU profile (go tool pprof)")
	fs.IntVar(&c.SourceAddrs, "source-addrs", -1, fmt.Sprintf("loopback source addresses the subscribers dial from, 127.0.0.2 and on, so the ephemeral port range does not bound them; -1: one per %d subscribers of a scenario, none (127.0.0.1) below that; 0: none", plan.SubsPerSourceAddr))
	fs.StringVar(&c.Render, "render", "", "measure nothing: write the report (and print the table) again from this report.json, into -out")
	fs.IntVar(&c.Rounds, "rounds", 1, "measure every scenario this many times, the whole list once a round: the report gives each row's spread between rounds")
	page := fs.Bool("page", false, fmt.Sprintf("measure the page's built-in figures afresh: unless told otherwise -target %s -plan '%s' -duration %s -stagger %s, the report into the module's bench/results/, and its report.json also as public/bench-report.json (only when every row got every message once)",
		plan.PageTargets, plan.PagePlan, plan.PageDuration, plan.PageStagger))
	faultFlags(fs, &c, &f)
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f.TransportsSet = set["transports"]
	if *page {
		if err := pageDefaults(&c, &f, set); err != nil {
			return c, false, err
		}
	}
	err := f.Check(&c)
	return c, *quiet, err
}

// faultFlags are the flags of what the subscribers meet on their way to
// the server: an emulated link, its silence, a storm of reconnections.
func faultFlags(fs *flag.FlagSet, c *plan.Config, f *plan.Flags) {
	fs.StringVar(&f.Links, "link", "", "the emulated link every subscriber reaches the server through, the publisher not: one of "+strings.Join(links.Names(), ", ")+" (none: straight to the server)")
	fs.StringVar(&f.Links, "links", "", "as -link, a list: every scenario through each link in turn (3g,slow-3g)")
	fs.DurationVar((*time.Duration)(&c.Outage), "outage", 0, "with -link: the link goes silent this long at the window's start, holding every byte and closing nothing; the report says when each transport's clients noticed (by the page's rules) and how long after the return every message was delivered (not with -link train, which goes silent by itself and is reported so)")
	fs.StringVar(&c.Storm, "storm", "", "at the window's start cut every subscriber's connection at once: cut (fourway drops them, POST /api/drop) or restart (its process, or nginx, killed and started again); the report says how soon 50, 99 and 100 % were served again and the server's peak CPU")
	fs.BoolVar(&c.Herd, "herd", false, "with -storm: the clients retry at the backoff's ceiling, without the page's jitter, every one at once")
}

// pageDefaults sets what -page measures, and where it writes, where the
// flags do not say: the page's plan against Nchan, into the module's
// bench/results/ and public/bench-report.json.
func pageDefaults(c *plan.Config, f *plan.Flags, set map[string]bool) error {
	for _, other := range []string{"url", "cluster", "render"} {
		if set[other] {
			return fmt.Errorf("-page measures the fourway the bench starts; it cannot be combined with -%s", other)
		}
	}
	root, err := node.ModuleRoot()
	if err != nil {
		return fmt.Errorf("-page: %w", err)
	}
	if !set["target"] {
		f.Targets = plan.PageTargets
	}
	if !set["plan"] && !set["transports"] && !set["subs"] && !set["rate"] && !set["payload"] {
		f.Plan = plan.PagePlan
	}
	if !set["duration"] {
		c.Duration = plan.Duration(plan.PageDuration)
	}
	if !set["stagger"] {
		c.Stagger = plan.Duration(plan.PageStagger)
	}
	if !set["out"] {
		c.Out = filepath.Join(root, "bench", "results")
	}
	c.Page = filepath.Join(root, "public", "bench-report.json")
	return nil
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
		return render(cfg, stdout)
	}
	if cfg.SelfProfile != "" {
		stop, err := startProfile(cfg.SelfProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, err := measure(ctx, cfg, quiet, stderr)
	if err != nil && len(rep.Results) == 0 {
		return err
	}
	rep.Command = report.Command(args)
	rep.Targets = report.CheckTargets(rep.Results)
	report.PrintHeading(stdout, rep)
	report.Print(stdout, rep)
	if err == nil {
		err = delivered(rep)
	}
	out := cfg.Out
	if cfg.Page != "" && err != nil {
		// A failed run does not replace the figures the page shows.
		out = filepath.Join(os.TempDir(), "fourway-bench")
		fmt.Fprintf(stdout, "\nthe run failed: the page's figures (%s and %s) are left as they were\n", filepath.Join(cfg.Out, "report.json"), cfg.Page)
	}
	if werr := report.Write(out, rep); werr != nil {
		return werr
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(out, "report.html"))
	if err != nil {
		return err
	}
	if cfg.Page != "" {
		return writePage(cfg, rep, stdout)
	}
	return nil
}

// delivered is an error naming the first row that lost or duplicated a
// message, if any did. A row whose server was killed and started again
// (-storm restart) counts apart what died with its in-memory feed
// (LostWithServer): fourway's must lose nothing else, as any row; a
// peer's (Nchan's) losses to the restart are what its row measures, and
// only a duplicate is an error there.
func delivered(rep record.Report) error {
	for _, r := range rep.Results {
		measured := r.Scenario.Storm == "restart" && r.Target != "fourway"
		if r.Duplicated > 0 || !measured && !r.DeliveryOK() {
			return fmt.Errorf("%s %s: %d lost, %d duplicated of %d expected", r.Target, r.Label(), r.Lost, r.Duplicated, r.Expected)
		}
	}
	return nil
}

// writePage copies the run's report.json to the page's built-in figures,
// byte for byte (public/page_live_test.go compares the two), and says
// what they now are.
func writePage(cfg plan.Config, rep record.Report, stdout io.Writer) error {
	b, err := os.ReadFile(filepath.Join(cfg.Out, "report.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.Page, b, 0o644); err != nil {
		return fmt.Errorf("-page: %w", err)
	}
	m := rep.Machine
	fmt.Fprintf(stdout, "page figures: %s, measured %s on %s, %d cores, %d MiB, %s\n",
		cfg.Page, rep.Started.Format("2006-01-02 15:04 UTC"), m.CPU, m.Cores, m.MemoryMiB, m.OS)
	return nil
}

// measure runs the scenarios; on error it returns what it measured so far.
func measure(ctx context.Context, cfg plan.Config, quiet bool, stderr io.Writer) (rep record.Report, err error) {
	rep = record.Report{Started: time.Now().UTC(), Machine: load.ThisMachine(), Config: cfg, Versions: targets.Versions(cfg)}
	prog := &load.Progress{}
	defer load.StartProgress(prog, stderr, quiet)()
	begin := time.Now()
	defer func() { rep.Seconds = time.Since(begin).Seconds() }()
	env, err := targets.Open(ctx, cfg, prog)
	if err != nil {
		return rep, err
	}
	defer env.Close()
	if rep.Acks, err = env.MeasureAcks(ctx, prog); err != nil {
		return rep, err
	}
	how := load.Options{Headers: http.Header{}, Progress: prog}
	if cfg.ClientHeaders == "browser" {
		how.Headers = load.BrowserHeaders()
	}
	scenarios := plan.Scenarios(cfg)
	rounds := max(cfg.Rounds, 1)
	for i := range rounds * len(scenarios) {
		sc := scenarios[i%len(scenarios)]
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		how.Label = fmt.Sprintf("[%d/%d] %s %s [%s] subs=%d rate=%g payload=%s", i+1, rounds*len(scenarios), sc.Target, sc.Name(), sc.Proto, sc.Subs, sc.Rate, sc.PayloadName())
		if sc.Compress {
			how.Label += " compressed"
		}
		if rounds > 1 {
			how.Label += fmt.Sprintf(" round %d/%d", i/len(scenarios)+1, rounds)
		}
		if sc.Setup != "" {
			how.Label += " on " + plan.SetupTitle(sc.Setup)
		}
		if sc.Link != "" {
			how.Label += " via " + sc.Link
		}
		// The bench holds the subscribers' end of every connection.
		if err := load.RaiseFileLimit(plan.FilesNeeded(sc), "the bench", fmt.Sprintf("%d subscribers and %d publishing connections", sc.TotalSubs(), sc.Publishers)); err != nil {
			return rep, fmt.Errorf("%s: %w", how.Label, err)
		}
		res, err := load.Measure(ctx, sc, env.Start(sc), how)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", how.Label, err)
		}
		rep.Results = append(rep.Results, res...)
	}
	return rep, nil
}

// render prints the tables of a report.json again and writes its report
// into -out: the speed targets checked again, with today's rules (Nchan's
// row of the same protocol, say), since they follow from the results.
func render(cfg plan.Config, stdout io.Writer) error {
	b, err := os.ReadFile(cfg.Render)
	if err != nil {
		return err
	}
	var rep record.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", cfg.Render, err)
	}
	rep.Targets = report.CheckTargets(rep.Results)
	report.Print(stdout, rep)
	return report.Write(cfg.Out, rep)
}

// startProfile writes the bench's own CPU profile to path until stop.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
