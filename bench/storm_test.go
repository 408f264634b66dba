package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fourway/bench/benchtest"
	"fourway/bench/record"
)

// TestStormFlag: -storm is cut or restart, fourway's, one fault a row;
// -herd needs a storm.
func TestStormFlag(t *testing.T) {
	var stderr bytes.Buffer
	cfg, _, err := parseFlags([]string{"-storm", "restart", "-herd"}, &stderr)
	if err != nil || cfg.Storm != "restart" || !cfg.Herd {
		t.Errorf("-storm restart -herd: %v, storm %q, herd %v", err, cfg.Storm, cfg.Herd)
	}
	for _, c := range []struct{ args, want string }{
		{"-storm flood", `-storm "flood": want cut (the server drops every connection) or restart`},
		{"-herd", "-herd: the clients come back as a herd after a -storm"},
		{"-storm cut -target nchan", "-storm cut: Nchan has no call that drops its subscribers"},
		{"-storm cut -link 3g -outage 2s -duration 5s", "-storm and -outage: one fault a row"},
		{"-storm restart -url http://127.0.0.1:8080", "-storm restart: not with -url"},
		{"-storm cut -cluster", "-storm: not with -cluster"},
	} {
		if _, _, err := parseFlags(strings.Fields(c.args), &stderr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestRunAStorm: every connection cut at the window's start, by the
// server (cut: its feed goes on, so nothing is lost) and by its process
// killed and started again (restart, under -herd; and nginx + Nchan,
// where nginx and Nchan are installed, failing under CI=true where they
// are not): every subscriber is served again, and the report says how
// soon. fourway loses nothing either way: under restart, only what the
// killed server had acknowledged and not yet sent may be missing, counted
// apart. Nchan's losses to a restart are what its row measures.
func TestRunAStorm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind  string
		extra []string
	}{{"cut", nil}, {"restart", []string{"-herd"}}, {"restart", []string{"-herd", "-target", "nchan"}}} {
		t.Run(c.kind+strings.Join(c.extra, ""), func(t *testing.T) {
			target := "fourway"
			if slices.Contains(c.extra, "nchan") {
				target = "nchan"
				benchtest.NeedNchan(t)
			}
			t.Parallel()
			args := append([]string{"-storm", c.kind, "-transports", "ws,sse,longpoll", "-subs", "4", "-rate", "20", "-warmup", "300ms", "-duration", "3s"}, c.extra...)
			rep, stdout, dir := runSmall(t, 120*time.Second, args...)
			if len(rep.Results) != 3 {
				t.Fatalf("%d results, want 3:\n%s", len(rep.Results), stdout)
			}
			for _, r := range rep.Results {
				st := r.ReconnectStorm
				if st == nil {
					t.Errorf("%s: no storm recorded", r.Label())
					continue
				}
				if st.Error != "" || st.Kind != c.kind || st.Herd != (c.kind == "restart") || st.Subscribers != 4 || st.Served != 4 || st.ServedMS[2] < 0 {
					t.Errorf("%s: %+v; want every one of 4 served again", r.Label(), *st)
				}
				if r.Target != target {
					t.Errorf("%s: target %s, want %s", r.Label(), r.Target, target)
				}
				if r.Duplicated != 0 || target == "fourway" && r.Lost != 0 || c.kind == "cut" && r.LostWithServer != 0 {
					t.Errorf("%s: %d lost, %d with the killed server, %d duplicated", r.Label(), r.Lost, r.LostWithServer, r.Duplicated)
				}
				t.Logf("%s: served again 50 %% %.0f ms, 100 %% %.0f ms; %d lost, %d with the killed server; peak CPU %.2f", r.Label(), st.ServedMS[0], st.ServedMS[2], r.Lost, r.LostWithServer, st.PeakCPU)
			}
			if !strings.Contains(stdout, "reconnect storm (-storm)") {
				t.Errorf("stdout has no storm table:\n%s", stdout)
			}
			md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
			if !strings.Contains(string(md), "| "+target+" ws [h1] | "+c.kind+" |") {
				t.Errorf("report.md has no storm table:\n%s", md)
			}
		})
	}
}

// TestRestartLosesNothingOfFourways: the bench's verdict on a -storm
// restart row: what the killed server took along is no error, anything
// else fourway lost is; Nchan's losses are what its row measures, and a
// duplicate is an error on any row.
func TestRestartLosesNothingOfFourways(t *testing.T) {
	t.Parallel()
	row := func(target string, lost, withServer, dup int64) record.Result {
		r := record.Result{Published: 10, Lost: lost, LostWithServer: withServer, Duplicated: dup}
		r.Target, r.Transport, r.Scenario.Storm = target, "sse", "restart"
		return r
	}
	for _, c := range []struct {
		r    record.Result
		fail bool
	}{
		{row("fourway", 0, 70, 0), false},
		{row("fourway", 1, 70, 0), true},
		{row("fourway", 0, 0, 1), true},
		{row("nchan", 16, 0, 0), false},
		{row("nchan", 0, 0, 1), true},
	} {
		err := delivered(record.Report{Results: []record.Result{c.r}})
		if (err != nil) != c.fail {
			t.Errorf("%s: %d lost, %d with the server, %d duplicated: %v, want failure %v", c.r.Target, c.r.Lost, c.r.LostWithServer, c.r.Duplicated, err, c.fail)
		}
	}
}
