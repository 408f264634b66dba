package main

// -cluster: the bench starts what deploy/cluster.sh starts (a 3-node NATS
// JetStream cluster of Debian's nats-server, fourway nodes on one R3
// stream, deploy/nginx.conf in front) and measures, row after row, each
// transport on three setups in turn: one node on the in-memory feed, one
// node on JetStream, two nodes on JetStream behind nginx. Every process
// of a setup is a process of its own, so the CPU per delivery of each is
// read from /proc and shown apart, then summed.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"fourway/transports/wire"
)

// The setups of -cluster, in the order each transport is measured on them.
const (
	setupMemory    = "memory"    // one fourway node, the in-memory feed
	setupJetStream = "jetstream" // one fourway node on the R3 stream
	setupCluster   = "cluster"   // two fourway nodes on the R3 stream, behind nginx
)

var clusterSetups = []string{setupMemory, setupJetStream, setupCluster}

// setupTitle says what a setup is, for the report.
func setupTitle(s string) string {
	switch s {
	case setupMemory:
		return "1 node, in-memory feed"
	case setupJetStream:
		return "1 node, JetStream R3 (3 nats-server)"
	case setupCluster:
		return "2 nodes, JetStream R3 (3 nats-server), behind nginx"
	}
	return s
}

const (
	clusterStream   = "FOURWAY" // the feed's stream, fresh for every row
	clusterReplicas = 3         // copies of it: one per nats-server
	clusterNodes    = 3         // nats-server processes
	defaultNats     = "/usr/sbin/nats-server"
	deployConfPath  = "deploy/nginx.conf"
	deployReadTime  = "90s" // deploy/cluster.sh's proxy read timeout
)

// findNatsServer is the nats-server on PATH, or Debian's.
func findNatsServer() string {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return defaultNats
}

// clusterMissing says what -cluster lacks to run, naming the Debian
// package, or "" if nothing is missing.
func clusterMissing(nginx, natsServer string) string {
	var missing []string
	if _, err := os.Stat(nginx); err != nil {
		missing = append(missing, nginx+" not found (Debian package nginx)")
	}
	if _, err := os.Stat(natsServer); err != nil {
		missing = append(missing, natsServer+" not found (Debian package nats-server)")
	}
	if len(missing) == 0 {
		return ""
	}
	return "-cluster: " + strings.Join(missing, "; ") + ": apt-get install nginx nats-server"
}

// natsCluster is three nats-server processes routed to one another on
// loopback, JetStream on, each with a store of its own.
type natsCluster struct {
	dir    string
	urls   []string // client URLs, nats://127.0.0.1:PORT
	pids   []int
	waited []chan struct{}
	cmds   []*exec.Cmd
}

// freePorts picks n free loopback ports, holding them all at once so they
// differ. nats-server binds them a moment later.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := listenLoopback()
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startNatsCluster starts the cluster and returns once it can place an R3
// stream, or says why not within 60 s.
func startNatsCluster(ctx context.Context, bin string) (_ *natsCluster, err error) {
	dir, err := os.MkdirTemp("", "fourway-bench-nats-")
	if err != nil {
		return nil, err
	}
	c := &natsCluster{dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	ports, err := freePorts(2 * clusterNodes)
	if err != nil {
		return nil, err
	}
	var routes []string
	for i := range clusterNodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[clusterNodes+i]))
	}
	for i := range clusterNodes {
		name := fmt.Sprintf("nats%d", i+1)
		log, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		// deploy/cluster.sh's command line, on the ports picked above.
		cmd := exec.Command(bin, "-n", name, "-a", "127.0.0.1", "-p", strconv.Itoa(ports[i]), "-js", "-sd", filepath.Join(dir, name),
			"--cluster_name", "fourway-bench", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			log.Close()
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		log.Close() // the child holds its own descriptor
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		c.cmds = append(c.cmds, cmd)
		c.pids = append(c.pids, cmd.Process.Pid)
		c.waited = append(c.waited, waited)
		c.urls = append(c.urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

// url is every server's client URL, as fourway's --nats takes them.
func (c *natsCluster) url() string { return strings.Join(c.urls, ",") }

// logTail is the end of one server's log, for an error.
func (c *natsCluster) logTail(i int) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("nats%d.log", i+1)))
	return tail(b, 600)
}

