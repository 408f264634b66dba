package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fourway/bench/benchtest"
)

// TestOutageFlag: -outage needs a link to silence, fourway's clients to
// notice, and a window longer than itself; a negative one is refused.
func TestOutageFlag(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-link", "3g", "-outage", "2s", "-duration", "5s"}, &stderr)
	if err != nil || time.Duration(cfg.Outage) != 2*time.Second {
		t.Errorf("-link 3g -outage 2s -duration 5s: %v, outage %s", err, cfg.Outage)
	}
	for _, c := range []struct{ args, want string }{
		{"-outage 2s -duration 5s", "-outage: the link is what goes silent: name one with -link"},
		{"-link 3g -outage -2s", "-outage -2s: a silence lasts a positive time"},
		{"-link 3g -outage 5s -duration 5s", "-outage 5s: the window (-duration 5s) must be longer than the outage"},
		{"-link 3g -outage 2s -duration 5s -target fourway,nchan", "-outage: fourway only"},
	} {
		if _, _, err := parseFlags(strings.Fields(c.args), &stderr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestRunThroughAnOutage: the link goes silent for a second at the
// window's start. At the server's default heartbeats no client of the
// page's gives its connection up so soon (the soonest rule, the SSE
// watchdog's, needs two checks 5 s apart), so every row says none
// noticed before the bytes came back, and every subscriber still got
// every message, the last of those meant for the silence after the
// return.
func TestRunThroughAnOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-fourway", fourwayBinary(t), "-link", "loopback", "-outage", "1s", "-transports", "poll,longpoll,sse,ws",
		"-subs", "2", "-rate", "20", "-warmup", "300ms", "-duration", "2s", "-stagger", "50ms", "-publishers", "1", "-out", dir, "-quiet"}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	rep := readReport(t, dir)
	if len(rep.Results) != 4 {
		t.Fatalf("%d results, want 4:\n%s", len(rep.Results), stdout.String())
	}
	for _, r := range rep.Results {
		benchtest.CheckDelivery(t, r)
		o := r.SilentLink
		if o == nil {
			t.Errorf("%s: no outage recorded", r.Label())
			continue
		}
		if o.SilentMS != 1000 || o.Subscribers != 2 || o.Rule == "" {
			t.Errorf("%s: silent %.0f ms, %d subscribers, rule %q; want 1000, 2 and a rule", r.Label(), o.SilentMS, o.Subscribers, o.Rule)
		}
		if o.Noticed != 0 {
			t.Errorf("%s: %d noticed a 1 s silence (%s after %.0f ms), which no rule of the page's does at the default heartbeats", r.Label(), o.Noticed, o.How, o.NoticeMS.Min)
		}
		if o.CaughtUp != 2 || o.CaughtUpMS.N != 2 {
			t.Errorf("%s: %d of 2 caught up (%d times)", r.Label(), o.CaughtUp, o.CaughtUpMS.N)
		}
		t.Logf("%s: caught up %.0f / %.0f / %.0f ms after the return; %s", r.Label(), o.CaughtUpMS.Min, o.CaughtUpMS.Median, o.CaughtUpMS.Max, o.Rule)
	}
	out := stdout.String()
	if !strings.Contains(out, "silent link (-outage, 1000 ms)") || !strings.Contains(out, "not until the return") {
		t.Errorf("stdout has no outage table:\n%s", out)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "| fourway ws [h1] via loopback | 0/2 | not until the return |") {
		t.Errorf("report.md has no outage table:\n%s", md)
	}
}
