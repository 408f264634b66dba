package main

import (
	"bufio"
	"bytes"
	"context"
	encodingcsv "encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain removes the fourway binary the tests built, once they are over.
// A test binary started by TestServerChildStopsWhenTheBenchDies as a bench
// that dies instead starts a server child and waits to be killed.
func TestMain(m *testing.M) {
	if bin := os.Getenv(dyingBenchEnv); bin != "" {
		dyingBench(bin)
		return
	}
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binaryDir string // where the tests' fourway binary is
	binary    string
	buildErr  error
)

// fourwayBinary is the fourway binary the tests start as the server
// child: built once, from this module, as the bench builds it.
func fourwayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binaryDir, buildErr = os.MkdirTemp("", "fourway-bench-test-"); buildErr == nil {
			binary, buildErr = buildFourway(context.Background(), binaryDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// short is a scenario of a second or two: a few subscribers, a modest rate.
func short(target, transport string) Scenario {
	return Scenario{Target: target, Transport: transport, Subs: 3, Rate: 25, Payload: 60,
		PollInterval: Duration(200 * time.Millisecond), Warmup: Duration(500 * time.Millisecond),
		Duration: Duration(time.Second), Stagger: Duration(100 * time.Millisecond), Publishers: 2}
}

// testNginx is the nginx the Nchan test runs: FOURWAY_BENCH_NGINX names
// another one (or a missing one, to see the skip).
func testNginx() string {
	if p := os.Getenv("FOURWAY_BENCH_NGINX"); p != "" {
		return p
	}
	return defaultNginx
}

func runShort(t *testing.T, sc Scenario) Result {
	t.Helper()
	rs := runShortMixed(t, sc)
	if len(rs) != 1 {
		t.Fatalf("%s %s: %d results, want 1", sc.Target, sc.name(), len(rs))
	}
	return rs[0]
}

// runShortMixed runs a scenario, mixed or not, and returns its rows.
func runShortMixed(t *testing.T, sc Scenario) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var d dialect = fourway{}
	start := func(ctx context.Context) (*server, error) {
		srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 1000, Writers: writersFor(sc), Files: filesNeeded(sc), Proto: sc.Proto})
		if err == nil {
			if err = checkWriters(ctx, srv.base, sc); err != nil { // as the bench does
				srv.stop()
				return nil, err
			}
		}
		return srv, err
	}
	if sc.Target == "nchan" {
		d = nchan{}
		start = func(ctx context.Context) (*server, error) {
			return startNchan(ctx, testNginx(), nchanConnections(sc), sc.Proto)
		}
	}
	res, err := runScenario(ctx, sc, d, start, nil, &progress{}, t.Name())
	if err != nil {
		t.Fatalf("%s %s: %v", sc.Target, sc.name(), err)
	}
	return res
}

// checkDelivery asserts the bench's own promise: every acknowledged
// message reached every subscriber exactly once.
func checkDelivery(t *testing.T, r Result) {
	t.Helper()
	if r.Published < 20 {
		t.Errorf("%s %s: only %d messages published", r.Target, r.Transport, r.Published)
	}
	if r.PublishErrors != 0 {
		t.Errorf("%s %s: %d publish errors: %v", r.Target, r.Transport, r.PublishErrors, r.Notes)
	}
	if r.Expected != r.Published*int64(r.Subs) || r.Delivered != r.Expected || r.Lost != 0 || r.Duplicated != 0 {
		t.Errorf("%s %s: delivered %d of %d, lost %d, duplicated %d (want all, 0, 0); notes %v",
			r.Target, r.Transport, r.Delivered, r.Expected, r.Lost, r.Duplicated, r.Notes)
	}
	if r.Reconnects != 0 || r.Anomalies != 0 {
		t.Errorf("%s %s: %d reconnects, %d anomalies on loopback", r.Target, r.Transport, r.Reconnects, r.Anomalies)
	}
	if r.Latency.Count == 0 || r.Wire.Messages == 0 {
		t.Errorf("%s %s: nothing measured in the window (latency count %d, wire messages %d)", r.Target, r.Transport, r.Latency.Count, r.Wire.Messages)
	}
}

