package main

import (
	"bytes"
	"context"
	encodingcsv "encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fourway/bench/benchtest"
	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/bench/targets"
	"fourway/deploy/node"
	"fourway/transports/transportstest"
)

// TestMain removes the fourway binary the tests built, once they are over.
func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// built is the fourway binary the tests give the bench with -fourway:
// built once, as the bench builds it, so that each run does not build its
// own (TestRunWritesSelfContainedReport has its run build it).
var built node.Once

func fourwayBinary(t *testing.T) string {
	t.Helper()
	bin, err := built.Binary()
	if err != nil {
		t.Fatalf("%v (or give a built binary with -fourway)", err)
	}
	return bin
}

// startFourway starts a fourway server child as the bench starts it for
// a row of transport: with the writers the row is named after.
func startFourway(ctx context.Context, t *testing.T, transport string) *load.Server {
	t.Helper()
	env, err := targets.Open(ctx, plan.Config{Fourway: fourwayBinary(t), History: 1000}, &load.Progress{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	srv, err := env.Start(plan.Scenario{Target: "fourway", Transport: transport, Proto: "h1"})(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestFourwayFlag: -fourway names an executable file, and only when the
// bench starts a fourway.
func TestFourwayFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-fourway", filepath.Join(t.TempDir(), "nonexistent")}, "not an executable file"},
		{[]string{"-fourway", t.TempDir()}, "not an executable file"},
		{[]string{"-fourway", os.Args[0], "-url", "http://127.0.0.1:8080"}, "with -url it starts none"},
	} {
		_, _, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.args, err, c.want)
		}
	}
	cfg, _, err := parseFlags([]string{"-fourway", os.Args[0]}, io.Discard)
	if err != nil || cfg.Fourway != os.Args[0] {
		t.Errorf("-fourway %s: %v, binary %q", os.Args[0], err, cfg.Fourway)
	}
}

// TestPlanScenarios: a comma makes scenarios of their own, a plus one
// mixed scenario; on Nchan, sse-direct is Nchan's one SSE writer and
// longpoll-direct its one long poll, measured once however many fourway
// rows they stand for.
func TestPlanScenarios(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-target", "fourway,nchan", "-plan", "ws,sse:100:10;ws+sse-direct:100:10;sse-direct:100:10;longpoll,longpoll-direct:10:1;ws+longpoll-direct+sse-direct:10:1"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range plan.Scenarios(cfg) {
		got = append(got, sc.Target+" "+sc.Name())
		if (sc.Mixed != "") == (sc.Transport != "") {
			t.Errorf("%s %s: Transport %q, Mixed %q: want exactly one set before the run", sc.Target, sc.Name(), sc.Transport, sc.Mixed)
		}
	}
	want := "fourway ws|nchan ws|fourway sse|nchan sse|fourway ws+sse-direct|nchan ws+sse|fourway sse-direct|" +
		"fourway longpoll|nchan longpoll|fourway longpoll-direct|fourway ws+longpoll-direct+sse-direct|nchan ws+longpoll+sse"
	if strings.Join(got, "|") != want {
		t.Errorf("scenarios:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	for _, args := range [][]string{
		{"-transports", "ws+"},
		{"-transports", "ws+ws"},
		{"-url", "http://example.com:8080", "-source-addrs", "2"},
		{"-source-addrs", "251"},
	} {
		if _, _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	// A plan takes its default payload from -payload: without one, the
	// bench says so (it used to crash on the missing first payload).
	if _, _, err := parseFlags([]string{"-payload", ",", "-plan", "ws:10:1"}, &stderr); err == nil || !strings.Contains(err.Error(), "-payload need at least one value") {
		t.Errorf("-payload , -plan ws:10:1: %v, want the bench to say -payload needs a value", err)
	}
}

// TestCompressAndPayloadKindFlags: -compress=off,on measures each row
// without, then with compression offered; -payload names a kind of data,
// and an unknown kind is refused with the kinds there are.
func TestCompressAndPayloadKindFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-target", "nchan", "-transports", "ws", "-compress=off,on", "-payload", "json4k"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range plan.Scenarios(cfg) {
		got = append(got, sc.Label()+" "+sc.PayloadName())
	}
	if want := "ws [h1] json4k|ws [h1] compressed json4k"; strings.Join(got, "|") != want {
		t.Errorf("rows %q, want %q", strings.Join(got, "|"), want)
	}
	_, _, err = parseFlags([]string{"-payload", "100,json9k"}, &stderr)
	if want := `-payload: "json9k" is neither a positive whole number of bytes nor a payload kind (json256, json4k, text32k)`; err == nil || err.Error() != want {
		t.Errorf("-payload 100,json9k: %v, want %q", err, want)
	}
}

