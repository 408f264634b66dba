package main

import (
	"bytes"
	"context"
	encodingcsv "encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fourway/bench/benchtest"
	"fourway/bench/plan"
	"fourway/bench/record"
)

// TestLinksFlag: -link and -links name links of transports/links, each
// once, and every scenario runs through each in turn.
func TestLinksFlag(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-links", "loopback,3g", "-transports", "ws,poll"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range plan.Scenarios(cfg) {
		got = append(got, sc.Label())
	}
	if g := strings.Join(got, "|"); g != "ws [h1] via loopback|ws [h1] via 3g|poll [h1] via loopback|poll [h1] via 3g" {
		t.Errorf("-links loopback,3g: scenarios %q", g)
	}
	if cfg, _, err := parseFlags([]string{"-link", "slow-3g"}, &stderr); err != nil || strings.Join(cfg.Links, ",") != "slow-3g" {
		t.Errorf("-link slow-3g: %v, links %q", err, cfg.Links)
	}
	for _, c := range []struct{ args, want string }{
		{"-link 5g", `-links: no link "5g": the links are loopback, cable, 4g, 3g, slow-3g, train`},
		{"-links 3g,3g", "-links: 3g named twice"},
	} {
		if _, _, err := parseFlags(strings.Fields(c.args), &stderr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestRunThroughALink: with -link 3g every subscriber reaches the server
// through 3G's 300 ms round trip, so no message reaches one sooner than
// half of it after it was due, and every row says which link it ran
// through.
func TestRunThroughALink(t *testing.T) {
	t.Parallel()
	rep, stdout, dir := runSmall(t, 60*time.Second, "-link", "3g", "-transports", "ws,longpoll", "-rate", "20", "-warmup", "500ms", "-duration", "1s")
	if len(rep.Results) != 2 {
		t.Fatalf("%d results, want 2:\n%s", len(rep.Results), stdout)
	}
	for _, r := range rep.Results {
		benchtest.CheckDelivery(t, r)
		if r.Link != "3g" || r.Latency.Count == 0 || r.Latency.P50 < 150 {
			t.Errorf("%s: link %q, p50 %.1f ms of %d; want 3g and at least half its 300 ms round trip", r.Label(), r.Link, r.Latency.P50, r.Latency.Count)
		}
		t.Logf("%s: p50 %.1f ms, p99 %.1f ms, publish round trip p50 %.1f ms", r.Label(), r.Latency.P50, r.Latency.P99, r.PublishRTT.P50)
	}
	if !strings.Contains(stdout, "ws [h1] via 3g") {
		t.Errorf("stdout does not name the link:\n%s", stdout)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	recs, err := encodingcsv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 3 || !slices.Contains(recs[0], "link") || recs[1][slices.Index(recs[0], "link")] != "3g" {
		t.Errorf("report.csv: %v; want a link column saying 3g:\n%s", err, b)
	}
}

// runSmall runs the bench on the fourway binary of the tests with args,
// beside what the link and fault tests share: 2 subscribers a row unless
// args say otherwise, connecting over 50 ms, one publisher, no progress
// line, the report in a fresh directory. It fails t if the run fails,
// and returns the report, the console output and the directory.
func runSmall(t *testing.T, timeout time.Duration, args ...string) (rep record.Report, stdout, dir string) {
	t.Helper()
	dir = t.TempDir()
	var out, stderr bytes.Buffer
	args = append([]string{"-fourway", fourwayBinary(t), "-subs", "2", "-stagger", "50ms", "-publishers", "1", "-out", dir, "-quiet"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := run(ctx, args, &out, &stderr); err != nil {
		t.Fatalf("run %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return readReport(t, dir), out.String(), dir
}