// exited names a server that is no longer running, or "".
func (c *natsCluster) exited() string {
	for i, w := range c.waited {
		select {
		case <-w:
			return fmt.Sprintf("nats%d exited: %s", i+1, c.logTail(i))
		default:
		}
	}
	return ""
}

// connect opens a NATS connection to the cluster, for the bench's own use.
func (c *natsCluster) connect() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(c.url(), nats.Name("fourway bench"), nats.Timeout(2*time.Second))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// waitReady waits until the cluster's meta leader can place an R3 stream
// on every server: before that, creating the feed's stream fails ("no
// suitable peers for placement", or no JetStream leader yet).
func (c *natsCluster) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for {
		if e := c.exited(); e != "" {
			return errors.New(e)
		}
		last = c.tryPlace(ctx)
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the NATS cluster could not place an R3 stream within %s: %v (log of nats1: %s)", within, last, c.logTail(0))
		}
		if !sleepUntil(ctx, time.Now().Add(200*time.Millisecond)) { // retrying a placement, bounded by the deadline
			return ctx.Err()
		}
	}
}

func (c *natsCluster) tryPlace(ctx context.Context) error {
	nc, js, err := c.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	const probe = "FOURWAY_BENCH_READY"
	if _, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: probe, Subjects: []string{"fourway.bench.ready"}, Replicas: clusterReplicas, Storage: jetstream.MemoryStorage}); err != nil {
		return err
	}
	return js.DeleteStream(cctx, probe)
}

// deleteStream removes a stream if it is there: every JetStream row starts
// on a fresh feed (stream sequence 1, a new epoch).
func (c *natsCluster) deleteStream(ctx context.Context, name string) error {
	nc, js, err := c.connect()
	if err != nil {
		return fmt.Errorf("NATS: %w", err)
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(cctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", name, err)
	}
	return nil
}

// parts are the NATS servers as processes of a setup.
func (c *natsCluster) parts() []procPart {
	var out []procPart
	for i, pid := range c.pids {
		out = append(out, procPart{Name: fmt.Sprintf("nats-server %d", i+1), CPU: []int{pid}, RSS: []int{pid}})
	}
	return out
}

// stop ends every server (SIGTERM, then SIGKILL after 10 s) and removes
// their stores.
func (c *natsCluster) stop() error {
	defer os.RemoveAll(c.dir)
	for _, cmd := range c.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	var err error
	for i, w := range c.waited {
		select {
		case <-w:
		case <-time.After(10 * time.Second):
			_ = c.cmds[i].Process.Kill()
			<-w
			err = fmt.Errorf("nats%d did not stop in 10 s; killed", i+1)
		}
	}
	return err
}

// moduleRoot is the directory of the fourway module: the working
// directory or one of its parents (go run ./bench from the repository, go
// test from bench/).
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(mod), "module fourway\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("the fourway module is not the working directory or one of its parents: run the bench from the fourway repository (working directory %s)", wd)
		}
	}
}

// findDeployConf finds deploy/nginx.conf in the fourway module.
func findDeployConf() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("-cluster: %s not found: %w", deployConfPath, err)
	}
	p := filepath.Join(root, deployConfPath)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("-cluster: %s: %w", p, err)
	}
	return p, nil
}

var workerConnections = regexp.MustCompile(`(?m)^(\s*)worker_connections\s+\d+;`)