// TestProtoFlag: -proto takes a list of the four names, and refuses
// anything else saying what it takes.
func TestProtoFlag(t *testing.T) {
	var stderr bytes.Buffer
	labels := func(args ...string) string {
		t.Helper()
		cfg, _, err := parseFlags(args, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sc := range plan.Scenarios(cfg) {
			got = append(got, sc.Label())
		}
		return strings.Join(got, "|")
	}
	if g := labels("-proto", "h1,h2", "-transports", "poll"); g != "poll [h1]|poll [h2]" {
		t.Errorf("-proto h1,h2 -transports poll: scenarios %q", g)
	}
	// The default transports leave sse-direct and longpoll-direct out over
	// HTTP/2, ...
	if g := labels("-proto", "h1,h2"); !strings.Contains(g, "sse-direct [h1]") || strings.Contains(g, "sse-direct [h2]") || !strings.Contains(g, "sse [h2]") ||
		!strings.Contains(g, "longpoll-direct [h1]") || strings.Contains(g, "longpoll-direct [h2]") || !strings.Contains(g, "longpoll [h2]") {
		t.Errorf("-proto h1,h2: scenarios %q, want sse-direct and longpoll-direct over h1 only", g)
	}
	// ... and longpoll-direct out over TLS too, where sse-direct runs.
	if g := labels("-proto", "h1tls"); g != "poll [h1tls]|longpoll [h1tls]|sse [h1tls]|sse-direct [h1tls]|ws [h1tls]" {
		t.Errorf("-proto h1tls: scenarios %q, want the four and sse-direct", g)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-proto", "h3"}, `-proto: "h3" is not one of h1, h1tls, h2, h2c`},
		{[]string{"-proto", ","}, "-proto needs at least one value"},
		{[]string{"-proto", "h2c", "-target", "nchan"}, "-proto h2c: not with -target nchan"},
		{[]string{"-proto", "h2", "-url", "http://127.0.0.1:8080"}, "-proto h2 needs a https:// -url"},
		{[]string{"-proto", "h1,h2", "-transports", "sse-direct"}, "-proto h2: sse-direct cannot run over HTTP/2"},
		{[]string{"-proto", "h2c", "-plan", "ws+sse-direct:10:10"}, "-proto h2c: sse-direct cannot run over HTTP/2"},
		{[]string{"-proto", "h1,h2", "-transports", "longpoll-direct"}, "-proto h2: longpoll-direct cannot run over TLS or HTTP/2"},
		{[]string{"-proto", "h2c", "-transports", "ws,longpoll-direct"}, "-proto h2c: longpoll-direct cannot run over TLS or HTTP/2"},
		{[]string{"-proto", "h1tls", "-plan", "ws+longpoll-direct:10:10"}, "-proto h1tls: longpoll-direct cannot run over TLS or HTTP/2 (fourway's direct long-poll writer serves only HTTP/1.1 in the clear"},
	} {
		_, _, err := parseFlags(c.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseFlags(%q): %v, want %q", c.args, err, c.want)
		}
	}
}

// TestClusterAndURLFlagsRefuseBadInput: every flag of -cluster, -url and
// -pids refuses what it cannot use, saying why, before anything starts.
func TestClusterAndURLFlagsRefuseBadInput(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-cluster", "-url", "http://127.0.0.1:8080"}, "-cluster starts its own servers"},
		{[]string{"-cluster", "-target", "fourway,nchan"}, "cannot be combined with -target nchan"},
		{[]string{"-cluster", "-proto", "h2"}, "plain HTTP/1.1"},
		{[]string{"-cluster", "-acks", "-1"}, "-acks must be 0 (none) or more"},
		{[]string{"-cluster", "-setups", "memory,nginx"}, `-setups: "nginx" is not one of memory, jetstream, cluster`},
		{[]string{"-cluster", "-setups", "memory,memory"}, "-setups: memory named twice"},
		{[]string{"-cluster", "-setups", ","}, "-setups names no setup"},
		{[]string{"-pids", self}, "-pids: only with -url"},
		{[]string{"-url", "http://127.0.0.1:8080", "-pids", "x"}, `-pids: "x" is not a process id`},
		{[]string{"-url", "http://127.0.0.1:8080", "-pids", "0"}, `-pids: "0" is not a process id`},
		{[]string{"-url", "http://127.0.0.1:8080", "-pids", "2147483646"}, "-pids: no process 2147483646"},
		{[]string{"-url", "http://127.0.0.1:8080", "-pids", self + "," + self}, "given twice"},
		{[]string{"-url", "http://127.0.0.1:8080", "-pids", ","}, "names no process"},
		{[]string{"-url", "ftp://127.0.0.1/"}, "want an http:// or https:// base URL"},
		{[]string{"-url", "127.0.0.1:8080"}, `-url "127.0.0.1:8080"`},
		{[]string{"-url", "http://"}, "no host"},
		{[]string{"-url", "http://127.0.0.1:8080/?x=1"}, "no query or fragment"},
		{[]string{"-url", "http://127.0.0.1:8080/#top"}, "no query or fragment"},
		{[]string{"-url", "http://127.0.0.1:99999"}, `port "99999" is not 1 to 65535`},
		{[]string{"-url", "http://u:p@127.0.0.1:8080"}, "no user information"},
		{[]string{"-url", "http://127.0.0.1:8080 x"}, "-url"},
	} {
		_, _, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.args, err, c.want)
		}
	}
	cfg, _, err := parseFlags([]string{"-cluster"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Transports, ",") != strings.Join(plan.AllTransports, ",") || cfg.Acks != 2000 || cfg.NatsServer == "" {
		t.Errorf("-cluster defaults: transports %v, acks %d, nats-server %q; want the four, 2000, a path", cfg.Transports, cfg.Acks, cfg.NatsServer)
	}
	if got := len(plan.Scenarios(cfg)); got != 3*len(plan.AllTransports) {
		t.Errorf("-cluster plans %d rows, want %d: every transport on each of the three setups", got, 3*len(plan.AllTransports))
	}
}