// TestFourwayShortRun runs the bench briefly on all four transports and
// checks delivery, the exact framing costs and the request counts.
func TestFourwayShortRun(t *testing.T) {
	t.Parallel()
	results := map[string]Result{}
	for _, tr := range allTransports {
		r := runShort(t, short("fourway", tr))
		checkDelivery(t, r)
		if r.Server == nil || r.Server.RSSIdleMiB <= 0 {
			t.Errorf("%s: no server memory read from /proc", tr)
		}
		if !validEpoch(r.Epoch) {
			t.Errorf("%s: the subscribers ended in epoch %q, want 1 to 32 of [A-Za-z0-9_-]", tr, r.Epoch)
		}
		results[tr] = r
	}

	t.Run("SSEOverheadIsItsFraming", func(t *testing.T) { checkSSEFraming(t, results["sse"]) })

	t.Run("TheServerCountsItsHeads", func(t *testing.T) {
		// Over HTTP/1.1 a long poll's overhead is its request's and its
		// answer's heads, which fourway counts, and the JSON around the
		// messages, which it does not; a WebSocket's window has no head.
		r := results["longpoll"]
		if h := r.Wire.ServerHeadersPerMsg; h <= 0 || h > r.Wire.OverheadPerMsg {
			t.Errorf("long poll: fourway counted %.1f B of heads per message, want more than 0 and at most the overhead the subscribers saw, %.1f", h, r.Wire.OverheadPerMsg)
		}
		if w := results["ws"].Wire; w.ServerHeadersPerMsg != 0 || w.ServerFramesPerMsg != 0 {
			t.Errorf("WebSocket: fourway counted %.1f B of heads, %.1f of HTTP/2 frames per message, want none", w.ServerHeadersPerMsg, w.ServerFramesPerMsg)
		}
		// A stream's framing is counted where it is written: a WebSocket
		// message's frame header is 2 bytes (under 126), an SSE event's
		// fields and chunk are all of its overhead the subscribers saw.
		if w := results["ws"].Wire; w.ServerFramingPerMsg < 2 || w.ServerFramingPerMsg > w.OverheadPerMsg+0.5 {
			t.Errorf("WebSocket: fourway counted %.2f B of framing per message, want its 2-byte frame header, within the overhead the subscribers saw (%.2f)", w.ServerFramingPerMsg, w.OverheadPerMsg)
		}
		if w := results["sse"].Wire; w.ServerFramingPerMsg <= 0 || math.Abs(w.ServerFramingPerMsg-w.OverheadPerMsg) > 1 {
			t.Errorf("SSE: fourway counted %.2f B of framing per message, want the overhead the subscribers saw (%.2f)", w.ServerFramingPerMsg, w.OverheadPerMsg)
		}
		if w := results["longpoll"].Wire; w.ServerFramingPerMsg != 0 || w.ServerHeartbeatsPerMsg != 0 {
			t.Errorf("long poll: fourway counted %.2f B of stream framing and %.2f of heartbeats per message, want none", w.ServerFramingPerMsg, w.ServerHeartbeatsPerMsg)
		}
	})

	t.Run("WebSocketOverheadIsTheFrameHeader", func(t *testing.T) {
		// Server frames are not masked: 2 bytes of header under 126 bytes
		// of payload. The 4-byte case is TestWebSocketMediumFrame.
		r := results["ws"]
		if r.Wire.PayloadPerMsg >= 126 {
			t.Fatalf("payload %v bytes: not a 2-byte-header frame", r.Wire.PayloadPerMsg)
		}
		if r.Wire.OverheadPerMsg != 2 || r.Wire.UpPerMsg != 0 || r.Wire.RequestsPerMsg != 0 {
			t.Errorf("WebSocket overhead per message = %v (up %v, %v requests), want exactly 2 (0, 0)", r.Wire.OverheadPerMsg, r.Wire.UpPerMsg, r.Wire.RequestsPerMsg)
		}
	})

	t.Run("PollRequestsFollowTheTimetable", func(t *testing.T) {
		// One request per tick: 1 / (rate × interval) requests per message.
		r := results["poll"]
		want := 1 / (r.Rate * time.Duration(r.PollInterval).Seconds())
		if got := r.Wire.RequestsPerMsg; got < want*0.6 || got > want*1.5 {
			t.Errorf("short poll: %.3f requests per message, want about %.3f (rate %g/s, interval %s)", got, want, r.Rate, r.PollInterval)
		}
		if r.Latency.Max > 10*time.Duration(r.PollInterval).Seconds()*1000 {
			t.Errorf("short poll: max latency %.0f ms, far beyond the %s interval", r.Latency.Max, r.PollInterval)
		}
	})

	t.Run("LongPollRequestsAtMostOnePerMessage", func(t *testing.T) {
		// Every answer carries at least one message (the hold, 30 s, never
		// expires here); several when they queue while the client is away.
		r := results["longpoll"]
		if got := r.Wire.RequestsPerMsg; got <= 0.3 || got > 1 {
			t.Errorf("long poll: %.3f requests per message, want in (0.3, 1]", got)
		}
	})
}

// TestSSEDirectRow runs the sse-direct row: the same SSE client against
// fourway started with --sse-writer direct, which its /api/config says.
// Every message arrives once, with the framing of the library's stream
// (the wire contract is the same; only the server's writer differs),
// except that events a stream is behind by share one chunk.
func TestSSEDirectRow(t *testing.T) {
	t.Parallel()
	checkChildWriters(t, writerRowOf("sse-direct"))
	// The same events as the library's stream, byte for byte on the wire.
	r := runShort(t, short("fourway", "sse-direct"))
	checkDelivery(t, r)
	checkSSEFraming(t, r)
}

