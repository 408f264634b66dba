package main

// What main itself does: it reads flags and their environment variables and
// refuses a bad setting before it listens, and the server it runs answers
// /healthz, serves the page, and stops when its context ends. What the
// server does is specified beside its code, in transports/.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed/natstest"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// mainServer is the server started through run, as main starts it, on a
// free loopback port.
type mainServer struct {
	URL  string // http://127.0.0.1:PORT
	logs *syncBuffer

	cancel context.CancelFunc
	exited chan struct{} // closed when run has returned
	err    error         // what run returned, once exited is closed
	once   sync.Once
	stop   error // Stop's answer
}

// startWait bounds a server's start in these tests: its listening, then
// its feed's readiness (NATS's election included), on a busy machine.
const startWait = 20 * time.Second

// startMain runs the server with args (the ticker off unless args set it)
// and the environment env, and waits until it says where it listens and
// /healthz answers 200. The server stops when the test ends.
func startMain(t testing.TB, env map[string]string, args ...string) *mainServer {
	t.Helper()
	ms := launchMain(t, env, args...)
	ms.awaitReady(t)
	return ms
}

// launchMain runs the server as startMain does, but returns as soon as it
// listens, ready or not.
func launchMain(t testing.TB, env map[string]string, args ...string) *mainServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	ms := &mainServer{logs: &syncBuffer{}, cancel: cancel, exited: make(chan struct{})}
	all := append([]string{"--addr", "127.0.0.1:0", "--ticker", "0"}, args...)
	go func() {
		ms.err = run(ctx, all, func(k string) string { return env[k] }, pw)
		pw.Close()
		close(ms.exited)
	}()
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			ms.logs.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil && strings.Contains(line, "listening") {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			<-ms.exited
			t.Fatalf("server exited before listening: %v\n%s", ms.err, ms.logs.String())
		}
		ms.URL = u
	case <-time.After(startWait):
		t.Fatalf("server did not start in %v:\n%s", startWait, ms.logs.String())
	}
	t.Cleanup(func() {
		if err := ms.Stop(); err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	})
	return ms
}