// deployNginxConfig is deploy/nginx.conf with its placeholders filled in as
// deploy/cluster.sh fills them (read timeout 90s), in front of upstreams,
// and room for connections: worker_connections at least that (each
// proxied client holds two, its own and the one to its node) and twice
// that in worker_rlimit_nofile.
func deployNginxConfig(conf, listen, user string, upstreams []string, connections int) (string, error) {
	for _, ph := range []string{"{{LISTEN}}", "{{USER}}", "{{UPSTREAMS}}", "{{READ_TIMEOUT}}"} {
		if !strings.Contains(conf, ph) {
			return "", fmt.Errorf("%s has no %s placeholder: the bench fills in the ones deploy/cluster.sh fills", deployConfPath, ph)
		}
	}
	if !workerConnections.MatchString(conf) {
		return "", fmt.Errorf("%s has no worker_connections line: the bench sizes it for the scenario", deployConfPath)
	}
	var ups strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&ups, "    server %s max_fails=1 fail_timeout=3s;\n", u) // as deploy/cluster.sh writes them
	}
	conns := max(4096, connections)
	conf = workerConnections.ReplaceAllString(conf, "${1}worker_connections "+strconv.Itoa(conns)+";")
	conf = strings.Replace(conf, "worker_processes 1;", fmt.Sprintf("worker_processes 1;\nworker_rlimit_nofile %d;", 2*conns), 1)
	return strings.NewReplacer("{{LISTEN}}", listen, "{{USER}}", user, "{{UPSTREAMS}}", ups.String(), "{{READ_TIMEOUT}}", deployReadTime).Replace(conf), nil
}

// clusterEnv is what the setups share for a run: the NATS cluster and the
// programs.
type clusterEnv struct {
	nats  *natsCluster
	nginx string
	conf  string // deploy/nginx.conf's text
}

// startSetup starts a scenario's setup: its fourway node(s), and nginx for
// the cluster, and returns them as one server whose parts are every
// process of the setup, the NATS servers included.
func (ce *clusterEnv) startSetup(ctx context.Context, sc Scenario, cc childConfig) (_ *server, err error) {
	if sc.Setup == setupMemory {
		return startFourwayChild(ctx, cc)
	}
	if err := ce.nats.deleteStream(ctx, clusterStream); err != nil {
		return nil, err
	}
	var stops []func() error
	stopAll := func() error {
		var first error
		for i := len(stops) - 1; i >= 0; i-- {
			if e := stops[i](); e != nil && first == nil {
				first = e
			}
		}
		return first
	}
	defer func() {
		if err != nil {
			stopAll()
		}
	}()
	names := []string{"a"}
	if sc.Setup == setupCluster {
		names = []string{"a", "b"}
	}
	var nodes []*server
	for _, n := range names {
		ncc := cc
		ncc.NATS, ncc.Stream, ncc.Replicas, ncc.Node = ce.nats.url(), clusterStream, clusterReplicas, n
		if cc.Profile != "" {
			ncc.Profile = strings.TrimSuffix(cc.Profile, ".pprof") + "-" + sc.Setup + "-" + n + ".pprof"
		}
		// One at a time: the first creates the stream, the next finds it.
		srv, err := startFourwayChild(ctx, ncc)
		if err != nil {
			return nil, fmt.Errorf("fourway node %s on JetStream: %w", n, err)
		}
		stops = append(stops, srv.stop)
		nodes = append(nodes, srv)
	}
	natsParts := ce.nats.parts
	if sc.Setup == setupJetStream {
		node := nodes[0]
		return &server{base: node.base, stop: stopAll, nodes: node.nodes,
			parts: func() []procPart { return append(node.parts(), natsParts()...) }}, nil
	}
	dir, addr, user, err := nginxPrefix("fourway-bench-cluster-")
	if err != nil {
		return nil, err
	}
	var ups []string
	for _, n := range nodes {
		ups = append(ups, strings.TrimPrefix(n.base, "http://"))
	}
	conf, err := deployNginxConfig(ce.conf, addr, user, ups, 2*int(filesNeeded(sc)))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	base := "http://" + addr
	master, stopNginx, err := runNginx(ctx, ce.nginx, dir, conf, base+"/healthz", "h1")
	if err != nil {
		return nil, fmt.Errorf("nginx from %s: %w", deployConfPath, err)
	}
	stops = append(stops, stopNginx)
	var bases []string
	for _, n := range nodes {
		bases = append(bases, n.nodes...)
	}
	return &server{
		base:  base,
		stop:  stopAll,
		nodes: bases,
		parts: func() []procPart {
			var out []procPart
			for _, n := range nodes {
				out = append(out, n.parts()...)
			}
			return append(append(out, natsParts()...), nginxPart("nginx", master))
		},
		primed: func(ctx context.Context, cursor string) error { return waitNodesHave(ctx, nodes, cursor) },
	}, nil
}