// TestLongPollDirectRow runs the longpoll-direct row: the long-poll
// client against fourway started with --longpoll-writer direct, which its
// /api/config says (runShort checks it too, as the bench does). Every
// message arrives once, each answer carries at least one, and the server
// counts the heads of the answers it writes itself.
func TestLongPollDirectRow(t *testing.T) {
	t.Parallel()
	checkChildWriters(t, writerRowOf("longpoll-direct"))
	r := runShort(t, short("fourway", "longpoll-direct"))
	checkDelivery(t, r)
	if got := r.Wire.RequestsPerMsg; got <= 0.3 || got > 1 {
		t.Errorf("longpoll-direct: %.3f requests per message, want in (0.3, 1]", got)
	}
	if h := r.Wire.ServerHeadersPerMsg; h <= 0 || h > r.Wire.OverheadPerMsg {
		t.Errorf("longpoll-direct: fourway counted %.1f B of heads per message, want more than 0 and at most the overhead the subscribers saw, %.1f", h, r.Wire.OverheadPerMsg)
	}
	if r.Wire.ReqHeaderN == 0 {
		t.Errorf("longpoll-direct: no request headers kept for its first subscriber (the long poll's HPACK note)")
	}
	// Mixed with the WebSocket, as ws+sse-direct: one server, run with the
	// direct long-poll writer (runShortMixed checks), both rows getting
	// every message.
	runShortMix(t, "fourway", "ws+longpoll-direct")
}

// runShortMix runs a short mixed scenario: one row per transport of mix,
// in its order, each getting every message, all with the one server's cost.
func runShortMix(t *testing.T, target, mix string) {
	t.Helper()
	sc := short(target, "")
	sc.Mixed = mix
	rs := runShortMixed(t, sc)
	var got []string
	for _, r := range rs {
		got = append(got, r.Transport)
	}
	if strings.Join(got, "+") != mix {
		t.Fatalf("%s %s: rows %q, want one per transport of the mix", target, mix, got)
	}
	for _, r := range rs {
		checkDelivery(t, r)
		if r.Mixed != mix || r.Server == nil || *r.Server != *rs[0].Server {
			t.Errorf("%s %s: mixed %q, server %+v: want %s and the one server's cost on every row", target, r.Transport, r.Mixed, r.Server, mix)
		}
	}
}

// checkChildWriters: a server child started for a writer row's base, and
// one for the row, each says in GET /api/config that it runs the writer
// its row is named after, and checkWriters takes it for its own row and
// refuses it for the other.
func checkChildWriters(t *testing.T, w *writerRow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tr := range []string{w.base, w.name} {
		sc, other := short("fourway", tr), short("fourway", w.base)
		want := directWriter
		if tr == w.base {
			other.Transport, want = w.name, w.usual
		}
		srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Writers: writersFor(sc)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := fourwayConfig(ctx, srv.base, "h1")
		ours, theirs := checkWriters(ctx, srv.base, sc), checkWriters(ctx, srv.base, other)
		srv.stop()
		if got := w.configured(c); err != nil || got != want {
			t.Errorf("%s: the server child says its %s is %q (%v), want %q", tr, w.field, got, err, want)
		}
		if ours != nil || theirs == nil || !strings.Contains(theirs.Error(), w.field) {
			t.Errorf("%s: checkWriters = %v for %s, %v for %s; want nil, and an error naming %s", tr, ours, tr, theirs, other.Transport, w.field)
		}
	}
}

// TestServerChildRefusesAnUnknownSSEWriter: a server child that cannot
// run the writer asked for fails to start with the reason, instead of
// measuring another writer under its name.
func TestServerChildRefusesAnUnknownSSEWriter(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Writers: map[string]string{"sse-writer": "carrier-pigeon"}})
	if err == nil {
		srv.stop()
		t.Fatal("the server child started with --sse-writer carrier-pigeon")
	}
	if !strings.Contains(err.Error(), "server child: ") || !strings.Contains(err.Error(), "sse-writer") {
		t.Errorf("the error does not give the child's reason: %v", err)
	}
}

// checkSSEFraming: each message is one event, "id: E:N\ndata: <json>\n\n"
// (E the feed's epoch), in one HTTP/1.1 chunk, "<hex length>\r\n<event>\r\n".
// Every event here is 16 to 255 bytes long, so its chunk length is two hex
// digits, and message N costs beside its JSON exactly
//
//	len("id: ")+len(E)+len(":")+digits(N)+len("\n") + len("data: ")+len("\n") + len("\n")
//	+ 2 + len("\r\n") + len("\r\n") = 20 + len(E) + digits(N) bytes.
//
// The span of a stream is all its messages: ids 2 to published+1 (id 1 is
// the primer every subscriber starts after).
func checkSSEFraming(t *testing.T, r Result) {
	t.Helper()
	if r.Epoch == "" {
		t.Fatalf("%s: the subscribers saw no epoch", r.Transport)
	}
	idPrefix := len("id: ") + len(r.Epoch) + len(":")
	event := idPrefix + 3 + len("\n") + len("data: ") + int(r.Wire.PayloadPerMsg) + len("\n") + len("\n")
	if event < 16 || event > 255 {
		t.Fatalf("event of about %d bytes: its chunk length may not be two hex digits", event)
	}
	if r.Wire.Messages != r.Published*int64(r.Subs) {
		t.Fatalf("%s: span holds %d messages, want %d × %d", r.Transport, r.Wire.Messages, r.Published, r.Subs)
	}
	var framing int64
	for id := int64(2); id <= r.Published+1; id++ {
		framing += int64(idPrefix) + int64(len(strconv.FormatInt(id, 10))) + 1 + 6 + 1 + 1 + 2 + 2 + 2
	}
	want := float64(framing) / float64(r.Published)
	switch {
	case r.Wire.UpPerMsg != 0:
		t.Errorf("%s: %v bytes up per message, want 0", r.Transport, r.Wire.UpPerMsg)
	case r.Transport == "sse-direct":
		// The direct writer puts the events a stream is behind by in one
		// chunk: down to one chunk's framing (2 + 2 + 2 bytes) for all.
		chunks := float64(6*(r.Published-1)) / float64(r.Published)
		if r.Wire.OverheadPerMsg > want+1e-9 || r.Wire.OverheadPerMsg < want-chunks-1e-9 {
			t.Errorf("%s overhead per message = %v, want from %v (one chunk in all) to %v (one chunk per event)", r.Transport, r.Wire.OverheadPerMsg, want-chunks, want)
		}
	case math.Abs(r.Wire.OverheadPerMsg-want) > 1e-9:
		t.Errorf("%s overhead per message = %v, want exactly %v", r.Transport, r.Wire.OverheadPerMsg, want)
	}
	if r.Wire.RequestsPerMsg != 0 || r.Wire.HandshakeDown == 0 || r.Wire.HandshakeUp == 0 {
		t.Errorf("%s: %v requests per message (want 0), handshake %v down %v up (want both > 0)", r.Transport, r.Wire.RequestsPerMsg, r.Wire.HandshakeDown, r.Wire.HandshakeUp)
	}
}