// TestRunWritesSelfContainedReport runs the command as a user would and
// checks its outputs: the table on stdout, progress never on stdout, and a
// JSON, CSV and HTML report that loads nothing from anywhere.
func TestRunWritesSelfContainedReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-transports", "ws,sse", "-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms", "-out", dir}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"p99 ms", "fourway  sse [h1]", "fourway  ws [h1]", "[h1]: HTTP/1.1, cleartext", "polling (2010, 871 B of headers)", "fourway ws [h1] (measured)", "go run ./bench -transports ws,sse"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "published,") {
		t.Errorf("progress line on stdout:\n%s", out)
	}
	var rep record.Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(rep.Results) != 2 || rep.Machine.Cores == 0 || rep.Machine.GoVersion == "" || rep.Command == "" || len(rep.Config.Transports) != 2 {
		t.Errorf("report.json lacks results, machine, command or config: %+v", rep)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 3 {
		t.Errorf("report.csv: want a header and 2 rows, got %v:\n%s", err, csv)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(page)
	if strings.Count(h, "<svg") < 3 {
		t.Errorf("report.html has %d charts, want at least 3", strings.Count(h, "<svg"))
	}
	for _, bad := range []string{"<script src", "<link", "src=\"http", "url(http", "@import"} {
		if strings.Contains(h, bad) {
			t.Errorf("report.html loads something from outside: %q", bad)
		}
	}
}

// unwrapped is the bench's stdout with its prose joined again: the
// report wraps a paragraph to 120 columns, each line after the first
// indented by two.
func unwrapped(stdout string) string { return strings.ReplaceAll(stdout, "\n  ", " ") }

// TestRunMixedPlan runs -plan ws+sse as a user would: both transports'
// subscribers on one server at once, each row getting every message, the
// rows sharing the server's CPU per delivery (over all deliveries), and
// every output saying the rows are of one mixed scenario. The subscribers
// dial from two loopback source addresses.
func TestRunMixedPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-fourway", fourwayBinary(t), "-plan", "ws+sse:3:25:60", "-warmup", "500ms", "-duration", "1s", "-stagger", "100ms", "-publishers", "2", "-source-addrs", "2", "-out", dir, "-quiet"}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	rep := readReport(t, dir)
	if len(rep.Results) != 2 {
		t.Fatalf("%d results, want one row per transport of ws+sse:\n%s", len(rep.Results), stdout.String())
	}
	var deliveries int64
	for i, tr := range []string{"ws", "sse"} {
		r := rep.Results[i]
		if r.Transport != tr || r.Mixed != "ws+sse" || r.Subs != 3 || r.SourceAddrs != 2 {
			t.Errorf("row %d: transport %q, mixed %q, %d subs, %d source addresses; want %s, ws+sse, 3, 2", i, r.Transport, r.Mixed, r.Subs, r.SourceAddrs, tr)
		}
		benchtest.CheckDelivery(t, r)
		if r.Server == nil {
			t.Fatalf("%s: no server cost", tr)
		}
		deliveries += r.WindowDeliveries
	}
	a, c := rep.Results[0], rep.Results[1]
	if a.Published != c.Published || a.Epoch != c.Epoch || a.Epoch == "" {
		t.Errorf("the rows saw different publishers or servers: %d and %d published, epochs %q and %q", a.Published, c.Published, a.Epoch, c.Epoch)
	}
	if *a.Server != *c.Server {
		t.Errorf("the rows' server costs differ: %+v and %+v", *a.Server, *c.Server)
	}
	if want := a.Server.CPUSeconds / float64(deliveries) * 1e6; math.Abs(a.Server.CPUPerMsgMicros-want) > 1e-9 {
		t.Errorf("CPU per delivery %v µs, want the server's %v s over all %d deliveries = %v", a.Server.CPUPerMsgMicros, a.Server.CPUSeconds, deliveries, want)
	}
	checkMixedOutputs(t, dir, stdout.String())
}

