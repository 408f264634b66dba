package deploy

// fourway behind the nginx of nginx.conf, as people deploy it: two
// nodes on one JetStream feed, any request to any node. Through the proxy
// every transport delivers every message once, the page loads, and a held
// WebSocket or SSE stream lives past the proxy's read timeout because of
// its heartbeat, or dies at it when the heartbeat is longer: the lesson of
// the proxy timeout, measured.

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed/natstest"
	"fourway/transports/wire"
)

//go:embed nginx.conf
var deployNginxConf string

// proxyTimeout is the read timeout of the nginx in these tests: short, so
// the test is, and the heartbeats of the nodes behind it are shorter still.
const proxyTimeout = 2 * time.Second

// startNginx runs nginx.conf in front of the nodes at upstreams
// (host:port), with the read timeout given, and returns its base URL. It
// skips the test when nginx is not installed, and fails it under CI=true.
func startNginx(t testing.TB, readTimeout time.Duration, upstreams ...string) string {
	t.Helper()
	bin := "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx is not installed (apt-get install nginx); CI=true needs it")
		}
		t.Skip("nginx not installed (Debian: apt-get install nginx)")
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755) // the workers run as www-data when nginx starts as root
	for _, d := range []string{"logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(filepath.Join(dir, d), 0o777)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nginx binds it a moment later
	user := ""
	if os.Geteuid() == 0 {
		user = "user www-data;"
	}
	var ups strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&ups, "    server %s max_fails=1 fail_timeout=3s;\n", u)
	}
	conf := strings.NewReplacer("{{LISTEN}}", addr, "{{USER}}", user, "{{UPSTREAMS}}", ups.String(),
		"{{READ_TIMEOUT}}", strconv.FormatInt(readTimeout.Milliseconds(), 10)+"ms").Replace(deployNginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "logs", "error.log")
	cmd := exec.Command(bin, "-p", dir+"/", "-c", confPath, "-e", errLog, "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(errLog)
			t.Logf("nginx: %s\nerror.log:\n%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(natstest.Wait)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(errLog)
			t.Fatalf("nginx exited: %s %s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s after %v", addr, natstest.Wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hostOf(base string) string { return strings.TrimPrefix(base, "http://") }

// TestThroughNginxEveryTransportAndThePage: two nodes behind nginx, every
// request going to either. Subscribers of all four transports get every
// message once, in order, the same bytes, and the page's own requests
// work through the proxy, a WebSocket with the page's Origin included.
func TestThroughNginxEveryTransportAndThePage(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	short := []string{"--heartbeat", "400ms", "--sse-keepalive", "400ms"}
	a := startNode(t, c.URLs(), "a", short...)
	b := startNode(t, c.URLs(), "b", short...)
	proxy := startNginx(t, proxyTimeout, hostOf(a.URL), hostOf(b.URL))

	for _, path := range []string{"/", "/app.js", "/api/config", "/healthz"} {
		if code, body := get(t, proxy+path); code != http.StatusOK {
			t.Fatalf("GET %s through nginx: %d %.200s", path, code, body)
		}
	}
	nodes := map[string]bool{}
	for range 4 {
		_, body := get(t, proxy+"/api/config")
		var cfg struct{ Node string }
		if err := json.Unmarshal([]byte(body), &cfg); err != nil {
			t.Fatal(err)
		}
		nodes[cfg.Node] = true
	}
	if !nodes["a"] || !nodes["b"] {
		t.Fatalf("four requests through nginx reached nodes %v, want a and b (round robin)", nodes)
	}
	page, _, err := websocket.DefaultDialer.Dial("ws://"+hostOf(proxy)+"/api/ws", http.Header{"Origin": {proxy}})
	if err != nil {
		t.Fatalf("a WebSocket with the page's Origin through nginx: %v", err)
	}
	page.Close()

	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	const n = 20
	var fs []*follower
	for _, tr := range transportNames {
		for range 3 {
			fs = append(fs, &follower{transport: tr, hold: "1"}) // a long poll held under the proxy's timeout
		}
	}
	done := make(chan error, 1)
	go func() { done <- followAll(ctx, fs, []string{proxy}, n) }()
	ws := dialPublisher(t, proxy)
	for i := 1; i <= n; i++ {
		var err error
		if i%2 == 0 {
			_, err = ws.publish("ws " + strconv.Itoa(i))
		} else {
			_, err = publishOK(ctx, proxy, "http "+strconv.Itoa(i))
		}
		if err != nil {
			t.Fatalf("publish %d through nginx: %v", i, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want, _ := pollAll(t, a.URL)
	everyOneGotAll(t, fs, want, n)
}

// TestThroughNginxTheHeartbeatKeepsStreamsOpen: nginx closes a proxied
// connection that is silent for its read timeout. A WebSocket and an SSE
// stream whose heartbeat is shorter stay open well past it and still
// deliver; with a heartbeat longer than the timeout, both are closed at
// it.
func TestThroughNginxTheHeartbeatKeepsStreamsOpen(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	fast := startNode(t, c.URLs(), "fast", "--heartbeat", "400ms", "--sse-keepalive", "400ms")
	slow := startNode(t, c.URLs(), "slow", "--heartbeat", "30s", "--sse-keepalive", "30s")
	viaFast := startNginx(t, proxyTimeout, hostOf(fast.URL))
	viaSlow := startNginx(t, proxyTimeout, hostOf(slow.URL))
	held := 2*proxyTimeout + proxyTimeout/2

	t.Run("heartbeat under the timeout", func(t *testing.T) {
		wsPings, wsMsg := make(chan int, 1), make(chan error, 1)
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+hostOf(viaFast)+"/api/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		pings := 0
		conn.SetPingHandler(func(data string) error {
			pings++
			return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		go func() { // reads until the first message, counting pings
			var buf bytes.Buffer
			_ = conn.SetReadDeadline(time.Now().Add(held + natstest.Wait))
			for {
				b, err := wire.ReadFrame(conn, &buf)
				if err != nil {
					wsPings <- pings
					wsMsg <- err
					return
				}
				if !wire.IsFrame(b) {
					wsPings <- pings
					wsMsg <- nil
					return
				}
			}
		}()
		sse, sseCancel := openSSE(t, viaFast)
		defer sseCancel()
		sseDone := make(chan error, 1)
		ssePings := make(chan int, 1)
		go func() {
			n := 0
			for {
				ev, err := sse.Next()
				if err != nil {
					ssePings <- n
					sseDone <- err
					return
				}
				if ev.IsComment() {
					n++
				} else if ev.Event == "" {
					ssePings <- n
					sseDone <- nil
					return
				}
			}
		}()
		// Both stay silent but for their heartbeats for more than twice
		// the proxy's timeout; then a message must still reach them.
		select {
		case err := <-wsMsg:
			t.Fatalf("the WebSocket ended before any message, after %d pings: %v", <-wsPings, err)
		case err := <-sseDone:
			t.Fatalf("the SSE stream ended before any message, after %d pings: %v", <-ssePings, err)
		case <-time.After(held):
		}
		if _, err := publishOK(context.Background(), viaFast, "still there"); err != nil {
			t.Fatal(err)
		}
		if err := <-wsMsg; err != nil {
			t.Fatalf("WebSocket after %v through nginx (timeout %v): %v", held, proxyTimeout, err)
		}
		if err := <-sseDone; err != nil {
			t.Fatalf("SSE after %v through nginx (timeout %v): %v", held, proxyTimeout, err)
		}
		if p := <-wsPings; p < 4 {
			t.Errorf("%d WebSocket pings in %v, want at least 4 at 400ms", p, held)
		}
		if p := <-ssePings; p < 4 {
			t.Errorf("%d SSE keepalives in %v, want at least 4 at 400ms", p, held)
		}
	})

	t.Run("heartbeat over the timeout", func(t *testing.T) {
		start := time.Now()
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+hostOf(viaSlow)+"/api/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sse, sseCancel := openSSE(t, viaSlow)
		defer sseCancel()
		wsEnd, sseEnd := make(chan time.Duration, 1), make(chan time.Duration, 1)
		go func() {
			var buf bytes.Buffer
			_ = conn.SetReadDeadline(time.Now().Add(natstest.Wait))
			for {
				if _, err := wire.ReadFrame(conn, &buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						wsEnd <- -1
					} else {
						wsEnd <- time.Since(start)
					}
					return
				}
			}
		}()
		go func() {
			for {
				if _, err := sse.Next(); err != nil {
					sseEnd <- time.Since(start)
					return
				}
			}
		}()
		for name, ch := range map[string]chan time.Duration{"WebSocket": wsEnd, "SSE stream": sseEnd} {
			d := <-ch
			if d < 0 {
				t.Fatalf("the %s was not closed by nginx in %v", name, natstest.Wait)
			}
			if d < proxyTimeout-100*time.Millisecond || d > proxyTimeout+3*time.Second {
				t.Errorf("the %s was closed after %v, want at the proxy's timeout, %v", name, d.Round(time.Millisecond), proxyTimeout)
			}
			t.Logf("%s with a 30 s heartbeat behind a %v read timeout: closed after %v", name, proxyTimeout, d.Round(time.Millisecond))
		}
	})
}

// TestThroughNginxANodeGoesAway: subscribers of every transport read
// through nginx while node b stops (gracefully: its streams are closed,
// its new requests answered 503) and while a keeps publishing. nginx sends
// them to a, and each resumes with its cursor: nothing lost, nothing twice.
func TestThroughNginxANodeGoesAway(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URLs(), "a")
	b := startNode(t, c.URLs(), "b")
	proxy := startNginx(t, proxyTimeout, hostOf(a.URL), hostOf(b.URL))
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	var fs []*follower
	for _, tr := range transportNames {
		for range 3 {
			fs = append(fs, &follower{transport: tr, hold: "1"})
		}
	}
	publishRange := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishRange(1, 5)
	if err := followAll(ctx, fs, []string{proxy}, 5); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- followAll(ctx, fs, []string{proxy}, 15) }()
	awaitClients(t, b.URL, map[string]int64{"sse": 1, "ws": 1}) // some streams are on b when it stops
	if err := b.Stop(); err != nil {
		t.Fatalf("stopping b: %v", err)
	}
	publishRange(6, 15)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want, _ := pollAll(t, a.URL)
	everyOneGotAll(t, fs, want, 15)
}

// openSSE opens /api/sse at base (starting now) and returns its reader.
func openSSE(t testing.TB, base string) (*wire.SSEReader, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/sse", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s/api/sse: %s", base, resp.Status)
	}
	return wire.NewSSEReader(bufio.NewReader(resp.Body)), func() { cancel(); resp.Body.Close() }
}