// TestWebSocketMediumFrame checks the 4-byte frame header of payloads from
// 126 to 65535 bytes.
func TestWebSocketMediumFrame(t *testing.T) {
	t.Parallel()
	sc := short("fourway", "ws")
	sc.Payload = 1000
	r := runShort(t, sc)
	checkDelivery(t, r)
	if p := r.Wire.PayloadPerMsg; p < 126 || p > 65535 {
		t.Fatalf("payload %v bytes: not a 4-byte-header frame", p)
	}
	if r.Wire.OverheadPerMsg != 4 {
		t.Errorf("WebSocket overhead per message = %v, want exactly 4", r.Wire.OverheadPerMsg)
	}
}

// TestNchanPeer runs the same short workload against nginx + Nchan. It
// needs the Debian packages nginx and libnginx-mod-nchan; without them it
// skips, except in CI, where it must fail rather than pass by skipping.
func TestNchanPeer(t *testing.T) {
	if missing := nchanMissing(testNginx()); missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the Nchan comparison cannot run: %s", missing)
		}
		t.Skipf("skipping the Nchan comparison: %s", missing)
	}
	t.Parallel()
	for _, tr := range allTransports {
		r := runShort(t, short("nchan", tr))
		checkDelivery(t, r)
		switch tr {
		case "poll":
			// One message per answer, and a 304 to end each tick.
			if r.Wire.RequestsPerMsg < 1 {
				t.Errorf("nchan poll: %.3f requests per message, want at least 1", r.Wire.RequestsPerMsg)
			}
		case "longpoll":
			if r.Wire.RequestsPerMsg != 1 {
				t.Errorf("nchan long poll: %.3f requests per message, want exactly 1", r.Wire.RequestsPerMsg)
			}
		case "sse", "ws":
			if r.Wire.RequestsPerMsg != 0 || r.Wire.UpPerMsg != 0 {
				t.Errorf("nchan %s: %v requests and %v bytes up per message, want 0", tr, r.Wire.RequestsPerMsg, r.Wire.UpPerMsg)
			}
		}
		if r.Server == nil || r.Server.RSSIdleMiB <= 0 {
			t.Errorf("nchan %s: no worker memory read from /proc", tr)
		}
	}
	// A mixed scenario: both transports on one nginx at once.
	runShortMix(t, "nchan", "ws+sse")
}

