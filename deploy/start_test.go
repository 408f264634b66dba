package deploy

// A node started before, or together with, its NATS cluster, as docker
// compose or Kubernetes start things: it listens at once, answers /healthz
// 503 {"status":"starting","reason":...} while it waits, and serves the
// feed once NATS and its JetStream are ready; with no NATS at all it exits
// after --nats-wait, saying what it waited for. On both NATS servers the
// project uses: the embedded one and Debian's nats-server (2.9). And the
// credentials in a --nats URL are never printed.

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"fourway/deploy/node"
	"fourway/feed/natstest"
	"fourway/transports/wire"
)

// natsCluster is a 3-node JetStream cluster not yet started: natstest's
// embedded Cluster or its BinaryCluster.
type natsCluster interface {
	Launch()                      // starts every server at once, waiting for none
	URLs() string                 // the servers' client URLs, as --nats takes them
	WaitListening()               // waits until every server takes clients
	Listening(time.Duration) bool // whether every server takes clients within the time given
	StopAll()                     // stops every server
}

// natsServers are the two NATS servers the project uses.
var natsServers = []struct {
	name string
	new  func(t *testing.T) natsCluster
}{
	{"embedded", func(t *testing.T) natsCluster { return natstest.NewCluster(t, 3) }},
	{"nats-server", func(t *testing.T) natsCluster { return natstest.NewBinaryCluster(t, 3) }},
}

// launchNode launches a fourway node on the cluster's stream (CLUSTER,
// R3), as startNode does, but returns as soon as it listens.
func launchNode(t testing.TB, natsURLs, name string, args ...string) *fourway {
	t.Helper()
	all := append([]string{"--nats", natsURLs, "--nats-stream", "CLUSTER", "--nats-replicas", "3", "--node", name}, args...)
	return launchFourway(t, all...)
}

// untilListening runs launch, which makes a new cluster and starts it
// with the fourway nodes of a scenario, each given the cluster's URLs,
// and returns the nodes once the cluster takes clients. The cluster's
// ports were free a moment before, and another process may take one
// meanwhile: a server that cannot listen is never ready. So the whole
// scenario is stopped and launched again, on the fresh ports of a new
// cluster, when the cluster does not listen within natstest.LaunchWait,
// natstest.LaunchAttempts times before the test fails.
func untilListening(t *testing.T, launch func() (natsCluster, []*fourway)) []*fourway {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, nodes := launch()
		if attempt == natstest.LaunchAttempts {
			c.WaitListening()
			return nodes
		}
		if c.Listening(natstest.LaunchWait) {
			return nodes
		}
		t.Logf("attempt %d: the NATS cluster at %s does not listen: starting the scenario again on fresh ports", attempt, c.URLs())
		for _, n := range nodes {
			if err := n.Stop(); err != nil {
				t.Fatalf("stopping a node of attempt %d: %v", attempt, err)
			}
		}
		c.StopAll()
	}
}

// launchTogether launches a new cluster and two fourway nodes on it, a
// and b, at the same instant, as docker compose or Kubernetes do, and
// returns the nodes once the cluster listens (untilListening).
func launchTogether(t *testing.T, newCluster func(*testing.T) natsCluster) (a, b *fourway) {
	t.Helper()
	nodes := untilListening(t, func() (natsCluster, []*fourway) {
		c := newCluster(t)
		c.Launch()
		return c, []*fourway{launchNode(t, c.URLs(), "a"), launchNode(t, c.URLs(), "b")}
	})
	return nodes[0], nodes[1]
}

// healthz returns what /healthz answers: its status and, while starting,
// the reason.
func healthz(t testing.TB, base string) (int, string, string) {
	t.Helper()
	code, body := get(t, base+"/healthz")
	var h struct{ Status, Reason string }
	if code == http.StatusServiceUnavailable && json.Unmarshal([]byte(body), &h) == nil && h.Status == "starting" {
		return code, "starting", h.Reason
	}
	return code, body, ""
}

