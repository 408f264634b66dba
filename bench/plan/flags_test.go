package plan

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParsePlan(t *testing.T) {
	plan, err := parsePlan("ws,sse:1000:100; longpoll:1000:10:512; ws+sse:1000:100; ws:10:1:json4k", PlanItem{Payload: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := []PlanItem{{Transports: []string{"ws", "sse"}, Subs: 1000, Rate: 100, Payload: 100}, {Transports: []string{"longpoll"}, Subs: 1000, Rate: 10, Payload: 512},
		{Transports: []string{"ws+sse"}, Subs: 1000, Rate: 100, Payload: 100}, {Transports: []string{"ws"}, Subs: 10, Rate: 1, Payload: 4096, PayloadKind: "json4k"}}
	if len(plan) != 4 || plan[3].PayloadKind != "json4k" || plan[3].Payload != 4096 || strings.Join(plan[0].Transports, ",") != "ws,sse" || plan[0].Subs != 1000 || plan[0].Rate != 100 || plan[0].Payload != 100 ||
		plan[1].Transports[0] != "longpoll" || plan[1].Rate != 10 || plan[1].Payload != 512 ||
		strings.Join(plan[2].Transports, ",") != "ws+sse" || plan[2].Subs != 1000 {
		t.Errorf("parsePlan = %+v, want %+v", plan, want)
	}
	for bad, why := range map[string]string{
		"ws:1000":                          "transports:subs:rate",
		"ws:0:10":                          "positive whole number",
		"ws:10:-1":                         "positive number",
		"carrier-pigeon:10:1":              `"carrier-pigeon" is not one of`,
		"ws:10:1:x":                        `payload "x" is neither a positive whole number of bytes nor a payload kind (json256, json4k, text32k)`,
		"ws+:10:1":                         "one is empty",
		"+sse:10:1":                        "one is empty",
		"ws+ws:10:1":                       "names ws twice",
		"ws+pigeon:10:1":                   `"pigeon" is not one of`,
		"sse+sse-direct:10:1":              "one SSE writer",
		"ws+longpoll+longpoll-direct:10:1": "one long-poll writer, so longpoll and longpoll-direct cannot share it",
		":10:1":                            "names no transport",
	} {
		_, err := parsePlan(bad, PlanItem{Payload: 100})
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("parsePlan(%q) = %v, want an error saying %q", bad, err, why)
		}
	}
}

// checked reads flags into a Config that passes every other check.
func checked(f Flags) (Config, error) {
	c := Config{PollInterval: 1, Duration: 1, Publishers: 1, Rounds: 1, ClientHeaders: "go", SourceAddrs: -1}
	if f.Targets == "" {
		f.Targets = "fourway"
	}
	f.Transports, f.Protos, f.Subs, f.Rates = "ws", "h1", "3", "10"
	err := f.Check(&c)
	return c, err
}

// TestPayloadKinds: -payload takes sizes and payload kinds, each kind a
// row of its own after the sizes; a name that is neither is refused with
// the names there are.
func TestPayloadKinds(t *testing.T) {
	c, err := checked(Flags{Payloads: "json4k,100,text32k"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range Scenarios(c) {
		got = append(got, fmt.Sprintf("%s=%d", sc.PayloadName(), sc.Payload))
	}
	if want := "100=100 json4k=4096 text32k=32768"; strings.Join(got, " ") != want {
		t.Errorf("-payload json4k,100,text32k: rows %q, want %q", strings.Join(got, " "), want)
	}
	c, err = checked(Flags{Payloads: "json256", Plan: "ws:3:10;sse:3:10:100"})
	if err != nil {
		t.Fatal(err)
	}
	if sc := Scenarios(c); len(sc) != 2 || sc[0].PayloadKind != "json256" || sc[0].Payload != 256 || sc[1].PayloadKind != "" || sc[1].Payload != 100 {
		t.Errorf("-payload json256 -plan 'ws:3:10;sse:3:10:100': %+v", sc)
	}
	for _, bad := range []string{"json5k", "JSON4K", "0", "-1"} {
		_, err := checked(Flags{Payloads: bad})
		want := fmt.Sprintf("-payload: %q is neither a positive whole number of bytes nor a payload kind (json256, json4k, text32k)", bad)
		if err == nil || err.Error() != want {
			t.Errorf("-payload %s: %v, want %q", bad, err, want)
		}
	}
}

// TestCompressFlag: -compress alone is on, "off,on" measures every row
// both ways, side by side, and the rows say which is which.
func TestCompressFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // the rows' labels
		err  string
	}{
		{nil, "ws [h1]", ""},
		{[]string{"-compress"}, "ws [h1] compressed", ""},
		{[]string{"-compress=off,on"}, "ws [h1], ws [h1] compressed", ""},
		{[]string{"-compress=on,off"}, "ws [h1] compressed, ws [h1]", ""},
		{[]string{"-compress=false"}, "ws [h1]", ""},
		{[]string{"-compress=on,on"}, "", `"on,on" says on twice`},
		{[]string{"-compress=gzip"}, "", `"gzip" is not on or off`},
		{[]string{"-compress="}, "", `"" is not on or off`},
	} {
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var cfg Config
		fs.Var(&cfg.Compress, "compress", "")
		err := fs.Parse(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want an error saying %s", c.args, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		f := Flags{Targets: "nchan", Payloads: "100"}
		got, err := checked(f)
		if err != nil {
			t.Fatal(err)
		}
		got.Compress = cfg.Compress
		var labels []string
		for _, sc := range Scenarios(got) {
			labels = append(labels, sc.Label())
		}
		if strings.Join(labels, ", ") != c.want {
			t.Errorf("%q: rows %q, want %q", c.args, strings.Join(labels, ", "), c.want)
		}
	}
}
