package targets

import (
	"fmt"
	"strings"
	"testing"

	"fourway/bench/benchtest"
	"fourway/bench/plan"
)

// TestNchanPeer runs the same short workload against nginx + Nchan. It
// needs the Debian packages nginx and libnginx-mod-nchan; without them it
// skips, except in CI, where it must fail rather than pass by skipping.
func TestNchanPeer(t *testing.T) {
	benchtest.NeedNchan(t)
	t.Parallel()
	for _, tr := range plan.AllTransports {
		r := runShort(t, benchtest.Short("nchan", tr))
		benchtest.CheckDelivery(t, r)
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

// TestNchanOverHTTP2 runs every transport against nginx + Nchan listening
// with "ssl http2" on the bench's own certificate. Like TestNchanPeer it
// skips without nginx and Nchan, except in CI.
func TestNchanOverHTTP2(t *testing.T) {
	benchtest.NeedNchan(t)
	t.Parallel()
	for _, tr := range plan.AllTransports {
		r := runShort(t, benchtest.OverProto("nchan", tr, "h2"))
		benchtest.CheckDelivery(t, r)
		checkProtoRow(t, r, "h2")
	}
}

// TestNchanConfigHoldsTheScenario: nginx's worker may hold every
// connection of a scenario, 10,000 subscribers of two transports included.
func TestNchanConfigHoldsTheScenario(t *testing.T) {
	for _, c := range []struct {
		sc                 plan.Scenario
		connections, files int
	}{
		{plan.Scenario{Transport: "ws", Subs: 1000, Publishers: 4}, 20000, 40000},
		{plan.Scenario{Mixed: "ws+sse", Subs: 10000, Publishers: 4}, 20260, 40520},
	} {
		conf := nchanSite{listen: "127.0.0.1:1", connections: nchanConnections(c.sc), proto: "h1"}.config()
		for _, want := range []string{fmt.Sprintf("worker_connections %d;", c.connections), fmt.Sprintf("worker_rlimit_nofile %d;", c.files), "listen 127.0.0.1:1;"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s × %d: the config lacks %q", c.sc.Name(), c.sc.Subs, want)
			}
		}
		if strings.Contains(conf, "{{") {
			t.Errorf("a placeholder is left in the config")
		}
	}
}

// TestNchanCompressed runs every transport against nginx + Nchan with
// -compress: its config deflates each message for a WebSocket
// (nchan_deflate_message_for_websocket) and gzips what nginx's gzip
// filter can. A 4 KiB JSON payload travels in fewer bytes than it decodes
// to wherever compression was negotiated. Like TestNchanPeer it skips
// without nginx and Nchan, except in CI.
func TestNchanCompressed(t *testing.T) {
	benchtest.NeedNchan(t)
	t.Parallel()
	want := map[string]string{"poll": "gzip", "longpoll": "gzip", "sse": "none", "ws": wsDeflate}
	for _, tr := range plan.AllTransports {
		checkCompressed(t, "nchan", tr, want[tr])
	}
}

// wsDeflate is the permessage-deflate the bench's WebSocket readers offer
// and both servers accept: without context takeover, both ways.
const wsDeflate = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// checkCompressed runs a short json4k row of target's transport tr whose
// readers offer compression: it must come as want ("none" for plain), its
// decoded bytes at least the payload's, and compressed it must take fewer
// bytes on the wire than it decodes to.
func checkCompressed(t *testing.T, target, tr, want string) {
	t.Helper()
	sc := benchtest.Short(target, tr)
	sc.Payload, sc.PayloadKind, sc.Compress = 4096, "json4k", true
	r := runShort(t, sc)
	benchtest.CheckDelivery(t, r)
	w := r.Wire
	t.Logf("%s: compression %q, %.1f B down per message, decoded %.1f, payload %.1f", tr, r.Compression, w.DownPerMsg, w.DecodedPerMsg, w.PayloadPerMsg)
	if r.Compression != want {
		t.Errorf("%s %s compressed: compression %q, want %q", target, tr, r.Compression, want)
	}
	if w.DecodedPerMsg < w.PayloadPerMsg {
		t.Errorf("%s %s compressed: %.1f B decoded per message, less than its %.1f B payload", target, tr, w.DecodedPerMsg, w.PayloadPerMsg)
	}
	if want != "none" && w.DownPerMsg >= w.DecodedPerMsg {
		t.Errorf("%s %s compressed: %.1f B on the wire per message, not fewer than the %.1f B it decodes to", target, tr, w.DownPerMsg, w.DecodedPerMsg)
	}
}
