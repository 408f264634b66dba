package report

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"fourway/bench/benchtest"
	"fourway/bench/plan"
	"fourway/bench/record"
)

// fullRow is a row with every figure the tables print, notes included.
func fullRow(target, transport, proto string, subs int, rate float64) record.Result {
	r := record.Result{Scenario: benchtest.OverProto(target, transport, proto), Published: 6000, Expected: int64(6000 * subs),
		Delivered: int64(6000 * subs), WindowDeliveries: int64(5000 * subs)}
	r.Subs, r.Rate = subs, rate
	r.Latency = record.Latency{Count: int64(5000 * subs), Mean: 123.4, P50: 123.4, P90: 234.5, P99: 3456.7, P999: 4567.8, Max: 99999.9}
	r.Wire = record.Wire{Messages: 6000, DownPerMsg: 12345.6, UpPerMsg: 1234.5, PayloadPerMsg: 10000, OverheadPerMsg: 3579.1, RequestsPerMsg: 1.234,
		HandshakeDown: 5000, HandshakeUp: 4000, ExchangeOverhead: 404.9, ServerHeadersPerMsg: 300.5, ServerFramingPerMsg: 4}
	r.Server = &record.ServerCost{CPUSeconds: 123.45, CPUPerMsgMicros: 1234.56, RSSIdleMiB: 12345.6, MemPerConnKiB: 123.4, CPUErrorSeconds: 0.02}
	r.BenchCPUSeconds, r.OtherCPUSeconds = 123.45, 12.34
	r.Notes = []string{"CPU-bound machine: 96% of 2 cores busy in the window (server 4.94 s, load generator 4.69 s, other processes 0.00 s); latency includes waiting for a core"}
	return r
}

// TestConsoleFitsWidth: every line the bench prints for a run is at most
// 120 columns wide: the default run's rows named in every table, and rows
// with the longest names (a mix, a setup, a protocol, in a sweep) by
// number; the prose beside them is wrapped.
func TestConsoleFitsWidth(t *testing.T) {
	var defaults []record.Result
	for _, tr := range plan.KnownTransports {
		defaults = append(defaults, fullRow("fourway", tr, "h1", 50, 20))
	}
	long := fullRow("fourway", "longpoll-direct", "h1tls", 10000, 1000)
	long.Mixed, long.Setup = "ws+sse-direct+longpoll-direct", plan.SetupJetStream
	nchan := fullRow("nchan", "sse", "h2", 100, 0.5)
	nchan.Server, nchan.ServerNote = nil, record.NotMeasuredExternal
	short := fullRow("fourway", "ws", "h2c", 1, 2)
	short.Latency.Count, short.Server.CPUSeconds = 40, 0.06
	short.Lost = 3
	deflate := fullRow("nchan", "ws", "h1tls", 10000, 1000)
	deflate.Compress, deflate.PayloadKind, deflate.Payload = true, "text32k", 32768
	deflate.Compression, deflate.Wire.DecodedPerMsg = "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 32812.5
	for name, rs := range map[string][]record.Result{"default": defaults, "long names": append(defaults, long, nchan, short, deflate)} {
		rep := record.Report{Command: "go run ./bench -target fourway,nchan -plan 'ws+sse-direct+longpoll-direct:10000:1000;ws,sse:100:10' -proto h1,h1tls,h2,h2c -out /tmp/" + strings.Repeat("x", 80),
			Machine: record.Machine{CPU: "AMD EPYC 7B13 64-Core Processor with a long name", Cores: 2, MemoryMiB: 24105, GoVersion: "go1.26.8", OS: "linux/amd64, Debian GNU/Linux 12 (bookworm)"},
			Results: rs}
		rep.Targets = CheckTargets(rs)
		if name != "default" {
			rep.Acks = []record.AckLatency{{Replicas: 3, Publishes: 2000, Payload: 100, Leader: "nats-server 2", Connected: "nats-server 1", Latency: long.Latency}}
		}
		var b strings.Builder
		PrintHeading(&b, rep)
		Print(&b, rep)
		out := b.String()
		for i, l := range strings.Split(out, "\n") {
			if w := utf8.RuneCountInString(l); w > consoleWidth {
				t.Errorf("%s: line %d is %d columns wide, want at most %d:\n%s", name, i+1, w, consoleWidth, l)
			}
		}
		if named := !strings.Contains(out, "rows:"); named != (name == "default") {
			t.Errorf("%s: rows named in every table %v, want %v:\n%s", name, named, name == "default", out)
		}
	}
}

