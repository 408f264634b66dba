// Package natstest runs NATS servers with JetStream for tests, on loopback:
// the embedded github.com/nats-io/nats-server/v2 and the nats-server
// binary found on PATH (Debian's package is 2.9, so a test can check that
// fourway needs nothing newer), each alone or as a cluster. Every server stores its
// stream in the test's temporary directory and stops when the test ends.
package natstest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Wait bounds every wait for a server: long enough for a busy 2-core
// machine running -race.
const Wait = 20 * time.Second

// Start runs one embedded server with JetStream and returns it, with
// what set changes in its options (a user and password, say).
func Start(t testing.TB, set ...func(*server.Options)) *server.Server {
	t.Helper()
	opts := options(t, "single", freePort(t))
	for _, f := range set {
		f(opts)
	}
	s := run(t, opts)
	t.Cleanup(s.Shutdown)
	return s
}

// Cluster is a JetStream cluster of embedded servers, all routed to one
// another. Server i keeps its ports and its store across Stop and Restart,
// as a real node that is restarted does.
type Cluster struct {
	t       testing.TB
	opts    []*server.Options
	Servers []*server.Server // nil while stopped
}

// StartCluster runs n embedded servers as one JetStream cluster and waits
// until it has a leader.
//
// Its ports were free a moment before it starts, and another process
// (the tests of other packages, run beside these) may take one meanwhile,
// for a connection of its own: a server that cannot listen is never ready.
// So a cluster that does not listen within LaunchWait is stopped and
// started again on fresh ports, a few times, before the test fails.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	for range LaunchAttempts - 1 {
		c := NewCluster(t, n)
		c.Launch()
		if c.Listening(LaunchWait) {
			c.WaitLeader()
			return c
		}
		c.StopAll()
	}
	c := NewCluster(t, n)
	c.Launch()
	c.WaitListening()
	c.WaitLeader()
	return c
}

// A test that starts a cluster together with what uses it (the fourway
// nodes of a scenario, which must be given the cluster's ports) starts
// them all again on fresh ports, as StartCluster does, when the cluster
// does not listen within LaunchWait: LaunchAttempts times before it fails.
const (
	LaunchAttempts = 3                // clusters started on fresh ports before a test fails
	LaunchWait     = 10 * time.Second // a cluster that listens takes a second or two, under -race on a busy machine
)

// Listening reports whether every running server takes clients within d.
func (c *Cluster) Listening(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for _, s := range c.Servers {
		if s != nil && !s.ReadyForConnections(max(time.Until(deadline), time.Millisecond)) {
			return false
		}
	}
	return true
}

// StopAll shuts every server down.
func (c *Cluster) StopAll() {
	for i, s := range c.Servers {
		if s != nil {
			s.Shutdown()
			c.Servers[i] = nil
		}
	}
}