// TestRunWritesSelfContainedReport runs the command as a user would and
// checks its outputs: the table on stdout, progress never on stdout, and a
// JSON, CSV and HTML report that loads nothing from anywhere.
func TestRunWritesSelfContainedReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-transports", "ws,sse", "-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms", "-out", dir}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"p99 ms", "fourway   sse [h1]", "fourway    ws [h1]", "[h1]: HTTP/1.1, cleartext", "polling (2010, 871 B of headers)", "fourway ws [h1] (measured)", "go run ./bench -transports ws,sse"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "published,") {
		t.Errorf("progress line on stdout:\n%s", out)
	}
	var rep Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(rep.Results) != 2 || rep.Machine.Cores == 0 || rep.Machine.GoVersion == "" || rep.Command == "" || len(rep.Config.Transports) != 2 {
		t.Errorf("report.json lacks results, machine, command or config: %+v", rep)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 3 {
		t.Errorf("report.csv: want a header and 2 rows, got %v:\n%s", err, csv)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(page)
	if strings.Count(h, "<svg") < 3 {
		t.Errorf("report.html has %d charts, want at least 3", strings.Count(h, "<svg"))
	}
	for _, bad := range []string{"<script src", "<link", "src=\"http", "url(http", "@import"} {
		if strings.Contains(h, bad) {
			t.Errorf("report.html loads something from outside: %q", bad)
		}
	}
}

// TestRunMixedPlan runs -plan ws+sse as a user would: both transports'
// subscribers on one server at once, each row getting every message, the
// rows sharing the server's CPU per delivery (over all deliveries), and
// every output saying the rows are of one mixed scenario. The subscribers
// dial from two loopback source addresses.
func TestRunMixedPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-fourway", fourwayBinary(t), "-plan", "ws+sse:3:25:60", "-warmup", "500ms", "-duration", "1s", "-stagger", "100ms", "-publishers", "2", "-source-addrs", "2", "-out", dir, "-quiet"}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("%d results, want one row per transport of ws+sse:\n%s", len(rep.Results), stdout.String())
	}
	var deliveries int64
	for i, tr := range []string{"ws", "sse"} {
		r := rep.Results[i]
		if r.Transport != tr || r.Mixed != "ws+sse" || r.Subs != 3 || r.SourceAddrs != 2 {
			t.Errorf("row %d: transport %q, mixed %q, %d subs, %d source addresses; want %s, ws+sse, 3, 2", i, r.Transport, r.Mixed, r.Subs, r.SourceAddrs, tr)
		}
		checkDelivery(t, r)
		if r.Server == nil {
			t.Fatalf("%s: no server cost", tr)
		}
		deliveries += r.WindowDeliveries
	}
	a, c := rep.Results[0], rep.Results[1]
	if a.Published != c.Published || a.Epoch != c.Epoch || a.Epoch == "" {
		t.Errorf("the rows saw different publishers or servers: %d and %d published, epochs %q and %q", a.Published, c.Published, a.Epoch, c.Epoch)
	}
	if *a.Server != *c.Server {
		t.Errorf("the rows' server costs differ: %+v and %+v", *a.Server, *c.Server)
	}
	if want := a.Server.CPUSeconds / float64(deliveries) * 1e6; math.Abs(a.Server.CPUPerMsgMicros-want) > 1e-9 {
		t.Errorf("CPU per delivery %v µs, want the server's %v s over all %d deliveries = %v", a.Server.CPUPerMsgMicros, a.Server.CPUSeconds, deliveries, want)
	}
	out := stdout.String()
	for _, want := range []string{"ws in ws+sse", "sse in ws+sse", "mixed scenario ws+sse: ", "divided by every delivery of the scenario"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if recs, err := encodingcsv.NewReader(bytes.NewReader(csv)).ReadAll(); err != nil || len(recs) != 3 || len(recs[0]) != len(csvHeader) {
		t.Errorf("report.csv: %v, %d records; want a header of %d fields and 2 rows of as many", err, len(recs), len(csvHeader))
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for name, want := range map[string]string{"report.csv": ",ws+sse,2,h1,", "report.md": "ws · in mixed ws+sse (one server: CPU and KiB/conn shared)", "report.html": "in mixed ws+sse: one server, CPU and memory shared"} {
		got := map[string][]byte{"report.csv": csv, "report.md": md, "report.html": page}[name]
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, got)
		}
	}
}

func TestStampRoundTrip(t *testing.T) {
	for _, size := range []int{1, 40, 100, 1000} {
		data := stampData(1234, 987654321, size)
		if size >= 40 && len(data) != size {
			t.Errorf("stampData(size %d) is %d bytes", size, len(data))
		}
		if !json.Valid(data) {
			t.Errorf("stampData(size %d) is not JSON: %s", size, data)
		}
		msg := []byte(`{"id":7,"time":1763773323456.789,"data":` + string(data) + `}`)
		for _, b := range [][]byte{data, msg} {
			seq, ts, ok := parseStamp(b)
			if !ok || seq != 1234 || ts != 987654321 {
				t.Errorf("parseStamp(%s) = %d, %d, %v", b, seq, ts, ok)
			}
		}
	}
	if _, _, ok := parseStamp([]byte(`{"primer":true}`)); ok {
		t.Error("the primer parsed as a stamped message")
	}
}

func TestParsePlan(t *testing.T) {
	plan, err := parsePlan("ws,sse:1000:100; longpoll:1000:10:512; ws+sse:1000:100", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []PlanItem{{[]string{"ws", "sse"}, 1000, 100, 100}, {[]string{"longpoll"}, 1000, 10, 512}, {[]string{"ws+sse"}, 1000, 100, 100}}
	if len(plan) != 3 || strings.Join(plan[0].Transports, ",") != "ws,sse" || plan[0].Subs != 1000 || plan[0].Rate != 100 || plan[0].Payload != 100 ||
		plan[1].Transports[0] != "longpoll" || plan[1].Rate != 10 || plan[1].Payload != 512 ||
		strings.Join(plan[2].Transports, ",") != "ws+sse" || plan[2].Subs != 1000 {
		t.Errorf("parsePlan = %+v, want %+v", plan, want)
	}
	for bad, why := range map[string]string{
		"ws:1000":                          "transports:subs:rate",
		"ws:0:10":                          "positive whole number",
		"ws:10:-1":                         "positive number",
		"carrier-pigeon:10:1":              `"carrier-pigeon" is not one of`,
		"ws:10:1:x":                        "payload",
		"ws+:10:1":                         "one is empty",
		"+sse:10:1":                        "one is empty",
		"ws+ws:10:1":                       "names ws twice",
		"ws+pigeon:10:1":                   `"pigeon" is not one of`,
		"sse+sse-direct:10:1":              "one SSE writer",
		"ws+longpoll+longpoll-direct:10:1": "one long-poll writer, so longpoll and longpoll-direct cannot share it",
		":10:1":                            "names no transport",
	} {
		_, err := parsePlan(bad, 100)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("parsePlan(%q) = %v, want an error saying %q", bad, err, why)
		}
	}
}