// TestOverheadFiguresHaveTheirOwnNames: the overhead over every delivery
// (43.0 B for short polling, its answers carrying several messages) and
// the 2010 table's overhead of one message alone (404.9 B) are named
// apart, in every output, and "overhead B/msg" is neither.
func TestOverheadFiguresHaveTheirOwnNames(t *testing.T) {
	r := fullRow("fourway", "poll", "h1", 50, 20)
	r.Wire.OverheadPerMsg, r.Wire.ExchangeOverhead = 43.0, 404.9
	rep := record.Report{Results: []record.Result{r}}
	var text, md strings.Builder
	Print(&text, rep)
	writeMarkdown(&md, rep, "")
	for name, out := range map[string]string{"text": text.String(), "report.md": md.String(), "report.html": renderHTML(rep)} {
		if strings.Contains(out, "B/msg") {
			t.Errorf("%s still says B/msg", name)
		}
		for _, want := range []string{"overhead B/delivery", "overhead B/exchange", "43.0", "404.9"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}

// TestNoInternalWords: the report speaks to a reader who has not read
// the project's issues.
func TestNoInternalWords(t *testing.T) {
	rs := []record.Result{fullRow("fourway", "poll", "h1", 1000, 10), fullRow("nchan", "poll", "h1", 1000, 10)}
	rep := record.Report{Results: rs, Targets: CheckTargets(rs)}
	var text, md strings.Builder
	Print(&text, rep)
	writeMarkdown(&md, rep, "")
	internal := regexp.MustCompile(`(?i)\bissue\s*#?\d`)
	for name, out := range map[string]string{"text": text.String(), "report.md": md.String(), "report.html": renderHTML(rep)} {
		if m := internal.FindString(out); m != "" {
			t.Errorf("%s says %q", name, m)
		}
	}
	if !strings.Contains(text.String(), "speed targets") {
		t.Errorf("the text report lacks its speed targets:\n%s", text.String())
	}
}

// TestCommandWrapsForAShell: a long command is printed over lines ending
// in a backslash, which a shell joins back into the command, and a quoted
// word with spaces is never broken.
func TestCommandWrapsForAShell(t *testing.T) {
	cmd := "go run ./bench -plan 'ws,sse:1000:100; longpoll:1000:10' -out " + strings.Repeat("/long/path", 8) + " -target fourway,nchan -duration 5s -stagger 2s -quiet"
	lines := shellLines("command: ", cmd)
	if len(lines) < 2 {
		t.Fatalf("a %d-character command on one line: %q", len(cmd), lines)
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > consoleWidth {
			t.Errorf("line %q is wider than %d", l, consoleWidth)
		}
	}
	if got := strings.TrimPrefix(strings.ReplaceAll(strings.Join(lines, "\n"), " \\\n    ", " "), "command: "); got != cmd {
		t.Errorf("joined as a shell joins them: %q, want %q", got, cmd)
	}
}

// TestCompressedRows: rows whose subscribers offered compression name it,
// and the wire table gives what the answers came in and what they decode
// to beside the bytes that travelled; a run without -compress prints
// neither column.
func TestCompressedRows(t *testing.T) {
	plain := fullRow("nchan", "ws", "h1", 50, 20)
	plain.PayloadKind, plain.Payload = "json4k", 4096
	deflate, gzipped := plain, fullRow("nchan", "longpoll", "h1", 50, 20)
	deflate.Compress, deflate.Compression = true, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	deflate.Wire.DownPerMsg, deflate.Wire.DecodedPerMsg = 1142.2, 4145.5
	gzipped.PayloadKind, gzipped.Payload, gzipped.Compress, gzipped.Compression = "json4k", 4096, true, "gzip 90 %, none 10 %"
	var without, with strings.Builder
	Print(&without, record.Report{Results: []record.Result{plain}})
	Print(&with, record.Report{Results: []record.Result{plain, deflate, gzipped}})
	if strings.Contains(without.String(), "decoded B") || strings.Contains(without.String(), "compress") {
		t.Errorf("a run without -compress speaks of compression:\n%s", without.String())
	}
	if !strings.Contains(without.String(), "payload json4k") {
		t.Errorf("the payload kind is not named:\n%s", without.String())
	}
	var md strings.Builder
	writeMarkdown(&md, record.Report{Results: []record.Result{plain, deflate, gzipped}}, "")
	if !strings.Contains(md.String(), "| ws [h1] compressed | 50 | 20 | json4k | deflate | 1142.2 | 4145.5 |") {
		t.Errorf("report.md lacks the compression table's deflate row:\n%s", md.String())
	}
	out := with.String()
	for _, want := range []string{"compression", "decoded B", "ws [h1] compressed", "deflate", "4145.5", "gzip 90 %, none 10 %",
		"nchan ws [h1] compressed negotiated permessage-deflate; server_no_context_takeover; client_no_context_takeover"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// TestLinkHasAColumn: rows through different links name theirs in a
// column of its own, in the console within its width and in
// report.md, the transport cell without it; rows through one link say it
// once above the console's tables.
func TestLinkHasAColumn(t *testing.T) {
	var rows []record.Result
	for _, link := range []string{"loopback", "slow-3g"} {
		for _, target := range []string{"fourway", "nchan"} {
			r := fullRow(target, "longpoll-direct", "h1tls", 10000, 1000)
			r.Link = link
			rows = append(rows, r)
		}
	}
	var b strings.Builder
	Print(&b, record.Report{Results: rows})
	out := b.String()
	for i, l := range strings.Split(out, "\n") {
		if w := utf8.RuneCountInString(l); w > consoleWidth {
			t.Errorf("line %d is %d columns wide, want at most %d:\n%s", i+1, w, consoleWidth, l)
		}
	}
	if !strings.Contains(out, " link ") || !strings.Contains(out, "longpoll-direct [h1tls]  slow-3g") {
		t.Errorf("the console has no link column:\n%s", out)
	}
	b.Reset()
	writeMarkdown(&b, record.Report{Results: rows}, "")
	if md := b.String(); !strings.Contains(md, "| server | transport | link | subs |") || !strings.Contains(md, "[h1tls] | slow-3g | 10000 |") {
		t.Errorf("report.md has no link column:\n%s", md)
	}
	b.Reset()
	Print(&b, record.Report{Results: rows[2:]})
	if out := b.String(); !strings.Contains(out, "via the slow-3g link") || strings.Contains(out, " link ") {
		t.Errorf("rows through one link do not say it once:\n%s", out)
	}
}