// checkMixedOutputs: stdout, report.csv, report.md and report.html say
// the rows are of the mixed scenario ws+sse.
func checkMixedOutputs(t *testing.T, dir, stdout string) {
	t.Helper()
	stdout = unwrapped(stdout)
	for _, want := range []string{"ws in ws+sse", "sse in ws+sse", "mixed scenario ws+sse: ", "divided by every delivery of the scenario"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if recs, err := encodingcsv.NewReader(bytes.NewReader(csv)).ReadAll(); err != nil || len(recs) != 3 || recs[0][0] != "target" || len(recs[1]) != len(recs[0]) || len(recs[2]) != len(recs[0]) {
		t.Errorf("report.csv: %v, %d records; want a header and 2 rows of as many fields", err, len(recs))
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for name, want := range map[string]string{"report.csv": ",ws+sse,2,h1,", "report.md": "ws · in mixed ws+sse (one server: CPU and KiB/conn shared)", "report.html": "in mixed ws+sse: one server, CPU and memory shared"} {
		got := map[string][]byte{"report.csv": csv, "report.md": md, "report.html": page}[name]
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, got)
		}
	}
}

// tempModule makes a directory that looks like the fourway module to
// -page (a go.mod of module fourway, public/, bench/results/) and makes
// it the working directory for the rest of the test. It is not run in
// parallel: the working directory is the process's.
func tempModule(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"public", filepath.Join("bench", "results")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module fourway\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	return root
}

// TestPageFlag: -page measures the page's plan against Nchan, with the
// window of its figures, into the module's bench/results/ and
// public/bench-report.json, unless the flags say otherwise; it refuses
// to measure a server the bench does not start.
func TestPageFlag(t *testing.T) {
	root := tempModule(t)
	cfg, _, err := parseFlags([]string{"-page"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var plans []string
	for _, p := range cfg.Plan {
		plans = append(plans, fmt.Sprintf("%s:%d:%g", strings.Join(p.Transports, ","), p.Subs, p.Rate))
	}
	if got := strings.Join(plans, ";"); got != plan.PagePlan || strings.Join(cfg.Targets, ",") != plan.PageTargets ||
		time.Duration(cfg.Duration) != plan.PageDuration || time.Duration(cfg.Stagger) != plan.PageStagger {
		t.Errorf("-page: plan %q, targets %v, window %s, stagger %s; want %q, %s, %s, %s", got, cfg.Targets, cfg.Duration, cfg.Stagger, plan.PagePlan, plan.PageTargets, plan.PageDuration, plan.PageStagger)
	}
	if cfg.Out != filepath.Join(root, "bench", "results") || cfg.Page != filepath.Join(root, "public", "bench-report.json") {
		t.Errorf("-page writes into %s and %s, want the module's bench/results and public/bench-report.json", cfg.Out, cfg.Page)
	}
	cfg, _, err = parseFlags([]string{"-page", "-transports", "ws", "-target", "fourway", "-duration", "1s", "-out", "elsewhere"}, io.Discard)
	if err != nil || len(cfg.Plan) != 0 || strings.Join(cfg.Transports, ",") != "ws" || strings.Join(cfg.Targets, ",") != "fourway" || cfg.Out != "elsewhere" || time.Duration(cfg.Duration) != time.Second {
		t.Errorf("-page with flags of its own: %v, %+v; want the flags kept", err, cfg)
	}
	for _, args := range [][]string{{"-page", "-url", "http://127.0.0.1:8080"}, {"-page", "-cluster"}, {"-page", "-render", "report.json"}} {
		if _, _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), "-page") {
			t.Errorf("%q: %v, want a refusal naming -page", args, err)
		}
	}
	if _, _, err := parseFlags([]string{"-rounds", "0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-rounds") {
		t.Errorf("-rounds 0: %v, want a refusal naming -rounds", err)
	}
}

// TestRunPage regenerates the page's built-in figures from a tiny run of
// two rounds: public/bench-report.json is then bench/results/report.json
// byte for byte (as public/page_live_test.go wants), with the machine and
// the date it was measured on, and the report gives the spread of its
// rounds.
func TestRunPage(t *testing.T) {
	bin := fourwayBinary(t)
	root := tempModule(t)
	var stdout bytes.Buffer
	args := []string{"-page", "-fourway", bin, "-target", "fourway", "-plan", "ws:2:40", "-rounds", "2", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms", "-quiet"}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	page, err := os.ReadFile(filepath.Join(root, "public", "bench-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	results, err := os.ReadFile(filepath.Join(root, "bench", "results", "report.json"))
	if err != nil || !bytes.Equal(page, results) {
		t.Fatalf("public/bench-report.json is not bench/results/report.json (%v)", err)
	}
	var rep record.Report
	if err := json.Unmarshal(page, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Machine.CPU == "" || rep.Machine.Cores == 0 || time.Since(rep.Started) > time.Minute || len(rep.Results) != 2 {
		t.Errorf("the page's figures: machine %+v, started %s, %d rows; want this machine, now, two rounds of ws", rep.Machine, rep.Started, len(rep.Results))
	}
	for _, r := range rep.Results {
		benchtest.CheckDelivery(t, r)
	}
	out := unwrapped(stdout.String())
	for _, want := range []string{"page figures: " + filepath.Join(root, "public", "bench-report.json"), rep.Machine.CPU, "fourway ws [h1], 2 subs, 40/s, 100 B, 2 rounds: p50"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if md, err := os.ReadFile(filepath.Join(root, "bench", "results", "report.md")); err != nil || !strings.Contains(string(md), "2 rounds") {
		t.Errorf("bench/results/report.md: %v, without the rounds' spread", err)
	}
}

// TestServerProfile: -server-profile has each row's server child write a
// CPU profile (fourway's --cpu-profile), named for its scenario.
func TestServerProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"-fourway", fourwayBinary(t), "-transports", "ws", "-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms",
		"-server-profile", filepath.Join(dir, "profiles"), "-quiet", "-out", dir}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	if err := run(ctx, args, &stdout, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "profiles", "ws-2-20-100.pprof"))
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the server child's profile: %d bytes, %v; want a gzipped pprof profile", len(b), err)
	}
}