// TestPlanScenarios: a comma makes scenarios of their own, a plus one
// mixed scenario; on Nchan, sse-direct is Nchan's one SSE writer and
// longpoll-direct its one long poll, measured once however many fourway
// rows they stand for.
func TestPlanScenarios(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-target", "fourway,nchan", "-plan", "ws,sse:100:10;ws+sse-direct:100:10;sse-direct:100:10;longpoll,longpoll-direct:10:1;ws+longpoll-direct+sse-direct:10:1"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range planScenarios(cfg) {
		got = append(got, sc.Target+" "+sc.name())
		if (sc.Mixed != "") == (sc.Transport != "") {
			t.Errorf("%s %s: Transport %q, Mixed %q: want exactly one set before the run", sc.Target, sc.name(), sc.Transport, sc.Mixed)
		}
	}
	want := "fourway ws|nchan ws|fourway sse|nchan sse|fourway ws+sse-direct|nchan ws+sse|fourway sse-direct|" +
		"fourway longpoll|nchan longpoll|fourway longpoll-direct|fourway ws+longpoll-direct+sse-direct|nchan ws+longpoll+sse"
	if strings.Join(got, "|") != want {
		t.Errorf("scenarios:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	for _, args := range [][]string{
		{"-transports", "ws+"},
		{"-transports", "ws+ws"},
		{"-url", "http://example.com:8080", "-source-addrs", "2"},
		{"-source-addrs", "251"},
	} {
		if _, _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// TestSourceAddrs: by default a scenario's subscribers dial from one
// loopback address per 5,000 of them once there are more than that.
func TestSourceAddrs(t *testing.T) {
	cfg := Config{SourceAddrs: -1}
	for subs, want := range map[int]int{10: 0, 5000: 0, 5001: 2, 10000: 2, 20000: 4} {
		if got := sourceAddrsFor(cfg, Scenario{Transport: "ws", Subs: subs}); got != want {
			t.Errorf("%d subscribers: %d source addresses, want %d", subs, got, want)
		}
	}
	if got := sourceAddrsFor(cfg, Scenario{Mixed: "ws+sse", Subs: 5000}); got != 2 {
		t.Errorf("ws+sse, 5,000 each: %d source addresses, want 2 (10,000 connections)", got)
	}
	if got := sourceAddrsFor(Config{SourceAddrs: 3}, Scenario{Transport: "ws", Subs: 1}); got != 3 {
		t.Errorf("-source-addrs 3: %d", got)
	}
	if sourceAddr(0, 0) != nil || sourceAddr(4, 3).String() != "127.0.0.3:0" || sourceAddr(2, 3).String() != "127.0.0.4:0" {
		t.Errorf("sourceAddr: %v %v %v", sourceAddr(0, 0), sourceAddr(4, 3), sourceAddr(2, 3))
	}
}

// TestSubscribersDialFromTheirSourceAddress: three subscribers spread over
// two source addresses reach the server from two distinct addresses.
func TestSubscribersDialFromTheirSourceAddress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	from := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		from[host]++
		mu.Unlock()
	}))
	defer srv.Close()
	for i := range 3 {
		s := newSub(i)
		s.w.from = sourceAddr(i, 2)
		c := s.w.httpClient("h1")
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("subscriber %d from %s: %v", i, s.w.from, err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		if s.w.up.Load() == 0 || s.w.down.Load() == 0 {
			t.Errorf("subscriber %d: its bytes were not counted", i)
		}
	}
	if len(from) != 2 || from["127.0.0.2"] != 2 || from["127.0.0.3"] != 1 {
		t.Errorf("the server saw requests from %v, want 127.0.0.2 twice and 127.0.0.3 once", from)
	}
}

