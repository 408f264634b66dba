package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// getRaw GETs url and returns status, body and response.
func getRaw(t testing.TB, url string) (int, string, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// Both polls answer with the same page, so they share the cursor cases.
// (A long poll with nothing new would wait: every case here has an answer,
// except "caught up", which is given a 1 s timeout.)
func TestPollCursorCases(t *testing.T) {
	ts := startServer(t, "--history", "5")
	publishN(t, ts.URL, 8) // retains 4..8
	cases := []struct {
		name, query string
		ids         []uint64
		next        uint64
		missed      uint64
		reset       bool
	}{
		{"cursor 0: everything retained", "since=0", []uint64{4, 5, 6, 7, 8}, 8, 0, false},
		{"cursor N: everything after N", "since=6", []uint64{7, 8}, 8, 0, false},
		{"limit pages", "since=4&limit=2", []uint64{5, 6}, 6, 0, false},
		{"missed: cursor older than history", "since=1", []uint64{4, 5, 6, 7, 8}, 8, 2, false},
		{"reset: cursor ahead of the feed", "since=100", []uint64{4, 5, 6, 7, 8}, 8, 0, true},
		{"caught up: empty answer, same cursor", "since=8&timeout=1", nil, 8, 0, false},
		{"absent cursor: start now, next is the last id", "timeout=1", nil, 8, 0, false},
	}
	for _, path := range []string{"/api/poll", "/api/longpoll"} {
		for _, c := range cases {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				query := c.query
				if path == "/api/poll" {
					query = strings.Replace(strings.Replace(query, "&timeout=1", "", 1), "timeout=1", "", 1)
				}
				code, body, resp := getRaw(t, ts.URL+path+"?"+query)
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				var a pollAnswer
				if err := json.Unmarshal([]byte(body), &a); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				var ids []uint64
				for _, raw := range a.Messages {
					var m struct{ ID uint64 }
					json.Unmarshal(raw, &m)
					ids = append(ids, m.ID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(c.ids) || a.Next != c.next || a.Missed != c.missed || a.Reset != c.reset {
					t.Fatalf("got %s\nwant ids %v next %d missed %d reset %v", body, c.ids, c.next, c.missed, c.reset)
				}
				// missed and reset appear only when they apply.
				if !c.reset && strings.Contains(body, `"reset"`) || c.missed == 0 && strings.Contains(body, `"missed"`) {
					t.Fatalf("answer names a case that does not apply: %s", body)
				}
			})
		}
	}
}

func TestPollAnswerBytes(t *testing.T) {
	ts := startServer(t)
	_, ack := postMessage(t, ts.URL, "", "hi")
	var m struct{ Time json.Number }
	json.Unmarshal([]byte(ack), &m)
	_, body, resp := getRaw(t, ts.URL+"/api/poll?since=0")
	want := `{"messages":[{"id":1,"time":` + m.Time.String() + `,"data":"hi"}],"next":1}`
	if body != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestPollRefusesMalformedInput(t *testing.T) {
	ts := startServer(t)
	cases := []string{
		"since=-1", "since=1.5", "since=abc", "since=0x10", "since=%201", "since=99999999999999999999999",
		"limit=0", "limit=1001", "limit=-5", "limit=ten",
	}
	for _, path := range []string{"/api/poll", "/api/longpoll"} {
		for _, q := range append(cases, "timeout=0", "timeout=121", "timeout=1.5", "timeout=1s") {
			if path == "/api/poll" && strings.HasPrefix(q, "timeout") {
				continue
			}
			t.Run(path+"?"+q, func(t *testing.T) {
				code, body, _ := getRaw(t, ts.URL+path+"?"+q)
				var e struct{ Error string }
				if code != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Fatalf("got %d %s, want 400 with a JSON error", code, body)
				}
			})
		}
	}
}

func TestPollCountsEmptyAnswers(t *testing.T) {
	ts := startServer(t)
	before := getStats(t, ts.URL).Transports["poll"]
	getRaw(t, ts.URL+"/api/poll")
	getRaw(t, ts.URL+"/api/poll")
	postMessage(t, ts.URL, "", "x")
	getRaw(t, ts.URL+"/api/poll?since=0")
	after := getStats(t, ts.URL).Transports["poll"]
	if d := after.Empty - before.Empty; d != 2 {
		t.Errorf("empty answers counted %d, want 2", d)
	}
	if d := after.Requests - before.Requests; d != 3 {
		t.Errorf("requests counted %d, want 3", d)
	}
	if d := after.Messages - before.Messages; d != 1 {
		t.Errorf("messages counted %d, want 1", d)
	}
}