// NewCluster prepares n embedded servers of one JetStream cluster, routed
// to one another, and starts none: Launch does.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	routePorts := make([]int, n)
	for i := range routePorts {
		routePorts[i] = freePort(t)
	}
	for i := range n {
		o := options(t, serverName(i), freePort(t))
		o.Cluster.Name = "fourway-test"
		o.Cluster.Host = "127.0.0.1"
		o.Cluster.Port = routePorts[i]
		// Clients are not told of the other servers: a client knows the
		// URLs it was given, so a test can cut a node off from NATS.
		o.Cluster.NoAdvertise = true
		for j, p := range routePorts {
			if j != i {
				o.Routes = append(o.Routes, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p)})
			}
		}
		c.opts = append(c.opts, o)
	}
	c.Servers = make([]*server.Server, n)
	t.Cleanup(func() {
		for _, s := range c.Servers {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return c
}

// Launch starts every server at once and returns without waiting for any:
// as docker compose or Kubernetes start a cluster. WaitListening waits
// until they take clients, WaitLeader until JetStream has its leader.
func (c *Cluster) Launch() {
	c.t.Helper()
	for i, o := range c.opts {
		s, err := server.NewServer(o)
		if err != nil {
			c.t.Fatalf("nats server %s: %v", o.ServerName, err)
		}
		c.Servers[i] = s
		go s.Start()
	}
}

// WaitListening waits until every running server takes clients.
func (c *Cluster) WaitListening() {
	c.t.Helper()
	for _, s := range c.Servers {
		if s != nil && !s.ReadyForConnections(Wait) {
			c.t.Fatalf("nats server %s not ready in %v", s.Name(), Wait)
		}
	}
}

// URL is server i's client URL (also while it is stopped).
func (c *Cluster) URL(i int) string {
	return "nats://127.0.0.1:" + strconv.Itoa(c.opts[i].Port)
}

// URLs is every server's client URL, comma-separated, as --nats takes them.
func (c *Cluster) URLs() string {
	var us []string
	for i := range c.opts {
		us = append(us, c.URL(i))
	}
	return strings.Join(us, ",")
}

// Stop shuts server i down and waits until it has stopped.
func (c *Cluster) Stop(i int) {
	s := c.Servers[i]
	c.Servers[i] = nil
	s.Shutdown()
	s.WaitForShutdown()
}

// Restart starts server i again, on its ports with its store (or for the
// first time, after NewCluster), and waits until it takes clients.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Servers[i] = run(c.t, c.opts[i])
}

// WaitLeader waits until a running server is the JetStream meta leader,
// every running server is current with it, and the leader can place a
// stream on every one of them (it has their stats: before that, creating
// a stream of as many replicas fails with "no suitable peers").
func (c *Cluster) WaitLeader() {
	c.t.Helper()
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		running, placeable, current := 0, 0, true
		for _, s := range c.Servers {
			if s == nil {
				continue
			}
			running++
			if s.JetStreamIsLeader() {
				placeable = len(s.JetStreamClusterPeers())
			}
			current = current && s.JetStreamIsCurrent()
		}
		if placeable == running && current {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("the JetStream cluster has no leader after %v", Wait)
}

func options(t testing.TB, name string, port int) *server.Options {
	return &server.Options{
		ServerName: name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(t.TempDir(), name),
		NoLog:      true,
		NoSigs:     true,
	}
}

func run(t testing.TB, o *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("nats server %s: %v", o.ServerName, err)
	}
	go s.Start()
	if !s.ReadyForConnections(Wait) {
		s.Shutdown()
		t.Fatalf("nats server %s not ready in %v", o.ServerName, Wait)
	}
	return s
}

// FreePort returns a loopback port that was free a moment ago: a test
// gives it to a node before the server that will listen on it runs.
func FreePort(t testing.TB) int { return freePort(t) }

// RefusingPort returns a loopback port where no NATS is, and none will be
// while the test runs: the port is bound, never listened on, so a
// connection to it is refused at once, and no other process can take it
// meanwhile (a port that was free a moment ago may be, by another test
// that then answers, or holds the connection silent).
func RefusingPort(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// freePort returns a loopback port that was free a moment ago. A cluster
// needs its route ports before any server starts, to list them all.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartBinary runs the nats-server binary on PATH (or Debian's
// /usr/sbin/nats-server) with JetStream, alone,
// and returns its URL and its version line. It skips the test when there
// is none, and fails it instead under CI=true, where it must be installed.
func StartBinary(t testing.TB) (url, version string) {
	t.Helper()
	bin, version := binary(t)
	port := freePort(t)
	p := spawn(t, bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "--server_name", "single", "-js", "-sd", t.TempDir())
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := p.waitListening(addr, "single", time.Now().Add(Wait)); err != nil {
		t.Fatal(err)
	}
	return "nats://" + addr, version
}

// binary finds the nats-server binary and its version line, or skips the
// test (fails it under CI=true).
func binary(t testing.TB) (bin, version string) {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/nats-server") // Debian's, when /usr/sbin is not on PATH
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nats-server is not installed (apt-get install nats-server); CI=true needs it")
		}
		t.Skip("nats-server not installed (Debian: apt-get install nats-server)")
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("nats-server --version: %v %s", err, out)
	}
	return bin, strings.TrimSpace(string(out))
}

// process is a running nats-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is then its exit
	err  error
}

// spawn starts bin with args, killed when the test ends. What it wrote is
// in the test's log if the test fails. It calls t.Fatalf and t.Cleanup:
// call it from the test's goroutine only.
func spawn(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nats-server: %v", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("nats-server %s said:\n%s", strings.Join(args, " "), out.String())
		}
	})
	return p
}