// TestFileLimit: the bench raises its open-file limit to what a scenario
// needs, past the hard limit when it may, and says what to do when it
// may not.
func TestFileLimit(t *testing.T) {
	fake := func(cur, hard uint64, mayRaiseHard bool) (*[2]uint64, fileLimit) {
		lim := &[2]uint64{cur, hard}
		return lim, fileLimit{
			get: func() (uint64, uint64, error) { return lim[0], lim[1], nil },
			set: func(c, h uint64) error {
				if h > lim[1] && !mayRaiseHard || c > h {
					return syscall.EPERM
				}
				lim[0], lim[1] = c, h
				return nil
			},
		}
	}
	need := filesNeeded(Scenario{Mixed: "ws+sse", Subs: 10000, Publishers: 4})
	if need != 20000+4+fileMargin {
		t.Fatalf("filesNeeded = %d, want 20,260", need)
	}
	lim, l := fake(1024, 1<<20, false)
	if err := raiseFileLimit(l, need, "the bench", "test"); err != nil || lim[0] != need {
		t.Errorf("under the hard limit: %v, soft limit %d, want nil and %d", err, lim[0], need)
	}
	lim, l = fake(1024, 20000, true)
	if err := raiseFileLimit(l, need, "the bench", "test"); err != nil || lim[0] != need || lim[1] != need {
		t.Errorf("as root: %v, limits %v, want nil and %d", err, *lim, need)
	}
	lim, l = fake(1024, 20000, false)
	err := raiseFileLimit(l, need, "the bench", "20000 subscribers and 4 publishing connections")
	if err == nil {
		t.Fatal("past the hard limit, without the right to raise it: no error")
	}
	for _, want := range []string{"the bench needs 20260 open files (20000 subscribers and 4 publishing connections)", "hard limit is 20000", "ulimit -Hn 20260", "fewer subscribers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message %q does not say %q", err, want)
		}
	}
	if lim[0] != 20000 {
		t.Errorf("soft limit left at %d, want the hard limit, 20000", lim[0])
	}
}

// TestNchanConfigHoldsTheScenario: nginx's worker may hold every
// connection of a scenario, 10,000 subscribers of two transports included.
func TestNchanConfigHoldsTheScenario(t *testing.T) {
	for _, c := range []struct {
		sc                 Scenario
		connections, files int
	}{
		{Scenario{Transport: "ws", Subs: 1000, Publishers: 4}, 20000, 40000},
		{Scenario{Mixed: "ws+sse", Subs: 10000, Publishers: 4}, 20260, 40520},
	} {
		conf := nchanConfig("127.0.0.1:1", "", nchanConnections(c.sc), "h1", "")
		for _, want := range []string{fmt.Sprintf("worker_connections %d;", c.connections), fmt.Sprintf("worker_rlimit_nofile %d;", c.files), "listen 127.0.0.1:1;"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s × %d: the config lacks %q", c.sc.name(), c.sc.Subs, want)
			}
		}
		if strings.Contains(conf, "{{") {
			t.Errorf("a placeholder is left in the config")
		}
	}
}

// TestServerChildSaysWhyItCannotServe: a server child that cannot get the
// open files its scenario needs says so, and the bench's error says it.
func TestServerChildSaysWhyItCannotServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Files: 1 << 40})
	if err == nil || !strings.Contains(err.Error(), "the fourway server child needs 1099511627776 open files") {
		t.Errorf("startFourwayChild with an impossible open-file need: %v", err)
	}
}

// TestServerChildGetsItsOpenFiles: a server child started for 10,000
// subscribers, and for 10,000 of each of two transports at once (past
// the hard limit of 20,000 this machine may start the bench with), may
// open as many files as its scenario needs, as /proc/<pid>/limits says.
// Past the hard limit only a process allowed to raise it can; elsewhere
// that case skips, with the bench's message.
func TestServerChildGetsItsOpenFiles(t *testing.T) {
	t.Parallel()
	for _, sc := range []Scenario{{Transport: "ws", Subs: 10000, Publishers: 4}, {Mixed: "ws+sse", Subs: 10000, Publishers: 4}} {
		t.Run(sc.name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			need := filesNeeded(sc)
			srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Files: need})
			if err != nil && strings.Contains(err.Error(), "raising it failed") {
				t.Skipf("this process may not raise its hard limit: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			soft, hard := openFileLimit(t, srv.parts()[0].CPU[0])
			srv.stop()
			if soft < need || hard < need {
				t.Errorf("%d subscribers: the server child may open %d files (hard limit %d), want %d", sc.totalSubs(), soft, hard, need)
			}
		})
	}
}

// openFileLimit reads a process's open-file limits from /proc/<pid>/limits.
func openFileLimit(t *testing.T, pid int) (soft, hard uint64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				soft, err1 := strconv.ParseUint(f[0], 10, 64)
				hard, err2 := strconv.ParseUint(f[1], 10, 64)
				if err1 == nil && err2 == nil {
					return soft, hard
				}
			}
		}
	}
	t.Fatalf("/proc/%d/limits has no open-file limit:\n%s", pid, b)
	return 0, 0
}

// dyingBenchEnv names the fourway binary a test binary started as a bench
// that dies runs (see dyingBench).
const dyingBenchEnv = "FOURWAY_BENCH_TEST_DYING_BENCH"

// dyingBench starts a server child of bin, prints its process id, and
// waits for its stdin to close, or to be killed.
func dyingBench(bin string) {
	srv, err := startFourwayChild(context.Background(), childConfig{Binary: bin, History: 10})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(srv.parts()[0].CPU[0])
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.stop()
}