// TestURLThatIsNotFourwayIsRefused: -url checks GET /api/config first and
// stops with what the server answered, before measuring anything.
func TestURLThatIsNotFourwayIsRefused(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + closed.Addr().String()
	closed.Close()
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "does not look like fourway: GET /api/config answered 404 Not Found"},
		{"a page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>hello</html>")
		}, "not fourway's JSON"},
		{"other JSON", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"name":"not fourway"}`) }, "without poll.limit_max"},
		{"a token", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"poll":{"limit_max":1000},"sse":{"writer":"r3labs"},"ws":{"close_codes":[{"code":1000}]},"publish_needs_token":true}`)
		}, "needs a token to publish"},
		{"nobody", nil, "cannot reach it"},
	} {
		base := nobody
		if c.handler != nil {
			ts := httptest.NewServer(c.handler)
			defer ts.Close()
			base = ts.URL
		}
		var stdout bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := run(ctx, []string{"-url", base, "-transports", "ws", "-subs", "1", "-duration", "100ms", "-quiet", "-out", t.TempDir()}, &stdout, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), base) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, base, c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: a table was printed for a server that is not fourway:\n%s", c.name, stdout.String())
		}
	}
}

// TestURLMeasuresARunningFourway: every transport against a fourway the
// bench did not start; its CPU is "not measured (external)", or, with
// -pids, read from /proc for the processes named.
func TestURLMeasuresARunningFourway(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	srv := startFourway(ctx, t, "ws")
	defer srv.Stop()
	pid := srv.Parts()[0].CPU[0]
	short := []string{"-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "1s", "-stagger", "50ms", "-poll-interval", "200ms", "-quiet"}

	dir := t.TempDir()
	var stdout bytes.Buffer
	if err := run(ctx, append([]string{"-url", srv.Base + "/", "-out", dir}, short...), &stdout, io.Discard); err != nil {
		t.Fatalf("run -url: %v\n%s", err, stdout.String())
	}
	rep := readReport(t, dir)
	if len(rep.Results) != len(plan.AllTransports) {
		t.Fatalf("%d rows, want one per transport (%v)", len(rep.Results), plan.AllTransports)
	}
	for _, r := range rep.Results {
		benchtest.CheckDelivery(t, r)
		if r.Server != nil || r.ServerNote != record.NotMeasuredExternal {
			t.Errorf("%s: server %+v, note %q; want no figure and %q", r.Transport, r.Server, r.ServerNote, record.NotMeasuredExternal)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for name, out := range map[string]string{"stdout": stdout.String(), "report.md": string(md)} {
		if !strings.Contains(out, record.NotMeasuredExternal) {
			t.Errorf("%s does not say %q:\n%s", name, record.NotMeasuredExternal, out)
		}
	}

	dir = t.TempDir()
	stdout.Reset()
	args := append([]string{"-url", srv.Base, "-pids", strconv.Itoa(pid) + "," + strconv.Itoa(os.Getpid()), "-transports", "ws", "-out", dir}, short...)
	if err := run(ctx, args, &stdout, io.Discard); err != nil {
		t.Fatalf("run -url -pids: %v\n%s", err, stdout.String())
	}
	r := readReport(t, dir).Results[0]
	benchtest.CheckDelivery(t, r)
	if r.Server == nil || r.ServerNote != "" || len(r.Procs) != 2 {
		t.Fatalf("-pids: server %+v, note %q, processes %+v; want the CPU of both processes", r.Server, r.ServerNote, r.Procs)
	}
	if want := fmt.Sprintf(" %d", pid); !strings.HasSuffix(r.Procs[0].Name, want) || r.Server.RSSIdleMiB <= 0 {
		t.Errorf("-pids: first process %q (want its name and %s), RSS %.1f MiB", r.Procs[0].Name, want, r.Server.RSSIdleMiB)
	}
	if sum := r.Procs[0].CPUSeconds + r.Procs[1].CPUSeconds; sum-r.Server.CPUSeconds > 1e-9 || r.Server.CPUSeconds-sum > 1e-9 {
		t.Errorf("-pids: server CPU %.3f s is not the processes' sum %.3f s", r.Server.CPUSeconds, sum)
	}
	if !strings.Contains(stdout.String(), "process by process") {
		t.Errorf("-pids: no per-process table on stdout:\n%s", stdout.String())
	}
}

// TestURLRefusesAServerOfAnotherWriter: a -url fourway that runs another
// writer than a row is named after (longpoll-direct against a server of
// net/http's long poll, longpoll against one of the direct writer, a mix
// with sse-direct against the library's SSE), or that names no long-poll
// writer, stops the run before anything is measured, saying which server
// to start.
func TestURLRefusesAServerOfAnotherWriter(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"poll":{"limit_max":1000},"sse":{"writer":"r3labs"},"ws":{"close_codes":[{"code":1000}]}}`)
	}))
	defer old.Close()
	for _, c := range []struct {
		writers     string // the -url server's, as the bench starts it for this transport; "": old, the fake from before --longpoll-writer
		transports  string
		want, wants string
	}{
		{"ws", "longpoll-direct", `the server's long-poll writer is "nethttp" (longpoll.writer in GET /api/config), but longpoll-direct measures "direct"`,
			"measure longpoll-direct against a `fourway --longpoll-writer direct`"},
		{"longpoll-direct", "longpoll", `the server's long-poll writer is "direct"`,
			"measure longpoll against a `fourway --longpoll-writer nethttp`"},
		{"longpoll-direct", "ws+sse-direct+longpoll-direct", `the server's SSE writer is "r3labs" (sse.writer in GET /api/config), but sse-direct in ws+sse-direct+longpoll-direct measures "direct"`,
			"measure ws+sse-direct+longpoll-direct against a `fourway --sse-writer direct --longpoll-writer direct`"},
		{"", "longpoll", "GET /api/config names no long-poll writer (longpoll.writer): a fourway from before --longpoll-writer", "--longpoll-writer nethttp"},
	} {
		base := old.URL
		if c.writers != "" {
			srv := startFourway(ctx, t, c.writers)
			defer srv.Stop()
			base = srv.Base
		}
		var stdout bytes.Buffer
		err := run(ctx, []string{"-url", base, "-transports", c.transports, "-subs", "1", "-duration", "100ms", "-quiet", "-out", t.TempDir()}, &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("-url (a server for %q) -transports %s: error %v, want one naming the server and saying %q and %q", c.writers, c.transports, err, c.want, c.wants)
		}
		if stdout.Len() != 0 {
			t.Errorf("-transports %s: a table was printed for a server of another writer:\n%s", c.transports, stdout.String())
		}
	}
}