// stop kills the process, if it still runs, and waits until it has exited.
func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitListening waits until the process takes clients at addr, and says
// why not if it exits first or the deadline passes. A process that cannot
// listen (its port taken meanwhile) exits at once; until it has, the
// port may answer for whoever took it: a connection counts only once the
// server named name greets it.
func (p *process) waitListening(addr, name string, deadline time.Time) error {
	for {
		if greets(addr, name) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("nats-server %s for %s exited: %v", name, addr, p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server %s not listening on %s by its deadline", name, addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// greets reports whether the NATS server named name answers at addr: a
// NATS server's first words to a client are its INFO, a line of JSON
// that names it.
func greets(addr, name string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	info, ok := strings.CutPrefix(line, "INFO ")
	var server struct {
		Name string `json:"server_name"`
	}
	return ok && json.Unmarshal([]byte(info), &server) == nil && server.Name == name
}

// BinaryCluster is a JetStream cluster of nats-server processes (the
// binary StartBinary runs), routed to one another, as an operator runs
// Debian's package on three machines.
type BinaryCluster struct {
	t         testing.TB
	bin       string
	Version   string // the binary's version line
	ports     []int  // the client ports
	routes    []int  // the route ports
	processes []*process
}

// NewBinaryCluster prepares n nats-server processes of one cluster and
// starts none: Launch does. It skips the test when there is no binary, as
// StartBinary does.
//
// Its ports are free when it picks them, and may be taken by another
// process before Launch starts the servers: a test that cannot afford to
// fail then waits for Listening and starts again on a new BinaryCluster,
// as StartCluster does for the embedded servers.
func NewBinaryCluster(t testing.TB, n int) *BinaryCluster {
	t.Helper()
	c := &BinaryCluster{t: t}
	c.bin, c.Version = binary(t)
	for range n {
		c.ports = append(c.ports, freePort(t))
		c.routes = append(c.routes, freePort(t))
	}
	return c
}

// Launch starts every process at once and returns without waiting for any.
func (c *BinaryCluster) Launch() {
	c.t.Helper()
	for i := range c.ports {
		var routes []string
		for j, p := range c.routes {
			if j != i {
				routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
			}
		}
		c.processes = append(c.processes, spawn(c.t, c.bin,
			"-a", "127.0.0.1", "-p", strconv.Itoa(c.ports[i]), "--server_name", serverName(i),
			"-js", "-sd", c.t.TempDir(),
			"--cluster_name", "fourway-test", "--cluster", "nats://127.0.0.1:"+strconv.Itoa(c.routes[i]),
			"--routes", strings.Join(routes, ","), "--no_advertise=true"))
	}
}

// WaitListening waits until every process takes clients and routes, and
// fails the test if one exits first or Wait passes.
func (c *BinaryCluster) WaitListening() {
	c.t.Helper()
	if err := c.listening(time.Now().Add(Wait)); err != nil {
		c.t.Fatal(err)
	}
}

// Listening reports whether every process takes clients and routes
// within d. It answers false as soon as one has exited: a nats-server
// whose port (client or route) was taken exits at once.
func (c *BinaryCluster) Listening(d time.Duration) bool {
	c.t.Helper()
	err := c.listening(time.Now().Add(d))
	if err != nil {
		c.t.Logf("the nats-server cluster does not listen: %v", err)
	}
	return err == nil
}

// listening waits until every process greets on its client port and on
// its route port: it binds the second after the first, and exits if it
// cannot.
func (c *BinaryCluster) listening(deadline time.Time) error {
	for i, p := range c.processes {
		for _, port := range []int{c.ports[i], c.routes[i]} {
			if err := p.waitListening("127.0.0.1:"+strconv.Itoa(port), serverName(i), deadline); err != nil {
				return err
			}
		}
	}
	return nil
}

// serverName is the name of server i of a cluster.
func serverName(i int) string { return "n" + strconv.Itoa(i+1) }

// StopAll kills every process and waits until they have exited.
func (c *BinaryCluster) StopAll() {
	for _, p := range c.processes {
		p.stop()
	}
}

// URLs is every server's client URL, comma-separated, as --nats takes them.
func (c *BinaryCluster) URLs() string {
	var us []string
	for _, p := range c.ports {
		us = append(us, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	return strings.Join(us, ",")
}

// syncBuffer is a bytes.Buffer safe for a process's two pipes and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Describe names a server for a test's log.
func Describe(s *server.Server) string { return fmt.Sprintf("%s at %s", s.Name(), s.ClientURL()) }

// Admin connects a plain JetStream client to url, as an operator's tool
// would, closed when the test ends.
func Admin(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// RecreateStream deletes the stream named in cfg and creates it anew, as
// an operator who recreates a stream does. A create just after the delete
// can be refused while the server still removes the old stream's store
// ("error creating store for stream", JetStream API error 10049: seen
// once in CI): it is tried again, within Wait.
func RecreateStream(t testing.TB, js jetstream.JetStream, cfg jetstream.StreamConfig) {
	t.Helper()
	ctx := context.Background()
	if err := js.DeleteStream(ctx, cfg.Name); err != nil {
		t.Fatal(err)
	}
	const storeNotYetFree = 10049
	deadline := time.Now().Add(Wait)
	for {
		_, err := js.CreateStream(ctx, cfg)
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			return
		case errors.As(err, &apiErr) && apiErr.ErrorCode == storeNotYetFree && time.Now().Before(deadline):
			time.Sleep(10 * time.Millisecond)
		default:
			t.Fatalf("create stream %s again: %v", cfg.Name, err)
		}
	}
}