// TestServerChildStopsWhenTheBenchDies: a bench killed with SIGKILL,
// which can stop nothing, leaves no server child running: the child is
// sent SIGTERM when its parent dies, and ends.
func TestServerChildStopsWhenTheBenchDies(t *testing.T) {
	t.Parallel()
	bench := exec.Command(os.Args[0], "-test.run=^$")
	bench.Env = append(os.Environ(), dyingBenchEnv+"="+fourwayBinary(t))
	stdin, err := bench.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := bench.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bench.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		bench.Process.Kill()
		bench.Wait()
		t.Fatalf("the dying bench did not start its server child: %q", line)
	}
	if !running(pid) {
		t.Fatalf("server child %d not running before its bench died", pid)
	}
	bench.Process.Kill()
	bench.Wait()
	for deadline := time.Now().Add(20 * time.Second); running(pid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // polling the process table, bounded by the deadline
	}
	if running(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("server child %d still running 20 s after its bench was killed", pid)
	}
}

// running reports whether process pid exists and has not exited (a
// zombie has: it waits for its new parent to reap it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// TestServerChildIsReadyWhenHealthy: the bench takes the address of the
// child's "fourway listening" line, which may come in pieces, and waits
// until GET /healthz answers 200: a node on JetStream listens before its
// feed is ready, and answers 503 {"status":"starting"} meanwhile.
func TestServerChildIsReadyWhenHealthy(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	asked := 0
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/healthz" {
			t.Errorf("asked %s, want /healthz", r.URL)
		}
		if asked++; asked <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"starting"}`)
		}
	}))
	defer fake.Close()
	c := &runningChild{out: newChildOutput(), waited: make(chan struct{})}
	fmt.Fprint(c.out, "time=2026-12-07T12:52:05.144Z level=INFO msg=\"feed on JetStream\" url=nats://127.0.0.1:4222\ntime=2026-12-07T12:52:05.144Z level=INFO msg=\"fourway list")
	fmt.Fprintf(c.out, "ening\" url=%s history=10 ticker=0s\n", fake.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base, err := c.waitReady(ctx, "h1", 20*time.Second)
	if err != nil || base != fake.URL {
		t.Fatalf("waitReady = %q, %v; want %s", base, err, fake.URL)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 3 {
		t.Errorf("GET /healthz %d times, want 3: until it answered 200", asked)
	}
}

// TestServerProfile: -server-profile has each row's server child write a
// CPU profile (fourway's --cpu-profile), named for its scenario.
func TestServerProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"-fourway", fourwayBinary(t), "-transports", "ws", "-subs", "2", "-rate", "20", "-warmup", "200ms", "-duration", "500ms", "-stagger", "50ms",
		"-server-profile", filepath.Join(dir, "profiles"), "-quiet", "-out", dir}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	if err := run(ctx, args, &stdout, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "profiles", "ws-2-20-100.pprof"))
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the server child's profile: %d bytes, %v; want a gzipped pprof profile", len(b), err)
	}
}

// TestFourwayFlag: -fourway names an executable file, and only when the
// bench starts a fourway.
func TestFourwayFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-fourway", filepath.Join(t.TempDir(), "nonexistent")}, "not an executable file"},
		{[]string{"-fourway", t.TempDir()}, "not an executable file"},
		{[]string{"-fourway", os.Args[0], "-url", "http://127.0.0.1:8080"}, "with -url it starts none"},
	} {
		_, _, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.args, err, c.want)
		}
	}
	cfg, _, err := parseFlags([]string{"-fourway", os.Args[0]}, io.Discard)
	if err != nil || cfg.Fourway != os.Args[0] {
		t.Errorf("-fourway %s: %v, binary %q", os.Args[0], err, cfg.Fourway)
	}
}

func TestCommandIsQuotedForTheShell(t *testing.T) {
	got := command([]string{"-plan", "ws,sse:1000:100;longpoll:1000:10", "-out", "it's here", "-subs", "10,100"})
	want := `go run ./bench -plan 'ws,sse:1000:100;longpoll:1000:10' -out 'it'\''s here' -subs 10,100`
	if got != want {
		t.Errorf("command = %s\nwant      %s", got, want)
	}
}

// TestWriterRowsAreComparedWithNchansBase: a writer row is held against
// Nchan's row of its base transport (longpoll-direct against Nchan's
// longpoll, sse-direct against its sse), alone and within a mix.
func TestWriterRowsAreComparedWithNchansBase(t *testing.T) {
	row := func(target, tr, mix string) Result {
		r := Result{Scenario: short(target, tr)}
		r.Mixed, r.Latency = mix, Latency{Count: 1, P99: 5}
		return r
	}
	results := []Result{
		row("fourway", "longpoll-direct", ""), row("fourway", "sse-direct", ""), row("nchan", "longpoll", ""), row("nchan", "sse", ""),
		row("fourway", "longpoll-direct", "ws+longpoll-direct"), row("nchan", "longpoll", "ws+longpoll"),
	}
	var got []string
	for _, tg := range checkTargets(results) {
		if strings.Contains(tg.What, "vs nginx+Nchan") && strings.Contains(tg.Want, "p99") {
			got = append(got, tg.What)
		}
	}
	if g := strings.Join(got, "|"); len(got) != 3 || !strings.Contains(g, "fourway longpoll-direct, ") || !strings.Contains(g, "fourway sse-direct, ") ||
		!strings.Contains(g, "longpoll-direct in ws+longpoll-direct") {
		t.Errorf("comparisons with Nchan: %q, want longpoll-direct, sse-direct and longpoll-direct in ws+longpoll-direct, each once", got)
	}
}
