package public_test

// public/links-bench.json is what the page needs of the bench's run
// through the emulated links (bench/results/links-2026-12-07b): per link
// and transport, the delivery latency p50 and p99 of each round, at each
// rate measured. It is made from the run's report.json files, never
// typed: TestPageLinksBenchIsTheRuns makes it again and compares;
// FOURWAY_UPDATE_LINKS_BENCH=1 writes it.

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fourway/transports/links"
)

// linksRun is the run the page quotes, and the directories of its
// report.json files ("." for the run's own: one report can hold every
// round, -rounds N).
const linksRun = "bench/results/links-2026-12-07b"

var linksRounds = []string{"."}

// linksBench is public/links-bench.json.
type linksBench struct {
	Run            string          `json:"run"`     // the run's directory in the repository
	Started        time.Time       `json:"started"` // the first round's start
	Machine        benchMachine    `json:"machine"`
	Subscribers    int             `json:"subscribers"`
	PollIntervalMS int64           `json:"poll_interval_ms"`
	Links          []benchLinkSpec `json:"links"` // the links measured, as links.Profiles has them
	Rates          []benchRate     `json:"rates"`
}

type benchMachine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
}

// benchLinkSpec is a link the run measured: a page on a link of the same
// round trip and bandwidths takes its rows (train is 4g between its
// outages).
type benchLinkSpec struct {
	Name     string `json:"name"`
	RTTMS    int64  `json:"rtt_ms"`
	DownKbps int    `json:"down_kbps,omitempty"`
	UpKbps   int    `json:"up_kbps,omitempty"`
}

// benchRate is the rows at one publish rate: per link, per transport,
// each round's p50 and p99 in ms, and requests per delivered message.
type benchRate struct {
	Rate   float64                                  `json:"rate"`
	Rounds int                                      `json:"rounds"`
	Rows   map[string]map[string]benchLatencyRounds `json:"rows"`
}

type benchLatencyRounds struct {
	P50            []float64 `json:"p50"`
	P99            []float64 `json:"p99"`
	RequestsPerMsg []float64 `json:"requests_per_msg"`
}

// makeLinksBench reads the run's reports from the module's root.
func makeLinksBench(t *testing.T, root string) linksBench {
	t.Helper()
	var out linksBench
	out.Run = linksRun
	byRate := map[float64]*benchRate{}
	seen := map[string]bool{}
	for _, round := range linksRounds {
		b, err := os.ReadFile(filepath.Join(root, linksRun, round, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Started time.Time    `json:"started"`
			Machine benchMachine `json:"machine"`
			Config  struct {
				PollInterval string `json:"poll_interval"`
			} `json:"config"`
			Results []struct {
				Target      string  `json:"target"`
				Transport   string  `json:"transport"`
				Link        string  `json:"link"`
				Rate        float64 `json:"rate"`
				Subscribers int     `json:"subscribers"`
				Lost        int     `json:"lost"`
				Duplicated  int     `json:"duplicated"`
				Latency     struct {
					P50 float64 `json:"p50"`
					P99 float64 `json:"p99"`
				} `json:"latency_ms"`
				Wire struct {
					RequestsPerMsg float64 `json:"requests_per_msg"`
				} `json:"wire"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s/%s: %v", linksRun, round, err)
		}
		if out.Started.IsZero() || r.Started.Before(out.Started) {
			out.Started = r.Started.UTC()
		}
		out.Machine = r.Machine
		interval, err := time.ParseDuration(r.Config.PollInterval)
		if err != nil {
			t.Fatalf("%s/%s: poll_interval: %v", linksRun, round, err)
		}
		out.PollIntervalMS = interval.Milliseconds()
		for _, x := range r.Results {
			if x.Target != "fourway" || x.Link == "" {
				continue
			}
			if x.Lost != 0 || x.Duplicated != 0 {
				t.Fatalf("%s/%s: %s via %s lost %d, duplicated %d: not a row to quote", linksRun, round, x.Transport, x.Link, x.Lost, x.Duplicated)
			}
			out.Subscribers = x.Subscribers
			rate := byRate[x.Rate]
			if rate == nil {
				rate = &benchRate{Rate: x.Rate, Rows: map[string]map[string]benchLatencyRounds{}}
				byRate[x.Rate] = rate
			}
			if rate.Rows[x.Link] == nil {
				rate.Rows[x.Link] = map[string]benchLatencyRounds{}
			}
			row := rate.Rows[x.Link][x.Transport]
			row.P50 = append(row.P50, tenth(x.Latency.P50))
			row.P99 = append(row.P99, tenth(x.Latency.P99))
			row.RequestsPerMsg = append(row.RequestsPerMsg, math.Round(x.Wire.RequestsPerMsg*1000)/1000)
			rate.Rows[x.Link][x.Transport] = row
			rate.Rounds = max(rate.Rounds, len(row.P50)) // a row a round
			if !seen[x.Link] {
				seen[x.Link] = true
				p, err := links.Lookup(x.Link)
				if err != nil {
					t.Fatal(err)
				}
				kbps := func(v int) int {
					if v == links.Unlimited {
						return 0
					}
					return v
				}
				out.Links = append(out.Links, benchLinkSpec{Name: p.Name, RTTMS: p.RTT.Milliseconds(), DownKbps: kbps(p.DownKbps), UpKbps: kbps(p.UpKbps)})
			}
		}
	}
	slices.SortFunc(out.Links, func(a, b benchLinkSpec) int { return links.Place(a.Name) - links.Place(b.Name) })
	for _, r := range byRate {
		out.Rates = append(out.Rates, *r)
	}
	slices.SortFunc(out.Rates, func(a, b benchRate) int { return int(a.Rate - b.Rate) })
	return out
}

// tenth rounds ms to a tenth: the digits a window of 2,000 deliveries on a
// loaded machine supports, and more than the page writes.
func tenth(ms float64) float64 { return math.Round(ms*10) / 10 }

// TestPageLinksBenchIsTheRuns: public/links-bench.json holds the run's
// figures, as its report.json files have them.
func TestPageLinksBenchIsTheRuns(t *testing.T) {
	want, err := json.MarshalIndent(makeLinksBench(t, ".."), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if os.Getenv("FOURWAY_UPDATE_LINKS_BENCH") == "1" {
		if err := os.WriteFile("links-bench.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("links-bench.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("public/links-bench.json is not what %s's reports hold: FOURWAY_UPDATE_LINKS_BENCH=1 go test -run LinksBench ./public", linksRun)
	}
}
