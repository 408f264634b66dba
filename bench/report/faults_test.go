package report

import (
	"slices"
	"testing"

	"fourway/bench/plan"
	"fourway/bench/record"
)

// TestOutageRulesPerServer: the notes under the silent-link table give
// each transport's rule once, and a server's own where its clients
// differ (Nchan's WebSocket pings with "ping"); every row whose
// subscribers noticed only after the return is named, whichever server
// it is.
func TestOutageRulesPerServer(t *testing.T) {
	row := func(target, transport, rule string, after int) record.Result {
		r := record.Result{Scenario: plan.Scenario{Target: target, Transport: transport, Proto: "h1", Link: "3g"}}
		r.SilentLink = &record.Outage{Rule: rule, NoticedAfter: after}
		return r
	}
	got := outageRules([]record.Result{
		row("fourway", "ws", "hello's ping", 0), row("nchan", "ws", "ping text", 0),
		row("fourway", "poll", "10 s", 0), row("nchan", "poll", "10 s", 3),
	})
	want := []string{"ws: hello's ping.", "nchan ws: ping text.", "poll: 10 s.",
		"nchan poll [h1] via 3g: 3 subscribers gave a connection up only after the link had returned."}
	if !slices.Equal(got, want) {
		t.Errorf("notes:\n%q\nwant\n%q", got, want)
	}
}