// TestClusterAndNodesStartedAtOnce: three NATS servers and two fourway
// nodes started at the same instant (the nodes before NATS listens, or
// while its JetStream elects its leader): both nodes become ready and serve
// one feed.
func TestClusterAndNodesStartedAtOnce(t *testing.T) {
	for _, kind := range natsServers {
		t.Run(kind.name, func(t *testing.T) {
			a, b := launchTogether(t, kind.new)
			bothServeOneFeed(t, a, b)
		})
	}
}

// bothServeOneFeed checks that nodes a and b become ready and serve one
// feed: what is published on a is read on b, the same bytes.
func bothServeOneFeed(t *testing.T, a, b *fourway) {
	t.Helper()
	a.awaitReady(t)
	b.awaitReady(t)
	for i := range 3 {
		if code := publish(t, a.URL, "m"+strconv.Itoa(i+1)); code != http.StatusCreated {
			t.Fatalf("publish on a: %d", code)
		}
	}
	onA, epoch := pollAll(t, a.URL)
	var p wire.Page
	_, body := get(t, b.URL+"/api/longpoll?since=2&epoch="+epoch+"&timeout=10")
	if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Messages) != 1 || !bytes.Equal(p.Messages[0], onA[3]) {
		t.Fatalf("b after 2: %s, want a's message 3, %s", body, onA[3])
	}
}

// TestClusterAndNodesStartAgainWhenAPortWasTaken: the first cluster's
// client port is taken by another listener between the moment it was
// found free and the moment its nats-server binds it (as a test run
// beside may take it), so that server exits at once and the cluster never
// has the quorum its R3 stream needs. The scenario starts again on fresh
// ports, nodes included, and both nodes serve one feed. On Debian's
// nats-server, which says so by exiting; the embedded cluster goes
// through the same untilListening, after its LaunchWait.
func TestClusterAndNodesStartAgainWhenAPortWasTaken(t *testing.T) {
	attempts := 0
	takenFirst := func(t *testing.T) natsCluster {
		c := natstest.NewBinaryCluster(t, 3)
		if attempts++; attempts == 1 {
			first, _, _ := strings.Cut(c.URLs(), ",")
			ln, err := net.Listen("tcp", strings.TrimPrefix(first, "nats://"))
			if err != nil {
				t.Fatalf("taking the first cluster's port: %v", err)
			}
			t.Cleanup(func() { ln.Close() })
		}
		return c
	}
	a, b := launchTogether(t, takenFirst)
	bothServeOneFeed(t, a, b)
	if attempts != 2 {
		t.Fatalf("the scenario was launched %d times, want 2: once on the taken port, once on fresh ports", attempts)
	}
}

// TestNodeStartedBeforeNATSWaitsForIt: a node started 5 s before its NATS
// cluster says it is starting all that while, and why, at every probe;
// it logs each attempt's reason at info, without a warning (its ticker
// waits quietly), and is ready once the cluster is. The ticker's first
// message is tick 1.
func TestNodeStartedBeforeNATSWaitsForIt(t *testing.T) {
	for _, kind := range natsServers {
		t.Run(kind.name, func(t *testing.T) {
			a := untilListening(t, func() (natsCluster, []*fourway) {
				c := kind.new(t)
				a := launchNode(t, c.URLs(), "a", "--ticker", "100ms")
				const early = 5 * time.Second
				for until := time.Now().Add(early); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
					code, status, reason := healthz(t, a.URL)
					if code != http.StatusServiceUnavailable || status != "starting" || !strings.HasPrefix(reason, "waiting for NATS at nats://127.0.0.1:") {
						t.Fatalf("healthz with no NATS yet: %d %s %q, want 503 starting, waiting for NATS at ...", code, status, reason)
					}
				}
				c.Launch()
				return c, []*fourway{a}
			})[0]
			a.awaitReady(t)
			logs := a.logs()
			if !strings.Contains(logs, `level=INFO msg="the feed is not ready: trying again" attempt=1 reason="waiting for NATS at nats://127.0.0.1:`) {
				t.Errorf("no attempt's reason logged at info:\n%s", logs)
			}
			if strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
				t.Errorf("a warning or an error while it waited:\n%s", logs)
			}
			var p wire.Page
			_, body := get(t, a.URL+"/api/longpoll?since=0&timeout=10")
			if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Messages) == 0 || !bytes.Contains(p.Messages[0], []byte(`"tick 1"`)) {
				t.Fatalf("the first message: %s, want the ticker's tick 1", body)
			}
		})
	}
}

