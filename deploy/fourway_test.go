package deploy

// The tests of this directory run fourway as it is deployed: the real
// binary, built once for them (package node, as the bench builds it),
// each node a process of its own with its flags, the FOURWAY_* variables
// of the tests' environment cleared. They drive the nodes over HTTP only.

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"fourway/deploy/node"
	"fourway/transports/transportstest"
)

// TestMain removes the fourway binary the tests built, once they are over.
func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// built is the fourway binary the tests start: built once, from this
// module, with the race detector when the tests run with it (go test
// -race), so that it watches the nodes as it watches the tests.
var built = node.Once{Flags: raceFlags()}

func fourwayBinary(t testing.TB) string {
	t.Helper()
	bin, err := built.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// raceFlags are the build flags that give the nodes the race detector
// when this test binary has it.
func raceFlags() []string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return []string{"-race"}
			}
		}
	}
	return nil
}

// fourway is a fourway node: the binary, run with the tests' flags on a
// free loopback port.
type fourway struct {
	URL  string // http://127.0.0.1:PORT
	node *node.Node

	once sync.Once
	stop error // Stop's answer
}

// startWait bounds a node's start in these tests: its listening, then
// its feed's readiness (NATS's election included), on a busy machine.
const startWait = 20 * time.Second

// startFourway runs a node with args (the ticker off unless args set it)
// and waits until it says where it listens and /healthz answers 200. The
// node stops when the test ends.
func startFourway(t testing.TB, args ...string) *fourway {
	t.Helper()
	f := launchFourway(t, args...)
	f.awaitReady(t)
	return f
}

// launchFourway runs a node as startFourway does, but returns as soon as
// it listens, ready or not. The node is stopped when the test ends, and
// the test fails if it does not stop well (a race the detector found
// included: the race detector makes a process exit 66).
func launchFourway(t testing.TB, args ...string) *fourway {
	t.Helper()
	all := append([]string{"--addr", "127.0.0.1:0", "--ticker", "0"}, args...)
	n, err := node.Start(fourwayBinary(t), all, node.Env())
	if err != nil {
		t.Fatal(err)
	}
	url, err := n.WaitListening(context.Background(), startWait)
	if err != nil {
		_ = n.Stop()
		t.Fatalf("fourway %s: %v", strings.Join(args, " "), err)
	}
	f := &fourway{URL: url, node: n}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("fourway %s stopped with error: %v", strings.Join(args, " "), err)
		}
	})
	return f
}

// logs is what the node has logged (its stdout), and what it said on
// stderr.
func (f *fourway) logs() string { return f.node.Output() }

// awaitReady waits until /healthz answers 200, and fails the test with the
// node's log if the node exits first or startWait passes.
func (f *fourway) awaitReady(t testing.TB) {
	t.Helper()
	if err := f.node.WaitHealthy(context.Background(), http.DefaultClient, f.URL, startWait); err != nil {
		t.Fatalf("%v\n%s", err, f.logs())
	}
}

// awaitExit waits until the node exits by itself (within startWait), and
// returns what it said on exiting, with its exit status: nil if it
// exited with status 0. Stop then has nothing to stop.
func (f *fourway) awaitExit(t testing.TB) error {
	t.Helper()
	select {
	case <-f.node.Exited():
	case <-time.After(startWait):
		t.Fatalf("the node still runs after %v:\n%s", startWait, f.logs())
	}
	f.once.Do(func() {})
	if f.node.Err() == nil {
		return nil
	}
	var said []string
	for line := range strings.Lines(f.logs()) {
		if why, ok := strings.CutPrefix(line, "fourway: "); ok { // main's last words, on stderr
			said = append(said, strings.TrimSpace(why))
		}
	}
	return errors.New(strings.Join(said, "; ") + " (" + f.node.Err().Error() + ")")
}

// Stop ends the node with SIGTERM, as it stops gracefully, and says how
// it ended.
func (f *fourway) Stop() error {
	f.once.Do(func() { f.stop = f.node.Stop() })
	return f.stop
}

// get sends GET url and returns the status and the body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	code, body, _ := transportstest.GetURL(t, url)
	return code, body
}

// publish sends body as text to POST /api/messages and returns the status.
var publish = transportstest.PostText
