// Package natstest runs NATS servers with JetStream for tests, on loopback:
// the embedded github.com/nats-io/nats-server/v2, alone or as a cluster,
// and the nats-server binary found on PATH (Debian's package is 2.9), so a
// test can check that fourway needs nothing newer. Every server stores its
// stream in the test's temporary directory and stops when the test ends.
package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Wait bounds every wait for a server: long enough for a busy 2-core
// machine running -race.
const Wait = 20 * time.Second

// Start runs one embedded server with JetStream and returns it.
func Start(t testing.TB) *server.Server {
	t.Helper()
	opts := options(t, "single", freePort(t))
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
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	routePorts := make([]int, n)
	for i := range routePorts {
		routePorts[i] = freePort(t)
	}
	for i := range n {
		o := options(t, "n"+strconv.Itoa(i+1), freePort(t))
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
	for i := range n {
		c.Servers[i] = run(t, c.opts[i])
	}
	t.Cleanup(func() {
		for _, s := range c.Servers {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	c.WaitLeader()
	return c
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

// Restart starts server i again, on its ports with its store.
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
	port := freePort(t)
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nats-server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(Wait)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return "nats://" + addr, strings.TrimSpace(string(out))
		}
		select {
		case err := <-exited:
			t.Fatalf("nats-server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %s after %v", addr, Wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Describe names a server for a test's log.
func Describe(s *server.Server) string { return fmt.Sprintf("%s at %s", s.Name(), s.ClientURL()) }

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
