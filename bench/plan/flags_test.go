package plan

import (
	"strings"
	"testing"
)

func TestParsePlan(t *testing.T) {
	plan, err := parsePlan("ws,sse:1000:100; longpoll:1000:10:512; ws+sse:1000:100", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []PlanItem{{[]string{"ws", "sse"}, 1000, 100, 100}, {[]string{"longpoll"}, 1000, 10, 512}, {[]string{"ws+sse"}, 1000, 100, 100}}
	if len(plan) != 3 || strings.Join(plan[0].Transports, ",") != "ws,sse" || plan[0].Subs != 1000 || plan[0].Rate != 100 || plan[0].Payload != 100 ||
		plan[1].Transports[0] != "longpoll" || plan[1].Rate != 10 || plan[1].Payload != 512 ||
		strings.Join(plan[2].Transports, ",") != "ws+sse" || plan[2].Subs != 1000 {
		t.Errorf("parsePlan = %+v, want %+v", plan, want)
	}
	for bad, why := range map[string]string{
		"ws:1000":                          "transports:subs:rate",
		"ws:0:10":                          "positive whole number",
		"ws:10:-1":                         "positive number",
		"carrier-pigeon:10:1":              `"carrier-pigeon" is not one of`,
		"ws:10:1:x":                        "payload",
		"ws+:10:1":                         "one is empty",
		"+sse:10:1":                        "one is empty",
		"ws+ws:10:1":                       "names ws twice",
		"ws+pigeon:10:1":                   `"pigeon" is not one of`,
		"sse+sse-direct:10:1":              "one SSE writer",
		"ws+longpoll+longpoll-direct:10:1": "one long-poll writer, so longpoll and longpoll-direct cannot share it",
		":10:1":                            "names no transport",
	} {
		_, err := parsePlan(bad, 100)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("parsePlan(%q) = %v, want an error saying %q", bad, err, why)
		}
	}
}
