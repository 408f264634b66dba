package report

import (
	"strings"
	"testing"

	"fourway/bench/benchtest"
	"fourway/bench/record"
)

// TestWriterLegend: the legend names each long-poll and SSE row's writer,
// and says which writer rows the rows' protocols leave out, only where
// their transport is measured.
func TestWriterLegend(t *testing.T) {
	rows := func(trs ...string) []record.Result {
		var rs []record.Result
		for _, tr := range trs {
			f := strings.Split(tr, " ")
			rs = append(rs, record.Result{Scenario: benchtest.OverProto("fourway", f[0], f[1])})
		}
		return rs
	}
	for _, c := range []struct {
		results   []record.Result
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
