package targets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fourway/bench/benchtest"
	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/deploy/node"
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
	built.Remove()
	os.Exit(code)
}

// built is the fourway binary the tests start as the server child: built
// once, from this module, as the bench builds it.
var built node.Once

func fourwayBinary(t *testing.T) string {
	t.Helper()
	bin, err := built.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func runShort(t *testing.T, sc plan.Scenario) record.Result {
	t.Helper()
	rs := runShortMixed(t, sc)
	if len(rs) != 1 {
		t.Fatalf("%s %s: %d results, want 1", sc.Target, sc.Name(), len(rs))
	}
	return rs[0]
}

// runShortMixed runs a scenario, mixed or not, and returns its rows.
func runShortMixed(t *testing.T, sc plan.Scenario) []record.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// As the bench starts the row's server: the fourway child checked to
	// run the writers the row is named after, or nginx + Nchan.
	env := &Env{cfg: plan.Config{History: 1000, Nginx: benchtest.Nginx()}, binary: fourwayBinary(t)}
	res, err := load.Measure(ctx, sc, env.Start(sc), load.Options{Progress: &load.Progress{}, Label: t.Name()})
	if err != nil {
		t.Fatalf("%s %s: %v", sc.Target, sc.Name(), err)
	}
	return res
}

// validEpoch is the contract's epoch: 1 to 32 of [A-Za-z0-9_-].
func validEpoch(e string) bool {
	return e != "" && len(e) <= 32 && strings.Trim(e, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// TestFourwayShortRun runs the bench briefly on all four transports and
// checks delivery, the exact framing costs and the request counts.
func TestFourwayShortRun(t *testing.T) {
	t.Parallel()
	results := map[string]record.Result{}
	for _, tr := range plan.AllTransports {
		r := runShort(t, benchtest.Short("fourway", tr))
		benchtest.CheckDelivery(t, r)
		if r.Server == nil || r.Server.RSSIdleMiB <= 0 {
			t.Errorf("%s: no server memory read from /proc", tr)
		}
		if !validEpoch(r.Epoch) {
			t.Errorf("%s: the subscribers ended in epoch %q, want 1 to 32 of [A-Za-z0-9_-]", tr, r.Epoch)
		}
		results[tr] = r
	}

	t.Run("SSEOverheadIsItsFraming", func(t *testing.T) { checkSSEFraming(t, results["sse"]) })

	t.Run("TheServerCountsItsHeads", func(t *testing.T) { checkServerCounts(t, results) })

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

// checkServerCounts: what fourway's /api/stats counted of the rows'
// bytes is within what the subscribers saw, as each transport's wire
// has it.
func checkServerCounts(t *testing.T, results map[string]record.Result) {
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
func checkSSEFraming(t *testing.T, r record.Result) {
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

// TestSSEDirectRow runs the sse-direct row: the same SSE client against
// fourway started with --sse-writer direct, which its /api/config says.
// Every message arrives once, with the framing of the library's stream
// (the wire contract is the same; only the server's writer differs),
// except that events a stream is behind by share one chunk.
func TestSSEDirectRow(t *testing.T) {
	t.Parallel()
	checkChildWriters(t, plan.WriterRowOf("sse-direct"))
	// The same events as the library's stream, byte for byte on the wire.
	r := runShort(t, benchtest.Short("fourway", "sse-direct"))
	benchtest.CheckDelivery(t, r)
	checkSSEFraming(t, r)
}

// TestLongPollDirectRow runs the longpoll-direct row: the long-poll
// client against fourway started with --longpoll-writer direct, which its
// /api/config says (runShort checks it too, as the bench does). Every
// message arrives once, each answer carries at least one, and the server
// counts the heads of the answers it writes itself.
func TestLongPollDirectRow(t *testing.T) {
	t.Parallel()
	checkChildWriters(t, plan.WriterRowOf("longpoll-direct"))
	r := runShort(t, benchtest.Short("fourway", "longpoll-direct"))
	benchtest.CheckDelivery(t, r)
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
	sc := benchtest.Short(target, "")
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
		benchtest.CheckDelivery(t, r)
		if r.Mixed != mix || r.Server == nil || *r.Server != *rs[0].Server {
			t.Errorf("%s %s: mixed %q, server %+v: want %s and the one server's cost on every row", target, r.Transport, r.Mixed, r.Server, mix)
		}
	}
}

// checkChildWriters: a server child started for a writer row's base, and
// one for the row, each says in GET /api/config that it runs the writer
// its row is named after, and checkWriters takes it for its own row and
// refuses it for the other.
func checkChildWriters(t *testing.T, w *plan.WriterRow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tr := range []string{w.Base, w.Name} {
		sc, other := benchtest.Short("fourway", tr), benchtest.Short("fourway", w.Base)
		want := plan.DirectWriter
		if tr == w.Base {
			other.Transport, want = w.Name, w.Usual
		}
		srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Writers: writersFor(sc)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := fourwayConfig(ctx, srv.Base, "h1")
		ours, theirs := checkWriters(ctx, srv.Base, sc), checkWriters(ctx, srv.Base, other)
		srv.Stop()
		if got := configuredWriter[w.Flag](c); err != nil || got != want {
			t.Errorf("%s: the server child says its %s is %q (%v), want %q", tr, w.Field, got, err, want)
		}
		if ours != nil || theirs == nil || !strings.Contains(theirs.Error(), w.Field) {
			t.Errorf("%s: checkWriters = %v for %s, %v for %s; want nil, and an error naming %s", tr, ours, tr, theirs, other.Transport, w.Field)
		}
	}
}

// TestWebSocketMediumFrame checks the 4-byte frame header of payloads from
// 126 to 65535 bytes.
func TestWebSocketMediumFrame(t *testing.T) {
	t.Parallel()
	sc := benchtest.Short("fourway", "ws")
	sc.Payload = 1000
	r := runShort(t, sc)
	benchtest.CheckDelivery(t, r)
	if p := r.Wire.PayloadPerMsg; p < 126 || p > 65535 {
		t.Fatalf("payload %v bytes: not a 4-byte-header frame", p)
	}
	if r.Wire.OverheadPerMsg != 4 {
		t.Errorf("WebSocket overhead per message = %v, want exactly 4", r.Wire.OverheadPerMsg)
	}
}

// wantNegotiated is what a row's answers must have come over: HTTP/2 for
// the polls and SSE under h2 and h2c, HTTP/1.1 otherwise, and the
// WebSocket on HTTP/1.1 under every protocol; inside TLS under h1tls and h2.
func wantNegotiated(transport, p string) string {
	proto := "HTTP/1.1"
	if transport != "ws" && (p == "h2" || p == "h2c") {
		proto = "HTTP/2.0"
	}
	if plan.ProtoTLS(p) {
		proto += " over TLS"
	}
	return proto
}

// checkProtoRow asserts a row names its protocol and was measured over it.
func checkProtoRow(t *testing.T, r record.Result, p string) {
	t.Helper()
	if r.Proto != p || !strings.HasSuffix(r.Label(), "["+p+"]") {
		t.Errorf("%s %s: proto %q, label %q: want %s named", r.Target, r.Transport, r.Proto, r.Label(), p)
	}
	if want := wantNegotiated(r.Transport, p); r.Negotiated != want {
		t.Errorf("%s %s over %s: answers came over %q, want %q", r.Target, r.Transport, p, r.Negotiated, want)
	}
}

// TestFourwayOverHTTP2 runs every transport over HTTP/2 with TLS: polls,
// long polls and SSE come back as HTTP/2.0 streams, the WebSocket as
// HTTP/1.1 over TLS, and every message reaches every subscriber once.
// The poll rows show HPACK: a later request writes fewer header bytes
// than the first.
func TestFourwayOverHTTP2(t *testing.T) {
	t.Parallel()
	for _, tr := range plan.AllTransports {
		r := runShort(t, benchtest.OverProto("fourway", tr, "h2"))
		benchtest.CheckDelivery(t, r)
		checkProtoRow(t, r, "h2")
		if tr != "ws" && (r.Wire.ServerFramesPerMsg <= 0 || r.Wire.ServerHeadersPerMsg+r.Wire.ServerFramesPerMsg > r.Wire.OverheadPerMsg) {
			t.Errorf("h2 %s: fourway counted %.1f B of header blocks and %.1f of frame headers per message, want frames, and both within the overhead the subscribers saw (%.1f)",
				tr, r.Wire.ServerHeadersPerMsg, r.Wire.ServerFramesPerMsg, r.Wire.OverheadPerMsg)
		}
		if tr == "poll" || tr == "longpoll" {
			if r.Wire.ReqHeaderN < 2 || r.Wire.ReqHeaderLater >= r.Wire.ReqHeaderFirst {
				t.Errorf("h2 %s: request 1 wrote %d B, request %d wrote %d B: want HPACK to make the later one smaller",
					tr, r.Wire.ReqHeaderFirst, r.Wire.ReqHeaderN, r.Wire.ReqHeaderLater)
			}
		}
	}
}

// TestFourwayOverTLSAndH2C runs a row over HTTP/1.1 with TLS (HTTP/2 off
// on the server) and over cleartext HTTP/2.
func TestFourwayOverTLSAndH2C(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ transport, proto string }{
		{"sse", "h1tls"}, {"ws", "h1tls"}, {"longpoll", "h2c"}, {"ws", "h2c"},
	} {
		r := runShort(t, benchtest.OverProto("fourway", c.transport, c.proto))
		benchtest.CheckDelivery(t, r)
		checkProtoRow(t, r, c.proto)
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
		srv.Stop()
		t.Fatal("the server child started with --sse-writer carrier-pigeon")
	}
	if !strings.Contains(err.Error(), "server child: ") || !strings.Contains(err.Error(), "sse-writer") {
		t.Errorf("the error does not give the child's reason: %v", err)
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
	for _, sc := range []plan.Scenario{{Transport: "ws", Subs: 10000, Publishers: 4}, {Mixed: "ws+sse", Subs: 10000, Publishers: 4}} {
		t.Run(sc.Name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			need := plan.FilesNeeded(sc)
			srv, err := startFourwayChild(ctx, childConfig{Binary: fourwayBinary(t), History: 10, Files: need})
			if err != nil && strings.Contains(err.Error(), "raising it failed") {
				t.Skipf("this process may not raise its hard limit: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			soft, hard := openFileLimit(t, srv.Parts()[0].CPU[0])
			srv.Stop()
			if soft < need || hard < need {
				t.Errorf("%d subscribers: the server child may open %d files (hard limit %d), want %d", sc.TotalSubs(), soft, hard, need)
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
	fmt.Println(srv.Parts()[0].CPU[0])
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Stop()
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

// TestFourwayCompressed: a row whose subscribers offer compression
// measures a fourway started with --compress: every transport's messages
// come compressed (gzip, permessage-deflate without context takeover),
// fewer bytes on the wire than they decode to, and the decoded bytes the
// payload's; a direct writer's row, whose server cannot compress, says
// "none".
func TestFourwayCompressed(t *testing.T) {
	t.Parallel()
	want := map[string]string{"poll": "gzip", "longpoll": "gzip", "sse": "gzip", "ws": wsDeflate, "sse-direct": "none"}
	for _, tr := range append(slices.Clone(plan.AllTransports), "sse-direct") {
		checkCompressed(t, "fourway", tr, want[tr])
	}
}
