package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
)

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
	if strings.Join(cfg.Transports, ",") != strings.Join(allTransports, ",") || cfg.Acks != 2000 || cfg.NatsServer == "" {
		t.Errorf("-cluster defaults: transports %v, acks %d, nats-server %q; want the four, 2000, a path", cfg.Transports, cfg.Acks, cfg.NatsServer)
	}
	if got := len(planScenarios(cfg)); got != 3*len(allTransports) {
		t.Errorf("-cluster plans %d rows, want %d: every transport on each of the three setups", got, 3*len(allTransports))
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
	srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	pid := srv.parts()[0].CPU[0]
	short := []string{"-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "1s", "-stagger", "50ms", "-poll-interval", "200ms", "-quiet"}

	dir := t.TempDir()
	var stdout bytes.Buffer
	if err := run(ctx, append([]string{"-url", srv.base + "/", "-out", dir}, short...), &stdout, io.Discard); err != nil {
		t.Fatalf("run -url: %v\n%s", err, stdout.String())
	}
	rep := readReport(t, dir)
	if len(rep.Results) != len(allTransports) {
		t.Fatalf("%d rows, want one per transport (%v)", len(rep.Results), allTransports)
	}
	for _, r := range rep.Results {
		checkDelivery(t, r)
		if r.Server != nil || r.ServerNote != notMeasuredExternal {
			t.Errorf("%s: server %+v, note %q; want no figure and %q", r.Transport, r.Server, r.ServerNote, notMeasuredExternal)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for name, out := range map[string]string{"stdout": stdout.String(), "report.md": string(md)} {
		if !strings.Contains(out, notMeasuredExternal) {
			t.Errorf("%s does not say %q:\n%s", name, notMeasuredExternal, out)
		}
	}

	dir = t.TempDir()
	stdout.Reset()
	args := append([]string{"-url", srv.base, "-pids", strconv.Itoa(pid) + "," + strconv.Itoa(os.Getpid()), "-transports", "ws", "-out", dir}, short...)
	if err := run(ctx, args, &stdout, io.Discard); err != nil {
		t.Fatalf("run -url -pids: %v\n%s", err, stdout.String())
	}
	r := readReport(t, dir).Results[0]
	checkDelivery(t, r)
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

func readReport(t *testing.T, dir string) Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestDeployNginxConfig: the bench fills deploy/nginx.conf in as
// deploy/cluster.sh does, with room for the scenario's connections, and
// refuses a config it could not fill.
func TestDeployNginxConfig(t *testing.T) {
	path, err := findDeployConf()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := deployNginxConfig(string(b), "127.0.0.1:9000", "", []string{"127.0.0.1:9001", "127.0.0.1:9002"}, 30000)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:9000;", "server 127.0.0.1:9001 max_fails=1 fail_timeout=3s;", "server 127.0.0.1:9002 ",
		"proxy_read_timeout 90s;", "worker_connections 30000;", "worker_rlimit_nofile 60000;", "proxy_buffering off;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "{{") {
		t.Errorf("a placeholder is left:\n%s", conf)
	}
	if _, err := deployNginxConfig(strings.ReplaceAll(string(b), "{{UPSTREAMS}}", ""), "127.0.0.1:9000", "", []string{"127.0.0.1:9001"}, 10); err == nil || !strings.Contains(err.Error(), "{{UPSTREAMS}}") {
		t.Errorf("a config without {{UPSTREAMS}}: error %v, want one naming it", err)
	}
}

// TestCluster runs the bench's -cluster mode: skipped without nginx or
// nats-server, failed under CI=true. Its parts run one after the other (each
// checks that no process of a -cluster is left once it is over), beside
// the package's other tests, none of which starts a nats-server, an nginx
// with a -cluster's prefix or a fourway node on JetStream.
func TestCluster(t *testing.T) {
	t.Parallel()
	if m := clusterMissing(testNginx(), findNatsServer()); m != "" {
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
	args := []string{"-cluster", "-fourway", fourwayBinary(t), "-nginx", testNginx(), "-subs", "3", "-rate", "40", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms",
		"-poll-interval", "200ms", "-acks", "100", "-quiet", "-out", dir}
	begin := time.Now()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("-cluster, %d rows: %s", 3*len(allTransports), time.Since(begin).Round(time.Millisecond))
	rep := readReport(t, dir)
	want := map[string][]string{
		setupMemory:    {"fourway"},
		setupJetStream: {"fourway a", "nats-server 1", "nats-server 2", "nats-server 3"},
		setupCluster:   {"fourway a", "fourway b", "nats-server 1", "nats-server 2", "nats-server 3", "nginx"},
	}
	rows := map[string]int{}
	for _, r := range rep.Results {
		rows[r.Setup]++
		checkDelivery(t, r)
		var names []string
		for _, p := range r.Procs {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != strings.Join(want[r.Setup], ",") || r.Server == nil {
			t.Errorf("%s: processes %v (server %+v), want %v and their sum", r.label(), names, r.Server, want[r.Setup])
		}
		if r.PublishRTT.Count == 0 {
			t.Errorf("%s: no publish round trip measured", r.label())
		}
	}
	for s := range want {
		if rows[s] != len(allTransports) {
			t.Errorf("setup %s: %d rows, want %d", s, rows[s], len(allTransports))
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
		if !strings.Contains(string(md), want) || !strings.Contains(stdout.String(), want) {
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
	args := []string{"-cluster", "-fourway", fourwayBinary(t), "-setups", "cluster", "-nginx", testNginx(), "-transports", "ws", "-subs", "2", "-rate", "10", "-warmup", "30s", "-duration", "30s", "-acks", "0", "-quiet", "-out", t.TempDir()}
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
		writers     map[string]string // the -url server's; nil: old, the fake from before --longpoll-writer
		transports  string
		want, wants string
	}{
		{map[string]string{}, "longpoll-direct", `the server's long-poll writer is "nethttp" (longpoll.writer in GET /api/config), but longpoll-direct measures "direct"`,
			"measure longpoll-direct against a `fourway --longpoll-writer direct`"},
		{map[string]string{"longpoll-writer": "direct"}, "longpoll", `the server's long-poll writer is "direct"`,
			"measure longpoll against a `fourway --longpoll-writer nethttp`"},
		{map[string]string{"longpoll-writer": "direct"}, "ws+sse-direct+longpoll-direct", `the server's SSE writer is "r3labs" (sse.writer in GET /api/config), but sse-direct in ws+sse-direct+longpoll-direct measures "direct"`,
			"measure ws+sse-direct+longpoll-direct against a `fourway --sse-writer direct --longpoll-writer direct`"},
		{nil, "longpoll", "GET /api/config names no long-poll writer (longpoll.writer): a fourway from before --longpoll-writer", "--longpoll-writer nethttp"},
	} {
		base := old.URL
		if c.writers != nil {
			srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Writers: c.writers})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.stop()
			base = srv.base
		}
		var stdout bytes.Buffer
		err := run(ctx, []string{"-url", base, "-transports", c.transports, "-subs", "1", "-duration", "100ms", "-quiet", "-out", t.TempDir()}, &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("-url %v -transports %s: error %v, want one naming the server and saying %q and %q", c.writers, c.transports, err, c.want, c.wants)
		}
		if stdout.Len() != 0 {
			t.Errorf("-transports %s: a table was printed for a server of another writer:\n%s", c.transports, stdout.String())
		}
	}
}
