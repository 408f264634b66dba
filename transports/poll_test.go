package transports_test

// The poll answer both polls share (CONTRACT.md, "Short polling"), and the
// short poll itself.

import (
	"encoding/json"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"strconv"
	"strings"
	"testing"
)

// Both polls answer with the same page, so they share the cursor cases.
// (A long poll with nothing new would wait: every case here has an answer,
// except "caught up", which is given a 1 s timeout.) {E} in a query is the
// server's epoch.
func TestPollCursorCases(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.History = 5 })
	ts.PublishN(t, 8) // retains 4..8
	epoch := ts.Epoch(t)
	cases := []struct {
		name, query string
		ids         []uint64
		next        uint64
		missed      uint64
		reset, more bool
	}{
		{"cursor 0 is after id 0: what is retained, and what is gone", "since=0", []uint64{4, 5, 6, 7, 8}, 8, 3, false, false},
		{"cursor N: everything after N", "since=6", []uint64{7, 8}, 8, 0, false, false},
		{"cursor N of this epoch", "since=6&epoch={E}", []uint64{7, 8}, 8, 0, false, false},
		{"limit pages, and more says so", "since=4&limit=2", []uint64{5, 6}, 6, 0, false, true},
		{"a page that ends at the last id has no more", "since=6&limit=2", []uint64{7, 8}, 8, 0, false, false},
		{"missed: cursor older than history", "since=1", []uint64{4, 5, 6, 7, 8}, 8, 2, false, false},
		{"missed with a limit", "since=2&limit=1", []uint64{4}, 4, 1, false, true},
		{"reset: cursor ahead of the feed, read as from 0", "since=100", []uint64{4, 5, 6, 7, 8}, 8, 3, true, false},
		{"reset: a cursor of another epoch, read as from 0", "since=6&epoch=an0ther-epoch_1", []uint64{4, 5, 6, 7, 8}, 8, 3, true, false},
		{"reset, missed and more together", "since=100&limit=2", []uint64{4, 5}, 5, 3, true, true},
		{"caught up: empty answer, same cursor", "since=8&timeout=1", nil, 8, 0, false, false},
		{"absent cursor: start now, next is the last id", "timeout=1", nil, 8, 0, false, false},
	}
	for _, path := range []string{"/api/poll", "/api/longpoll"} {
		for _, c := range cases {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				query := strings.ReplaceAll(c.query, "{E}", epoch)
				if path == "/api/poll" {
					query = strings.Replace(strings.Replace(query, "&timeout=1", "", 1), "timeout=1", "", 1)
				}
				code, body, resp := ts.Get(t, path+"?"+query)
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				var a wire.Page
				if err := json.Unmarshal([]byte(body), &a); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				var ids []uint64
				for _, raw := range a.Messages {
					var m struct{ ID uint64 }
					json.Unmarshal(raw, &m)
					ids = append(ids, m.ID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(c.ids) || a.Next != c.next || a.Missed != c.missed || a.Reset != c.reset || a.More != c.more {
					t.Fatalf("got %s\nwant ids %v next %d missed %d reset %v more %v", body, c.ids, c.next, c.missed, c.reset, c.more)
				}
				// The epoch comes first, always, and it is the server's (a
				// reset names the new one the cursor continues in).
				if !strings.HasPrefix(body, `{"epoch":"`+epoch+`","messages":[`) {
					t.Fatalf("answer %s, want it to start with the epoch %s", body, epoch)
				}
				// missed, reset and more appear only when they apply, in that order.
				if !c.reset && strings.Contains(body, `"reset"`) || c.missed == 0 && strings.Contains(body, `"missed"`) || !c.more && strings.Contains(body, `"more"`) {
					t.Fatalf("answer names a case that does not apply: %s", body)
				}
				tail := body[strings.LastIndex(body, "]")+1:]
				want := `,"next":` + strconv.FormatUint(c.next, 10)
				if c.missed > 0 {
					want += `,"missed":` + strconv.FormatUint(c.missed, 10)
				}
				if c.reset {
					want += `,"reset":true`
				}
				if c.more {
					want += `,"more":true`
				}
				if tail != want+"}" {
					t.Fatalf("answer ends %s, want %s}", tail, want)
				}
			})
		}
	}
}

func TestPollAnswerBytes(t *testing.T) {
	ts := transportstest.Start(t, nil)
	_, ack := ts.Post(t, "", "hi")
	var m struct{ Time json.Number }
	json.Unmarshal([]byte(ack), &m)
	epoch := ts.Epoch(t)
	_, body, resp := ts.Get(t, "/api/poll?since=0")
	want := `{"epoch":"` + epoch + `","messages":[{"id":1,"time":` + m.Time.String() + `,"data":"hi"}],"next":1}`
	if body != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestPollRefusesMalformedInput(t *testing.T) {
	ts := transportstest.Start(t, nil)
	cases := []string{
		"since=-1", "since=1.5", "since=abc", "since=0x10", "since=%201", "since=99999999999999999999999",
		"limit=0", "limit=1001", "limit=-5", "limit=ten",
		"since=1&epoch=a.b", "since=1&epoch=a:b", "since=1&epoch=%20ab", "since=1&epoch=" + strings.Repeat("e", 33), "epoch=%C3%A9",
	}
	for _, path := range []string{"/api/poll", "/api/longpoll"} {
		for _, q := range append(cases, "timeout=0", "timeout=121", "timeout=1.5", "timeout=1s") {
			if path == "/api/poll" && strings.HasPrefix(q, "timeout") {
				continue
			}
			t.Run(path+"?"+q, func(t *testing.T) {
				code, body, _ := ts.Get(t, path+"?"+q)
				var e struct{ Error string }
				if code != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Fatalf("got %d %s, want 400 with a JSON error", code, body)
				}
			})
		}
	}
}

func TestPollCountsEmptyAnswers(t *testing.T) {
	ts := transportstest.Start(t, nil)
	before := ts.Stats(t).Transports["poll"]
	ts.Get(t, "/api/poll")
	ts.Get(t, "/api/poll")
	ts.Post(t, "", "x")
	ts.Get(t, "/api/poll?since=0")
	after := ts.Stats(t).Transports["poll"]
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

func TestPollAnswersAreBoundedInBytes(t *testing.T) {
	ts := transportstest.Start(t, nil)
	big := `"` + strings.Repeat("y", 60_000) + `"`
	for range 40 { // 2.4 MB
		ts.Publish(t, big)
	}
	cursor, pages := uint64(0), 0
	for cursor < 40 {
		_, body, _ := ts.Get(t, "/api/poll?limit=1000&since="+strconv.FormatUint(cursor, 10))
		var p struct {
			Messages []json.RawMessage
			Next     uint64
			More     bool
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if len(body) > 1<<20+4096 {
			t.Fatalf("an answer of %d bytes, want at most 1 MiB of messages", len(body))
		}
		if p.More != (p.Next < 40) {
			t.Fatalf("answer up to %d says more=%v", p.Next, p.More)
		}
		cursor, pages = p.Next, pages+1
	}
	if pages < 3 {
		t.Fatalf("2.4 MB came in %d answers, want at least 3", pages)
	}
}