func readReport(t *testing.T, dir string) record.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep record.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCluster runs the bench's -cluster mode: skipped without nginx or
// nats-server, failed under CI=true. Its parts run one after the other (each
// checks that no process of a -cluster is left once it is over), beside
// the package's other tests, none of which starts a nats-server, an nginx
// with a -cluster's prefix or a fourway node on JetStream.
func TestCluster(t *testing.T) {
	t.Parallel()
	if m := targets.ClusterMissing(benchtest.Nginx(), targets.FindNatsServer()); m != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", m)
		}
		t.Skip(m)
	}
	t.Run("ShortRun", testClusterShortRun)
	t.Run("StopsEverythingWhenCancelled", testClusterStopsEverythingWhenCancelled)
	t.Run("StopsEverythingOnError", testClusterStopsEverythingOnError)
}

// testClusterShortRun runs -cluster briefly on every transport: each row
// of each setup gets every message once, and shows the CPU of every
// process of its setup; the publish-to-ack latency of R1 and R3 is
// measured; and no process the bench started is left behind.
func testClusterShortRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-cluster", "-fourway", fourwayBinary(t), "-nginx", benchtest.Nginx(), "-subs", "3", "-rate", "40", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms",
		"-poll-interval", "200ms", "-acks", "100", "-quiet", "-out", dir}
	begin := time.Now()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("-cluster, %d rows: %s", 3*len(plan.AllTransports), time.Since(begin).Round(time.Millisecond))
	rep := readReport(t, dir)
	want := map[string][]string{
		plan.SetupMemory:    {"fourway"},
		plan.SetupJetStream: {"fourway a", "nats-server 1", "nats-server 2", "nats-server 3"},
		plan.SetupCluster:   {"fourway a", "fourway b", "nats-server 1", "nats-server 2", "nats-server 3", "nginx"},
	}
	rows := map[string]int{}
	for _, r := range rep.Results {
		rows[r.Setup]++
		benchtest.CheckDelivery(t, r)
		var names []string
		for _, p := range r.Procs {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != strings.Join(want[r.Setup], ",") || r.Server == nil {
			t.Errorf("%s: processes %v (server %+v), want %v and their sum", r.Label(), names, r.Server, want[r.Setup])
		}
		if r.PublishRTT.Count == 0 {
			t.Errorf("%s: no publish round trip measured", r.Label())
		}
	}
	for s := range want {
		if rows[s] != len(plan.AllTransports) {
			t.Errorf("setup %s: %d rows, want %d", s, rows[s], len(plan.AllTransports))
		}
	}
	if len(rep.Acks) != 2 || rep.Acks[0].Replicas != 1 || rep.Acks[1].Replicas != 3 {
		t.Fatalf("publish-to-ack: %+v, want R1 and R3", rep.Acks)
	}
	for _, a := range rep.Acks {
		if a.Publishes != 100 || a.Latency.Count != 100 || a.Latency.P50 <= 0 || a.Latency.P99 < a.Latency.P50 {
			t.Errorf("R%d: %d publishes, latency %+v", a.Replicas, a.Publishes, a.Latency)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"process by process", "nats-server 3 µs", "nginx µs", "JetStream publish-to-ack", "2 nodes, JetStream R3 (3 nats-server), behind nginx"} {
		if !strings.Contains(string(md), want) || !strings.Contains(unwrapped(stdout.String()), want) {
			t.Errorf("report.md or stdout lacks %q", want)
		}
	}
	checkNoChildLeft(t)
}

// testClusterStopsEverythingWhenCancelled: a -cluster run cancelled
// while its nginx runs (Ctrl-C) stops every process it started.
func testClusterStopsEverythingWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-cluster", "-fourway", fourwayBinary(t), "-setups", "cluster", "-nginx", benchtest.Nginx(), "-transports", "ws", "-subs", "2", "-rate", "10", "-warmup", "30s", "-duration", "30s", "-acks", "0", "-quiet", "-out", t.TempDir()}
	go func() { done <- run(ctx, args, io.Discard, io.Discard) }()
	// Cancel once the cluster setup's nginx runs: every kind of process is up.
	deadline := time.Now().Add(60 * time.Second)
	for !hasChild("nginx", clusterNginxWord) && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run ended before it was cancelled: %v", err)
		case <-time.After(20 * time.Millisecond): // polling the process table, bounded by the deadline
		}
	}
	if !hasChild("nginx", clusterNginxWord) || !hasChild("nats-server", clusterNatsWord) {
		t.Fatalf("nginx and nats-server not both running after 60 s: %v", children())
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a cancelled run returned no error")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the cancelled run did not return within 60 s")
	}
	checkNoChildLeft(t)
}

