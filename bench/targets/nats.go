package targets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"fourway/bench/load"
)

const (
	clusterStream   = "FOURWAY" // the feed's stream, fresh for every row
	clusterReplicas = 3         // copies of it: one per nats-server
	clusterNodes    = 3         // nats-server processes
	defaultNats     = "/usr/sbin/nats-server"
	deployConfPath  = "deploy/nginx.conf"
	deployReadTime  = "90s" // deploy/cluster.sh's proxy read timeout
)

// FindNatsServer is the nats-server on PATH, or Debian's.
func FindNatsServer() string {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return defaultNats
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
		if !load.SleepUntil(ctx, time.Now().Add(200*time.Millisecond)) { // retrying a placement, bounded by the deadline
			return ctx.Err()
		}
	}
}

// tryPlace creates an R3 stream and deletes it again.
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
func (c *natsCluster) parts() []load.ProcPart {
	var out []load.ProcPart
	for i, pid := range c.pids {
		out = append(out, load.ProcPart{Name: fmt.Sprintf("nats-server %d", i+1), CPU: []int{pid}, RSS: []int{pid}})
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