// TestNodeWithoutNATSExitsAfterTheWait: with no NATS at all the node says
// it is starting until --nats-wait has passed, then exits with what it
// waited for.
func TestNodeWithoutNATSExitsAfterTheWait(t *testing.T) {
	url := "nats://127.0.0.1:" + strconv.Itoa(natstest.RefusingPort(t))
	const wait = 2 * time.Second
	started := time.Now()
	a := launchFourway(t, "--nats", url, "--nats-wait", wait.String())
	if code, status, reason := healthz(t, a.URL); code != http.StatusServiceUnavailable || status != "starting" || !strings.HasPrefix(reason, "waiting for NATS at "+url) {
		t.Fatalf("healthz with no NATS: %d %s %q, want 503 starting, waiting for NATS at %s", code, status, reason, url)
	}
	err := a.awaitExit(t)
	if took := time.Since(started); took < wait {
		t.Errorf("exited after %v, before --nats-wait %v", took, wait)
	}
	for _, want := range []string{"--nats " + url + ": not ready after", "waiting for NATS at " + url + ": nats: no servers available for connection", "(--nats-wait 2s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("fourway exited with %v, want it to say %q", err, want)
		}
	}
}

// TestNATSCredentialsAreNeverPrinted: a --nats URL's password (or token)
// appears in no log line, no error and no answer: not when the node opens
// its feed, nor when NATS refuses it, nor when the URL does not parse.
func TestNATSCredentialsAreNeverPrinted(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = "fourway", "s3cret-right" })
	host := strings.TrimPrefix(srv.ClientURL(), "nats://")

	t.Run("opened", func(t *testing.T) {
		a := startFourway(t, "--nats", "nats://fourway:s3cret-right@"+host, "--nats-stream", "REDACT")
		if err := a.Stop(); err != nil {
			t.Fatal(err)
		}
		logs := a.logs()
		if strings.Contains(logs, "s3cret") || !strings.Contains(logs, "nats=nats://fourway:xxxxx@"+host) {
			t.Fatalf("the log shows the password, or not the redacted URL:\n%s", logs)
		}
	})
	refused := []struct{ name, url, want string }{
		{"a wrong password", "nats://fourway:s3cret-wrong@" + host, "nats://fourway:xxxxx@" + host},
		{"a token", "nats://s3cret-token@" + host, "nats://xxxxx@" + host},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			a := launchFourway(t, "--nats", c.url, "--nats-wait", "500ms")
			_, health := get(t, a.URL+"/healthz")
			_, stats := get(t, a.URL+"/api/stats")
			_, poll := get(t, a.URL+"/api/poll")
			err := a.awaitExit(t)
			if err == nil {
				t.Fatal("fourway exited with status 0, want the reason it waited for")
			}
			printed := strings.Join([]string{a.logs(), err.Error(), health, stats, poll}, "\n")
			if strings.Contains(printed, "s3cret") {
				t.Fatalf("the credentials were printed:\n%s", printed)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("fourway exited with %v, want it to name %s", err, c.want)
			}
		})
	}
	t.Run("a URL that does not parse", func(t *testing.T) {
		// A password with a # not escaped: the parser would quote a piece
		// of it. It is refused at once, before the server listens: fourway
		// says why on stderr ("fourway: <why>") and exits 1.
		var logs, said bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), startWait)
		defer cancel()
		cmd := exec.CommandContext(ctx, fourwayBinary(t), "--addr", "127.0.0.1:0", "--nats", "nats://fourway:s3cret#parse@"+host)
		cmd.Env = node.Env()
		cmd.Stdout, cmd.Stderr = &logs, &said
		err := cmd.Run()
		if err == nil || strings.Contains(said.String()+logs.String(), "s3cret") || !strings.Contains(said.String(), "--nats nats://fourway:xxxxx@"+host+": not a URL") {
			t.Fatalf("fourway exited with %v, saying %q, want a refusal naming the URL redacted; logged:\n%s", err, said.String(), logs.String())
		}
	})
}