// child is a child process of this one: its command line, and whether
// it is a fourway server child on JetStream (a -cluster's node: --nats
// and --node).
type child struct {
	cmdline string
	node    bool
}

// children are this process's children, started from any of its threads
// (/proc lists children per thread).
func children() []child {
	var out []child
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, p := range strings.Fields(string(b)) {
			cmd, err := os.ReadFile("/proc/" + p + "/cmdline")
			if err != nil {
				continue // gone meanwhile
			}
			args := strings.Split(string(bytes.TrimRight(cmd, "\x00")), "\x00")
			out = append(out, child{cmdline: strings.Join(args, " "), node: slices.Contains(args, "--nats") && slices.Contains(args, "--node")})
		}
	}
	return out
}

// hasChild reports whether a child of this process runs the program
// named with the word given in its command line (nginx rewrites its own:
// "nginx: master process /usr/sbin/nginx -p ..."): a -cluster's own nginx
// or nats-server, not "nginx -v" or the Nchan tests' nginx.
func hasChild(program, word string) bool {
	for _, c := range children() {
		if strings.Contains(c.cmdline, program) && strings.Contains(c.cmdline, word) {
			return true
		}
	}
	return false
}

const (
	clusterNginxWord = "fourway-bench-cluster-" // in the nginx prefix of a -cluster
	clusterNatsWord  = "fourway-bench-nats-"    // in the nats-server store of a -cluster
)