// waitNodesHave waits until every node holds the message with id cursor
// (the primer, published through nginx to one of them): a subscriber that
// starts from it without an epoch yet, on a node that has not heard of it,
// would be told reset.
func waitNodesHave(ctx context.Context, nodes []*server, cursor string) error {
	id, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("primer id %q is not a message id", cursor)
	}
	c := publisherClient("h1", 1)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			p, err := wire.GetPage(ctx, c, n.base+"/api/poll?since="+strconv.FormatUint(id-1, 10)+"&limit=1")
			if err == nil && !p.Reset && p.Next >= id {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %s did not have the primer (id %d) within 10 s: %v", n.base, id, err)
			}
			if !sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) { // polling a node, bounded by the deadline
				return ctx.Err()
			}
		}
	}
	return nil
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

// measureAcks publishes n messages of payload bytes to an R1 and an R3
// stream (file storage, as fourway's), in alternating blocks of 50 so that
// both see the same machine, one publish at a time, and returns each
// stream's ack round trip. The streams are deleted afterwards.
func measureAcks(ctx context.Context, c *natsCluster, n, payload int) ([]AckLatency, error) {
	nc, js, err := c.connect()
	if err != nil {
		return nil, fmt.Errorf("NATS: %w", err)
	}
	defer nc.Close()
	type target struct {
		name, subject string
		hists         histSet
		res           AckLatency
	}
	var ts []*target
	for _, r := range []int{1, clusterReplicas} {
		t := &target{name: fmt.Sprintf("FOURWAY_BENCH_ACK_R%d", r), subject: fmt.Sprintf("fourway.bench.ack.r%d", r), hists: newHistSet(1)}
		t.res = AckLatency{Replicas: r, Payload: payload, Connected: nc.ConnectedServerName(),
			What: "nats.go JetStream publish to ack, one at a time, from the bench's process (not through fourway)"}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = js.DeleteStream(cctx, t.name)
		s, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: t.name, Subjects: []string{t.subject}, Replicas: r,
			Storage: jetstream.FileStorage, MaxMsgs: 1000, Discard: jetstream.DiscardOld})
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(cctx); err == nil && info.Cluster != nil {
				t.res.Leader = info.Cluster.Leader
			}
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("create stream %s (R%d): %w", t.name, r, err)
		}
		ts = append(ts, t)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, t := range ts {
			_ = js.DeleteStream(cctx, t.name)
		}
	}()
	data := make([]byte, payload)
	for i := range data {
		data[i] = 'x'
	}
	publish := func(t *target) (int64, error) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := mono()
		if _, err := js.Publish(pctx, t.subject, data); err != nil {
			return 0, fmt.Errorf("publish to %s: %w", t.name, err)
		}
		return mono() - start, nil
	}
	const block, warm = 50, 20
	for _, t := range ts { // warm-up, not recorded: connections, leaders' first writes
		for range warm {
			if _, err := publish(t); err != nil {
				return nil, err
			}
		}
	}
	for done := 0; done < n; done += block {
		for _, t := range ts {
			for range min(block, n-done) {
				took, err := publish(t)
				if err != nil {
					return nil, err
				}
				t.hists[0].record(took)
				t.res.Publishes++
			}
		}
	}
	var out []AckLatency
	for _, t := range ts {
		t.res.Latency = latencyOf(t.hists.merged())
		out = append(out, t.res)
	}
	return out, nil
}

// startClusterEnv checks the programs -cluster needs and starts the NATS
// cluster every JetStream row shares; stop ends it.
func startClusterEnv(ctx context.Context, cfg Config, prog *progress) (*clusterEnv, func(), error) {
	if m := clusterMissing(cfg.Nginx, cfg.NatsServer); m != "" {
		return nil, nil, errors.New(m)
	}
	confPath, err := findDeployConf()
	if err != nil {
		return nil, nil, err
	}
	conf, err := os.ReadFile(confPath)
	if err != nil {
		return nil, nil, err
	}
	prog.set("-cluster", "starting 3 nats-server", 0)
	nc, err := startNatsCluster(ctx, cfg.NatsServer)
	if err != nil {
		return nil, nil, fmt.Errorf("-cluster: %w", err)
	}
	return &clusterEnv{nats: nc, nginx: cfg.Nginx, conf: string(conf)}, func() { _ = nc.stop() }, nil
}
