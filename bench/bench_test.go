package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the bench's server child too, as the
// bench binary is: runScenario starts fourway by re-executing itself.
func TestMain(m *testing.M) {
	serveChildIfAsked()
	os.Exit(m.Run())
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
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var d dialect = fourway{}
	start := func(ctx context.Context) (*server, error) { return startFourwayChild(ctx, 1000, "", 0) }
	if sc.Target == "nchan" {
		d = nchan{}
		start = func(ctx context.Context) (*server, error) { return startNchan(ctx, testNginx()) }
	}
	res, err := runScenario(ctx, sc, d, start, nil, &progress{}, t.Name())
	if err != nil {
		t.Fatalf("%s %s: %v", sc.Target, sc.Transport, err)
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

	t.Run("SSEOverheadIsItsFraming", func(t *testing.T) {
		// Each message is one event, "id: E:N\ndata: <json>\n\n" (E the
		// feed's epoch), in one HTTP/1.1 chunk, "<hex length>\r\n<event>\r\n".
		// Every event here is 16 to 255 bytes long, so its chunk length is
		// two hex digits, and message N costs beside its JSON exactly
		//   len("id: ")+len(E)+len(":")+digits(N)+len("\n") + len("data: ")+len("\n") + len("\n")
		//   + 2 + len("\r\n") + len("\r\n") = 20 + len(E) + digits(N) bytes.
		// The span of a stream is all its messages: ids 2 to published+1
		// (id 1 is the primer every subscriber starts after).
		r := results["sse"]
		if r.Epoch == "" {
			t.Fatal("SSE: the subscribers saw no epoch")
		}
		idPrefix := len("id: ") + len(r.Epoch) + len(":")
		event := idPrefix + 3 + len("\n") + len("data: ") + int(r.Wire.PayloadPerMsg) + len("\n") + len("\n")
		if event < 16 || event > 255 {
			t.Fatalf("event of about %d bytes: its chunk length may not be two hex digits", event)
		}
		if r.Wire.Messages != r.Published*int64(r.Subs) {
			t.Fatalf("span holds %d messages, want %d × %d", r.Wire.Messages, r.Published, r.Subs)
		}
		var framing int64
		for id := int64(2); id <= r.Published+1; id++ {
			framing += int64(idPrefix) + int64(len(strconv.FormatInt(id, 10))) + 1 + 6 + 1 + 1 + 2 + 2 + 2
		}
		want := float64(framing) / float64(r.Published)
		if math.Abs(r.Wire.OverheadPerMsg-want) > 1e-9 || r.Wire.UpPerMsg != 0 {
			t.Errorf("SSE overhead per message = %v (up %v), want exactly %v (up 0)", r.Wire.OverheadPerMsg, r.Wire.UpPerMsg, want)
		}
		if r.Wire.RequestsPerMsg != 0 || r.Wire.HandshakeDown == 0 || r.Wire.HandshakeUp == 0 {
			t.Errorf("SSE: %v requests per message (want 0), handshake %v down %v up (want both > 0)", r.Wire.RequestsPerMsg, r.Wire.HandshakeDown, r.Wire.HandshakeUp)
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
	for _, want := range []string{"p99 ms", "fourway        sse", "fourway         ws", "polling (2010, 871 B of headers)", "fourway ws (measured)", "go run ./bench -transports ws,sse"} {
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
	plan, err := parsePlan("ws,sse:1000:100; longpoll:1000:10:512", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []PlanItem{{[]string{"ws", "sse"}, 1000, 100, 100}, {[]string{"longpoll"}, 1000, 10, 512}}
	if len(plan) != 2 || strings.Join(plan[0].Transports, ",") != "ws,sse" || plan[0].Subs != 1000 || plan[0].Rate != 100 || plan[0].Payload != 100 ||
		plan[1].Transports[0] != "longpoll" || plan[1].Rate != 10 || plan[1].Payload != 512 {
		t.Errorf("parsePlan = %+v, want %+v", plan, want)
	}
	for _, bad := range []string{"ws:1000", "ws:0:10", "ws:10:-1", "carrier-pigeon:10:1", "ws:10:1:x"} {
		if _, err := parsePlan(bad, 100); err == nil {
			t.Errorf("parsePlan(%q) accepted", bad)
		}
	}
}

func TestCommandIsQuotedForTheShell(t *testing.T) {
	got := command([]string{"-plan", "ws,sse:1000:100;longpoll:1000:10", "-out", "it's here", "-subs", "10,100"})
	want := `go run ./bench -plan 'ws,sse:1000:100;longpoll:1000:10' -out 'it'\''s here' -subs 10,100`
	if got != want {
		t.Errorf("command = %s\nwant      %s", got, want)
	}
}
