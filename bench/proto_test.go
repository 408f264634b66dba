package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// overProto is the short scenario over protocol p.
func overProto(target, transport, p string) Scenario {
	sc := short(target, transport)
	sc.Proto = p
	return sc
}

// wantNegotiated is what a row's answers must have come over.
func wantNegotiated(transport, p string) string {
	proto := wantHTTPProto(p)
	if transport == "ws" {
		proto = "HTTP/1.1" // a WebSocket stays on HTTP/1.1 under every protocol
	}
	return negotiated(proto, protoTLS(p))
}

// checkProtoRow asserts a row names its protocol and was measured over it.
func checkProtoRow(t *testing.T, r Result, p string) {
	t.Helper()
	if r.Proto != p || !strings.HasSuffix(r.label(), "["+p+"]") {
		t.Errorf("%s %s: proto %q, label %q: want %s named", r.Target, r.Transport, r.Proto, r.label(), p)
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
	for _, tr := range allTransports {
		r := runShort(t, overProto("fourway", tr, "h2"))
		checkDelivery(t, r)
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
		r := runShort(t, overProto("fourway", c.transport, c.proto))
		checkDelivery(t, r)
		checkProtoRow(t, r, c.proto)
	}
}

// TestNoSilentFallback: an answer over another protocol than the row's
// ends the subscriber, saying so, rather than being measured.
func TestNoSilentFallback(t *testing.T) {
	t.Parallel()
	// A TLS server that speaks HTTP/1.1 only, asked by an h2 subscriber.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"messages":[],"next":1,"epoch":"e"}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := newSub(0)
	s.proto = "h2"
	c := s.w.httpClient("h2")
	defer c.CloseIdleConnections()
	_, err := fourwayGetPage(ctx, s, c, srv.URL+"/api/poll?since=0", nil)
	if !isPermanent(err) || !strings.Contains(err.Error(), "asked for h2") {
		t.Fatalf("an h2 subscriber against an HTTP/1.1-only server: %v, want a permanent error saying h2 was asked for", err)
	}
	// The answer as a client that offers both would see it.
	for _, c := range []struct {
		proto string
		resp  *http.Response
	}{
		{"h2", &http.Response{Proto: "HTTP/1.1", TLS: &tls.ConnectionState{}}},
		{"h2", &http.Response{Proto: "HTTP/2.0"}},
		{"h1tls", &http.Response{Proto: "HTTP/1.1"}},
		{"h2c", &http.Response{Proto: "HTTP/1.1"}},
	} {
		err := checkResponseProto("/api/poll", c.proto, c.resp)
		if !isPermanent(err) || !strings.Contains(err.Error(), "asked for "+c.proto) || !strings.Contains(err.Error(), "does not measure a fallback") {
			t.Errorf("%s answered by %s (TLS %v): %v, want a permanent error naming both", c.proto, c.resp.Proto, c.resp.TLS != nil, err)
		}
	}
}

// TestProtoFlag: -proto takes a list of the four names, and refuses
// anything else saying what it takes.
func TestProtoFlag(t *testing.T) {
	var stderr bytes.Buffer
	labels := func(args ...string) string {
		t.Helper()
		cfg, _, err := parseFlags(args, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sc := range planScenarios(cfg) {
			got = append(got, sc.label())
		}
		return strings.Join(got, "|")
	}
	if g := labels("-proto", "h1,h2", "-transports", "poll"); g != "poll [h1]|poll [h2]" {
		t.Errorf("-proto h1,h2 -transports poll: scenarios %q", g)
	}
	// The default transports leave sse-direct and longpoll-direct out over
	// HTTP/2, ...
	if g := labels("-proto", "h1,h2"); !strings.Contains(g, "sse-direct [h1]") || strings.Contains(g, "sse-direct [h2]") || !strings.Contains(g, "sse [h2]") ||
		!strings.Contains(g, "longpoll-direct [h1]") || strings.Contains(g, "longpoll-direct [h2]") || !strings.Contains(g, "longpoll [h2]") {
		t.Errorf("-proto h1,h2: scenarios %q, want sse-direct and longpoll-direct over h1 only", g)
	}
	// ... and longpoll-direct out over TLS too, where sse-direct runs.
	if g := labels("-proto", "h1tls"); g != "poll [h1tls]|longpoll [h1tls]|sse [h1tls]|sse-direct [h1tls]|ws [h1tls]" {
		t.Errorf("-proto h1tls: scenarios %q, want the four and sse-direct", g)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-proto", "h3"}, `-proto: "h3" is not one of h1, h1tls, h2, h2c`},
		{[]string{"-proto", ","}, "-proto needs at least one value"},
		{[]string{"-proto", "h2c", "-target", "nchan"}, "-proto h2c: not with -target nchan"},
		{[]string{"-proto", "h2", "-url", "http://127.0.0.1:8080"}, "-proto h2 needs a https:// -url"},
		{[]string{"-proto", "h1,h2", "-transports", "sse-direct"}, "-proto h2: sse-direct cannot run over HTTP/2"},
		{[]string{"-proto", "h2c", "-plan", "ws+sse-direct:10:10"}, "-proto h2c: sse-direct cannot run over HTTP/2"},
		{[]string{"-proto", "h1,h2", "-transports", "longpoll-direct"}, "-proto h2: longpoll-direct cannot run over TLS or HTTP/2"},
		{[]string{"-proto", "h2c", "-transports", "ws,longpoll-direct"}, "-proto h2c: longpoll-direct cannot run over TLS or HTTP/2"},
		{[]string{"-proto", "h1tls", "-plan", "ws+longpoll-direct:10:10"}, "-proto h1tls: longpoll-direct cannot run over TLS or HTTP/2 (fourway's direct long-poll writer serves only HTTP/1.1 in the clear"},
	} {
		_, _, err := parseFlags(c.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseFlags(%q): %v, want %q", c.args, err, c.want)
		}
	}
}

// TestNchanOverHTTP2 runs every transport against nginx + Nchan listening
// with "ssl http2" on the bench's own certificate. Like TestNchanPeer it
// skips without nginx and Nchan, except in CI.
func TestNchanOverHTTP2(t *testing.T) {
	if missing := nchanMissing(testNginx()); missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the Nchan comparison over HTTP/2 cannot run: %s", missing)
		}
		t.Skipf("skipping the Nchan comparison over HTTP/2: %s", missing)
	}
	t.Parallel()
	for _, tr := range allTransports {
		r := runShort(t, overProto("nchan", tr, "h2"))
		checkDelivery(t, r)
		checkProtoRow(t, r, "h2")
	}
}