// awaitReady waits until /healthz answers 200, and fails the test with the
// server's log if the server exits first or startWait passes.
func (ms *mainServer) awaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(startWait)
	for {
		code, body := get(t, ms.URL+"/healthz")
		if code == http.StatusOK {
			return
		}
		select {
		case <-ms.exited:
			t.Fatalf("server exited before it was ready: %v\n%s", ms.err, ms.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz after %v: %d %s\n%s", startWait, code, body, ms.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends run's context and returns run's error.
func (ms *mainServer) Stop() error {
	ms.once.Do(func() {
		ms.cancel()
		select {
		case <-ms.exited:
			ms.stop = ms.err
		case <-time.After(30 * time.Second):
			ms.stop = context.DeadlineExceeded
		}
	})
	return ms.stop
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// get sends GET url and returns the status and the body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	code, body, _ := transportstest.GetURL(t, url)
	return code, body
}

// publish sends body as text to POST /api/messages and returns the status.
var publish = transportstest.PostText

func TestHealthz(t *testing.T) {
	ms := startMain(t, nil)
	if code, body := get(t, ms.URL+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("healthz = %d %q, want 200 ok", code, body)
	}
}

// TestRunServesThePageAndStopsWhenItsContextEnds: run serves the page
// embedded in the binary, and returns nil once its context ends, the
// listener closed.
func TestRunServesThePageAndStopsWhenItsContextEnds(t *testing.T) {
	ms := startMain(t, nil)
	resp, err := http.Get(ms.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("app.js")) {
		t.Fatalf("GET /: %d %q, %.80q; want the page", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if err := ms.Stop(); err != nil {
		t.Fatalf("run returned %v, want nil after its context ended", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(ms.URL, "http://"), time.Second); err == nil {
		c.Close()
		t.Fatal("the server still accepts connections after run returned")
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	// FOURWAY_HISTORY sets --history; a flag on the command line wins.
	ms := startMain(t, map[string]string{"FOURWAY_HISTORY": "3", "FOURWAY_MAX_MESSAGE": "10"}, "--max-message", "20")
	for i := range 5 {
		if code := publish(t, ms.URL, strings.Repeat("m", i+1)); code != 201 {
			t.Fatalf("publish %d: %d, want 201", i+1, code)
		}
	}
	var p wire.Page
	_, body := get(t, ms.URL+"/api/poll?since=0")
	if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Messages) != 3 || p.Missed != 2 {
		t.Fatalf("history from FOURWAY_HISTORY=3: got %s, want 3 messages and 2 missed", body)
	}
	if code := publish(t, ms.URL, strings.Repeat("a", 15)); code != 201 {
		t.Fatalf("--max-message 20 should beat FOURWAY_MAX_MESSAGE=10: publish of 17 bytes got %d", code)
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad env value names the variable", nil, map[string]string{"FOURWAY_HEARTBEAT": "soon"}, "FOURWAY_HEARTBEAT"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"stray argument", []string{"serve"}, nil, "unexpected argument"},
		{"history below 1", []string{"--history", "0"}, nil, "--history"},
		{"any origin", []string{"--allowed-origins", "http://a.example,*"}, nil, "--allowed-origins"},
		{"history above a million", []string{"--history", "1000001"}, nil, "--history"},
		{"no room for a message", []string{"--max-message", "0"}, nil, "--max-message"},
		{"message above 16 MiB", []string{"--max-message", "16777217"}, nil, "--max-message"},
		{"send buffer below 4 KiB", []string{"--send-buffer", "1024"}, nil, "--send-buffer"},
		{"send timeout not under the write timeout", []string{"--send-timeout", "10s", "--write-timeout", "10s"}, nil, "--send-timeout"},
		{"send timeout from the environment not under the write timeout", nil, map[string]string{"FOURWAY_SEND_TIMEOUT": "3s", "FOURWAY_WRITE_TIMEOUT": "2s"}, "--send-timeout"},
		{"zero heartbeat", []string{"--heartbeat", "0"}, nil, "--heartbeat"},
		{"a heartbeat of a million hours", []string{"--heartbeat", "1000000h"}, nil, "--heartbeat"},
		{"a publish rate under one an hour", []string{"--publish-rate", "1e-20"}, nil, "--publish-rate"},
		{"a negative publish rate", []string{"--publish-rate", "-1"}, nil, "--publish-rate"},
		{"a ticker under 10 ms", []string{"--ticker", "1ms"}, nil, "--ticker"},
		{"a long poll held past 120 s", []string{"--longpoll-timeout", "121s"}, nil, "--longpoll-timeout"},
		{"no time to read a body", []string{"--read-timeout", "0"}, nil, "--read-timeout"},
		{"an unknown log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"compressing with a direct writer", []string{"--compress", "--sse-writer", "direct"}, nil, "--compress works with --sse-writer r3labs and --longpoll-writer nethttp only"},
		{"address in use or bad", []string{"--addr", "256.0.0.1:1"}, nil, "listen"},
		{"no NATS server there", []string{"--nats", "nats://127.0.0.1:1", "--nats-wait", "300ms"}, nil, "--nats-wait 300ms"},
		{"no NATS server there, from the environment", nil, map[string]string{"FOURWAY_NATS": "nats://127.0.0.1:1", "FOURWAY_NATS_WAIT": "300ms"}, "--nats-wait 300ms"},
		{"a wait for NATS below 0", []string{"--nats", "nats://127.0.0.1:1", "--nats-wait", "-1s"}, nil, "--nats-wait"},
		{"a NATS URL that does not parse", []string{"--nats", "nats://127.0.0.1:port"}, nil, `--nats nats://127.0.0.1:port: parse "nats://127.0.0.1:port": invalid port`},
		{"a stream name with a dot", []string{"--nats", "nats://127.0.0.1:1", "--nats-stream", "a.b"}, nil, "--nats-stream"},
		{"no copy of the stream", []string{"--nats", "nats://127.0.0.1:1", "--nats-replicas", "0"}, nil, "--nats-replicas"},
		{"a certificate file that is not there", []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, nil, "--tls-cert /nonexistent/cert.pem"},
		{"a certificate without its key", []string{"--tls-cert", "main.go"}, nil, "--tls-cert and --tls-key go together"},
		{"a certificate that is not one", []string{"--tls-cert", "main.go", "--tls-key", "main.go"}, nil, "--tls-cert main.go"},
		{"self-signed and a certificate", []string{"--tls-self-signed", "--tls-cert", "main.go", "--tls-key", "main.go"}, nil, "--tls-self-signed"},
		{"cleartext HTTP/2 with TLS", []string{"--tls-self-signed", "--h2c"}, nil, "--h2c"},
		{"a node name with a quote", []string{"--node", `a"b`}, nil, "--node"},
		{"an unknown SSE writer", []string{"--sse-writer", "fast"}, nil, "--sse-writer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, c.args, func(k string) string { return c.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

// TestRunOnJetStream: with --nats the feed lives in a JetStream stream:
// two processes on it are two nodes of one feed, each named in its config
// and stats, and a node that cannot reach NATS fails /healthz.
func TestRunOnJetStream(t *testing.T) {
	srv := natstest.Start(t)
	env := map[string]string{"FOURWAY_NATS": srv.ClientURL()}
	a := startMain(t, env, "--node", "a", "--nats-stream", "MAINTEST", "--history", "5")
	b := startMain(t, env, "--node", "b", "--nats-stream", "MAINTEST", "--history", "5")
	for i := range 3 {
		if code := publish(t, a.URL, fmt.Sprint("m", i)); code != 201 {
			t.Fatalf("publish on a: %d, want 201", code)
		}
	}
	var pa, pb wire.Page
	_, body := get(t, a.URL+"/api/poll?since=0")
	if err := json.Unmarshal([]byte(body), &pa); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, b.URL+"/api/longpoll?since=2&epoch="+pa.Epoch+"&timeout=10")
	if err := json.Unmarshal([]byte(body), &pb); err != nil || len(pb.Messages) != 1 || !bytes.Equal(pb.Messages[0], pa.Messages[2]) {
		t.Fatalf("b after 2: %s, want a's message 3, %s", body, pa.Messages[2])
	}
	var cfg wire.Config
	_, body = get(t, b.URL+"/api/config")
	if err := json.Unmarshal([]byte(body), &cfg); err != nil || !strings.Contains(body, `"node":"b"`) {
		t.Fatalf("b's config %s, want node b", body)
	}
	var st transports.Snapshot
	_, body = get(t, a.URL+"/api/stats")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Node != "a" || st.Feed.JetStream == nil || st.Feed.JetStream.Stream != "MAINTEST" || st.Feed.LastID != 3 {
		t.Fatalf("a's stats %s, want node a, stream MAINTEST, last id 3", body)
	}
	if _, body := get(t, a.URL+"/metrics"); !strings.Contains(body, `fourway_node_info{node="a"} 1`) || !strings.Contains(body, "fourway_jetstream_up 1") {
		t.Fatalf("a's metrics lack fourway_node_info{node=\"a\"} or fourway_jetstream_up 1")
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(t, b.URL+"/healthz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "NATS") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's healthz with NATS down: %d %q, want 503 naming NATS", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := publish(t, a.URL, "lost"); code != http.StatusServiceUnavailable {
		t.Fatalf("publish with NATS down: %d, want 503", code)
	}
}

// TestWithoutNATSTheNodeIsUnnamed: without --nats the server is the one
// process it always was, its config and stats naming no node.
func TestWithoutNATSTheNodeIsUnnamed(t *testing.T) {
	ms := startMain(t, nil)
	for _, path := range []string{"/api/config", "/api/stats"} {
		if _, body := get(t, ms.URL+path); strings.Contains(body, `"node"`) || strings.Contains(body, "jetstream") {
			t.Fatalf("GET %s without --nats: %s, want no node and no jetstream", path, body)
		}
	}
}

// Functions stay short enough to read in one screen: none of the code
// (tests aside) of these packages is longer or takes more parameters.
const (
	maxFuncLines  = 60
	maxFuncParams = 5
)

// TestFunctionsAreShort: no function or method outside the tests of
// transports/, bench/, feed/ and deploy/ is over maxFuncLines lines or
// maxFuncParams parameters.
func TestFunctionsAreShort(t *testing.T) {
	for _, root := range []string{"transports", "bench", "feed", "deploy"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				params := 0
				for _, field := range fn.Type.Params.List {
					params += max(len(field.Names), 1)
				}
				if lines > maxFuncLines || params > maxFuncParams {
					t.Errorf("%s: %s is %d lines and takes %d parameters: at most %d and %d", fset.Position(fn.Pos()), fn.Name.Name, lines, params, maxFuncLines, maxFuncParams)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// --links: the emulated links main opens in front of the server, what
// GET /api/config says of them, whose pages may act here, and POST
// /api/tunnel. What a link does to the bytes is specified in
// transports/links.

// configLinks reads the links GET /api/config lists at base.
func configLinks(t *testing.T, base string) (map[string]transports.Link, string) {
	t.Helper()
	_, body := get(t, base+"/api/config")
	var cc struct {
		Links []transports.Link `json:"links"`
	}
	if err := json.Unmarshal([]byte(body), &cc); err != nil {
		t.Fatalf("GET /api/config: %v: %s", err, body)
	}
	out := map[string]transports.Link{}
	for _, l := range cc.Links {
		out[l.Name] = l
	}
	return out, body
}

// post sends an empty POST to url with the Origin header, if any, and
// returns the status and body.
func post(t *testing.T, url, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("hi"))
	req.Header.Set("Content-Type", "text/plain")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNoLinksByDefault(t *testing.T) {
	ms := startMain(t, nil)
	if got, body := configLinks(t, ms.URL); len(got) != 0 || strings.Contains(body, `"links"`) {
		t.Fatalf("without --links, GET /api/config lists %v: %s", got, body)
	}
	if code, b := post(t, ms.URL+"/api/tunnel?link=3g&for=1s", ""); code != http.StatusNotFound || !strings.Contains(b, "this server opened no link: start it with --links") {
		t.Fatalf("POST /api/tunnel without --links: %d %s", code, b)
	}
}

// TestATunnelNeedsTheAdminTokenWhenOneIsSet: POST /api/tunnel is a demo
// control like the others.
func TestATunnelNeedsTheAdminTokenWhenOneIsSet(t *testing.T) {
	ms := startMain(t, nil, "--links", "loopback", "--admin-token", "adm")
	if code, b := post(t, ms.URL+"/api/tunnel?link=loopback&for=10ms", ""); code != http.StatusUnauthorized {
		t.Fatalf("POST /api/tunnel without the admin token: %d %s; want 401", code, b)
	}
}

// TestLinksServeThePageAndTheAPI: each link of --links forwards to the
// server, so the page, the API and a WebSocket work through it, slower
// by its round trip; GET /api/config lists them as the issue has it.
func TestLinksServeThePageAndTheAPI(t *testing.T) {
	ms := startMain(t, nil, "--links", "3g,loopback")
	got, body := configLinks(t, ms.URL)
	g3, lo := got["3g"], got["loopback"]
	if len(got) != 2 || g3.RTTMS != 300 || g3.DownKbps != 1600 || g3.UpKbps != 768 || !strings.HasPrefix(g3.URL, "http://127.0.0.1:") || !strings.HasSuffix(g3.URL, "/") {
		t.Fatalf("GET /api/config: %s; want 3g at 300 ms, 1600 and 768 kbit/s", body)
	}
	if lo.URL == "" || lo.RTTMS != 0 || lo.DownKbps != 0 || strings.Contains(body, `"down_kbps":0`) {
		t.Fatalf("loopback: %s; want a round trip of 0 and no bandwidth named", body)
	}
	start := time.Now()
	code, page := get(t, g3.URL)
	if took := time.Since(start); code != http.StatusOK || !strings.Contains(page, "<html") || took < 300*time.Millisecond {
		t.Fatalf("the page through 3g: %d in %v; want 200 after at least the 300 ms round trip", code, took)
	}
	origin := strings.TrimSuffix(g3.URL, "/")
	if code, b := post(t, g3.URL+"api/messages", origin); code != http.StatusCreated {
		t.Fatalf("a publish through 3g from its own page: %d %s", code, b)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(g3.URL, "http")+"api/ws?since=0", http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("a WebSocket through 3g from its own page: %v", err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(startWait))
	if _, b, err := ws.ReadMessage(); err != nil || !strings.Contains(string(b), `"hello"`) {
		t.Fatalf("the WebSocket's hello through 3g: %q %v", b, err)
	}
}

// TestALinksPageMayActOnTheServer: a page loaded through one of the
// server's links may publish on the server's own address (the page's
// publisher stays on the fast path); a page on another port may not.
func TestALinksPageMayActOnTheServer(t *testing.T) {
	ms := startMain(t, nil, "--links", "cable")
	got, _ := configLinks(t, ms.URL)
	if code, b := post(t, ms.URL+"/api/messages", strings.TrimSuffix(got["cable"].URL, "/")); code != http.StatusCreated {
		t.Fatalf("a publish from the cable link's page: %d %s; want 201", code, b)
	}
	foreign, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	foreign.Close() // a port the server opened no link on
	if code, b := post(t, ms.URL+"/api/messages", "http://"+foreign.Addr().String()); code != http.StatusForbidden {
		t.Fatalf("a publish from a page on another port: %d %s; want 403", code, b)
	}
}

// TestATunnelSilencesALinkForAWhile: POST /api/tunnel holds everything
// crossing the link until its time is up; bad requests are refused
// naming what is wrong.
func TestATunnelSilencesALinkForAWhile(t *testing.T) {
	ms := startMain(t, nil, "--links", "loopback")
	got, _ := configLinks(t, ms.URL)
	const silent = 400 * time.Millisecond
	start := time.Now()
	if code, b := post(t, ms.URL+"/api/tunnel?link=loopback&for="+silent.String(), ""); code != http.StatusOK || !strings.Contains(b, `"silent_ms":400`) {
		t.Fatalf("POST /api/tunnel: %d %s", code, b)
	}
	if code, _ := get(t, got["loopback"].URL+"healthz"); code != http.StatusOK {
		t.Fatalf("through the link after its tunnel: %d", code)
	}
	if took := time.Since(start); took < silent {
		t.Fatalf("a request through a link in a tunnel of %v was answered after %v", silent, took)
	}
	for query, want := range map[string]string{
		"link=3g&for=1s":        `link must be one of loopback, not \"3g\"`,
		"link=loopback&for=1h":  "for must be a Go duration from 10ms to 10m0s",
		"link=loopback&for=1":   "for must be a Go duration",
		"link=loopback&for=-1s": "for must be a Go duration",
	} {
		if code, b := post(t, ms.URL+"/api/tunnel?"+query, ""); code/100 != 4 || !strings.Contains(b, want) {
			t.Errorf("POST /api/tunnel?%s: %d %s; want a refusal with %q", query, code, b, want)
		}
	}
}

func TestBadLinksAreRefused(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	for args, want := range map[string]string{
		"--links 5g":       `--links: no link "5g": the links are loopback, cable, 4g, 3g, slow-3g, train`,
		"--links 3g,3g":    `--links: link "3g" named twice`,
		"--links-port -1":  "--links-port must be from 1 to",
		"--links-port 1e3": "links-port",
		"--links loopback --links-port " + fmt.Sprint(port): fmt.Sprintf("--links: link loopback: 127.0.0.1:%d is taken", port),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, strings.Fields(args)...), func(string) string { return "" }, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", args, err, want)
		}
	}
}
