package targets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/deploy/node"
	"fourway/transports/wire"
)

// -cluster: the bench starts what deploy/cluster.sh starts (a 3-node NATS
// JetStream cluster of Debian's nats-server, fourway nodes on one R3
// stream, deploy/nginx.conf in front) and measures, row after row, each
// transport on three setups in turn: one node on the in-memory feed, one
// node on JetStream, two nodes on JetStream behind nginx. Every process
// of a setup is a process of its own, so the CPU per delivery of each is
// read from /proc and shown apart, then summed.

// ClusterMissing says what -cluster lacks to run, naming the Debian
// package, or "" if nothing is missing.
func ClusterMissing(nginx, natsServer string) string {
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

// findDeployConf finds deploy/nginx.conf in the fourway module.
func findDeployConf() (string, error) {
	root, err := node.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("-cluster: %s not found: %w", deployConfPath, err)
	}
	p := filepath.Join(root, deployConfPath)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("-cluster: %s: %w", p, err)
	}
	return p, nil
}

// workerConnections finds nginx.conf's worker_connections line.
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
func (ce *clusterEnv) startSetup(ctx context.Context, sc plan.Scenario, cc childConfig) (_ *load.Server, err error) {
	if sc.Setup == plan.SetupMemory {
		return startFourwayChild(ctx, cc)
	}
	if err := ce.nats.deleteStream(ctx, clusterStream); err != nil {
		return nil, err
	}
	var started stopList
	defer func() {
		if err != nil {
			started.stop()
		}
	}()
	nodes, err := ce.startNodes(ctx, sc, cc, &started)
	if err != nil {
		return nil, err
	}
	if sc.Setup == plan.SetupJetStream {
		node := nodes[0]
		return &load.Server{Base: node.Base, Stop: started.stop, Nodes: node.Nodes,
			Parts: func() []load.ProcPart { return append(node.Parts(), ce.nats.parts()...) }}, nil
	}
	return ce.behindNginx(ctx, sc, nodes, &started)
}

// stopList stops what a setup started, the last started first.
type stopList []func() error

// stop stops them all and returns the first error.
func (l *stopList) stop() error {
	var first error
	for i := len(*l) - 1; i >= 0; i-- {
		if e := (*l)[i](); e != nil && first == nil {
			first = e
		}
	}
	return first
}

// startNodes starts the setup's fourway nodes on the stream, a on
// JetStream, a and b for the cluster, one at a time: the first creates
// the stream, the next finds it.
func (ce *clusterEnv) startNodes(ctx context.Context, sc plan.Scenario, cc childConfig, started *stopList) ([]*load.Server, error) {
	names := []string{"a"}
	if sc.Setup == plan.SetupCluster {
		names = []string{"a", "b"}
	}
	var nodes []*load.Server
	for _, n := range names {
		ncc := cc
		ncc.NATS, ncc.Stream, ncc.Replicas, ncc.Node = ce.nats.url(), clusterStream, clusterReplicas, n
		if cc.Profile != "" {
			ncc.Profile = strings.TrimSuffix(cc.Profile, ".pprof") + "-" + sc.Setup + "-" + n + ".pprof"
		}
		srv, err := startFourwayChild(ctx, ncc)
		if err != nil {
			return nil, fmt.Errorf("fourway node %s on JetStream: %w", n, err)
		}
		*started = append(*started, srv.Stop)
		nodes = append(nodes, srv)
	}
	return nodes, nil
}

// behindNginx starts nginx from deploy/nginx.conf in front of the nodes,
// sized for the scenario, and returns the setup as one server at nginx's
// address. Before any subscriber starts, it waits until every node holds
// the primer.
func (ce *clusterEnv) behindNginx(ctx context.Context, sc plan.Scenario, nodes []*load.Server, started *stopList) (*load.Server, error) {
	dir, addr, user, err := nginxPrefix("fourway-bench-cluster-")
	if err != nil {
		return nil, err
	}
	var ups, bases []string
	for _, n := range nodes {
		ups = append(ups, strings.TrimPrefix(n.Base, "http://"))
		bases = append(bases, n.Nodes...)
	}
	conf, err := deployNginxConfig(ce.conf, addr, user, ups, 2*int(plan.FilesNeeded(sc)))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	base := "http://" + addr
	master, stopNginx, err := runNginx(ctx, &nginxRun{binary: ce.nginx, dir: dir, conf: conf, readyURL: base + "/healthz", proto: "h1"})
	if err != nil {
		return nil, fmt.Errorf("nginx from %s: %w", deployConfPath, err)
	}
	*started = append(*started, stopNginx)
	return &load.Server{
		Base:  base,
		Stop:  started.stop,
		Nodes: bases,
		Parts: func() []load.ProcPart {
			var out []load.ProcPart
			for _, n := range nodes {
				out = append(out, n.Parts()...)
			}
			return append(append(out, ce.nats.parts()...), nginxPart("nginx", master))
		},
		Primed: func(ctx context.Context, cursor string) error { return waitNodesHave(ctx, nodes, cursor) },
	}, nil
}

// waitNodesHave waits until every node holds the message with id cursor
// (the primer, published through nginx to one of them): a subscriber that
// starts from it without an epoch yet, on a node that has not heard of it,
// would be told reset.
func waitNodesHave(ctx context.Context, nodes []*load.Server, cursor string) error {
	id, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("primer id %q is not a message id", cursor)
	}
	c := load.PublisherClient("h1", 1)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			p, err := wire.GetPage(ctx, c, n.Base+"/api/poll?since="+strconv.FormatUint(id-1, 10)+"&limit=1")
			if err == nil && !p.Reset && p.Next >= id {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %s did not have the primer (id %d) within 10 s: %v", n.Base, id, err)
			}
			if !load.SleepUntil(ctx, time.Now().Add(10*time.Millisecond)) { // polling a node, bounded by the deadline
				return ctx.Err()
			}
		}
	}
	return nil
}

// startClusterEnv checks the programs -cluster needs and starts the NATS
// cluster every JetStream row shares; stop ends it.
func startClusterEnv(ctx context.Context, cfg plan.Config, prog *load.Progress) (*clusterEnv, func(), error) {
	if m := ClusterMissing(cfg.Nginx, cfg.NatsServer); m != "" {
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
	prog.Set("-cluster", "starting 3 nats-server", 0)
	nc, err := startNatsCluster(ctx, cfg.NatsServer)
	if err != nil {
		return nil, nil, fmt.Errorf("-cluster: %w", err)
	}
	return &clusterEnv{nats: nc, nginx: cfg.Nginx, conf: string(conf)}, func() { _ = nc.stop() }, nil
}