// TestTargetsCompareTheSameProtocol: a fourway row is held against
// Nchan's row of the same protocol only.
func TestTargetsCompareTheSameProtocol(t *testing.T) {
	row := func(target, p string, p99 float64) Result {
		r := Result{Scenario: overProto(target, "ws", p)}
		r.Latency = Latency{Count: 1, P99: p99}
		return r
	}
	results := []Result{row("fourway", "h1", 5), row("fourway", "h2", 7), row("nchan", "h1", 6), row("nchan", "h2", 8)}
	var got []string
	for _, tg := range checkTargets(results) {
		if strings.Contains(tg.What, "vs nginx+Nchan") && strings.Contains(tg.Want, "p99") {
			got = append(got, tg.What+": "+tg.Got)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "[h1]") || !strings.Contains(got[0], "5.00 ms vs 6.00 ms") ||
		!strings.Contains(got[1], "[h2]") || !strings.Contains(got[1], "7.00 ms vs 8.00 ms") {
		t.Errorf("p99 comparisons with Nchan: %q, want h1 against h1 and h2 against h2", got)
	}
}

// TestWriterLegend: the legend names each long-poll and SSE row's writer,
// and says which writer rows the rows' protocols leave out, only where
// their transport is measured.
func TestWriterLegend(t *testing.T) {
	rows := func(trs ...string) []Result {
		var rs []Result
		for _, tr := range trs {
			f := strings.Split(tr, " ")
			rs = append(rs, Result{Scenario: overProto("fourway", f[0], f[1])})
		}
		return rs
	}
	for _, c := range []struct {
		results   []Result
		want, not []string
	}{
		{rows("longpoll h1", "longpoll-direct h1"), []string{
			"longpoll: long poll (net/http); longpoll-direct: long poll (direct writer: without net/http's request cycle), fourway run with --longpoll-writer direct"},
			[]string{"not measured"}},
		{rows("longpoll h1tls", "sse h1tls", "sse-direct h1tls"), []string{
			"longpoll: long poll (net/http) on fourway",
			"longpoll-direct is not measured over h1tls: fourway's direct long-poll writer serves only HTTP/1.1 in the clear",
			"sse-direct: SSE (direct writer: the protocol's cost), fourway run with --sse-writer direct"},
			[]string{"sse-direct is not measured"}},
		{rows("longpoll h2", "sse h2c"), []string{"longpoll-direct is not measured over h2 or h2c", "sse-direct is not measured over h2 or h2c"}, nil},
		{rows("ws h2"), nil, []string{"not measured", "long poll (", "SSE ("}},
	} {
		g := strings.Join(legend(c.results), "\n")
		for _, w := range c.want {
			if !strings.Contains(g, w) {
				t.Errorf("legend lacks %q:\n%s", w, g)
			}
		}
		for _, n := range c.not {
			if strings.Contains(g, n) {
				t.Errorf("legend says %q:\n%s", n, g)
			}
		}
	}
}