// checkNoChildLeft fails if a process of a -cluster still runs: a
// nats-server, its nginx, or a fourway node on JetStream. (The in-memory
// node is a server child like those of the tests that run beside.)
func checkNoChildLeft(t *testing.T) {
	t.Helper()
	for _, c := range children() {
		if c.node || strings.Contains(c.cmdline, clusterNatsWord) || strings.Contains(c.cmdline, clusterNginxWord) {
			t.Errorf("left running: %q", c.cmdline)
		}
	}
}

// testClusterStopsEverythingOnError: a setup that fails to start (an
// "nginx" that exits at once) ends the run with the error, and every
// process started before it (the NATS servers, the fourway nodes) is
// stopped.
func testClusterStopsEverythingOnError(t *testing.T) {
	bad, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1) to stand for a failing nginx")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-cluster", "-fourway", fourwayBinary(t), "-setups", "cluster", "-nginx", bad, "-transports", "ws", "-subs", "2", "-acks", "0", "-quiet", "-out", t.TempDir()}
	err = run(ctx, args, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nginx") {
		t.Errorf("run with a failing nginx: %v, want an error naming nginx", err)
	}
	checkNoChildLeft(t)
}

// benchPackages are the bench's packages and those of them each may
// import: imports run one way, from main down to plan, as main.go says.
var benchPackages = map[string][]string{
	"fourway/bench":           {"load", "plan", "record", "report", "targets"},
	"fourway/bench/targets":   {"load", "plan", "record"},
	"fourway/bench/load":      {"plan", "record"},
	"fourway/bench/report":    {"plan", "record"},
	"fourway/bench/record":    {"plan"},
	"fourway/bench/plan":      nil,
	"fourway/bench/benchtest": {"plan", "record"},
}

// TestPackagesImportOneWay: each of the bench's packages imports only
// those of the bench below it, and every package of the bench is known.
func TestPackagesImportOneWay(t *testing.T) {
	for path, p := range transportstest.GoList(t, "fourway/bench/...") {
		if !strings.HasPrefix(path, "fourway/bench") {
			continue
		}
		allowed, known := benchPackages[path]
		if !known {
			t.Errorf("%s is not among the bench's packages (benchPackages, main.go's list)", path)
		}
		for _, imp := range p.Imports {
			if name, ok := strings.CutPrefix(imp, "fourway/bench/"); ok && !slices.Contains(allowed, name) {
				t.Errorf("%s imports %s: it may import only %v", path, imp, allowed)
			}
		}
	}
}

// TestFilesAreLayers: the package doc of each package lists its files
// (but doc.go, which holds it), and a file uses only what the files
// listed above it, or itself, declare: the files of a package form
// layers, not a web.
func TestFilesAreLayers(t *testing.T) {
	pkgs := transportstest.GoList(t, "fourway/bench/...")
	for path := range benchPackages {
		order, files, uses := transportstest.Layers(t, pkgs, path)
		if len(files) > 1 || len(order) > 0 {
			if got, want := slices.Sorted(slices.Values(order)), slices.Sorted(slices.Values(files)); !slices.Equal(got, want) {
				t.Errorf("%s: its package doc lists %v, want its files %v", path, order, want)
				continue
			}
		}
		for _, u := range uses {
			if user, declared := slices.Index(order, filepath.Base(u.At.Filename)), slices.Index(order, u.In); declared > user {
				t.Errorf("%s uses %s, declared below it in %s", u.At, u.Name, u.In)
			}
		}
	}
}
