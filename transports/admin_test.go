package transports_test

// The demo controls (CONTRACT.md, "Demo controls"): /api/drop and
// /api/ticker.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// TestDropThenResumeLosesNothing cuts every streaming connection through
// /api/drop in the middle of a feed; clients that reconnect with their
// cursor must still get every message once.
func TestDropThenResumeLosesNothing(t *testing.T) {
	const before, after = 100, 100
	ts := transportstest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	results := make(chan *follower, 3)
	for _, tr := range []string{"longpoll", "sse", "ws"} {
		go func() { results <- follow(ctx, tr, ts.URL, "", 0, before+after) }()
	}
	ts.PublishN(t, before)
	transportstest.WaitFor(t, "every follower to have the first messages and be waiting", 20*time.Second, func() bool {
		s := ts.Stats(t).Transports
		return s["longpoll"].Clients == 1 && s["sse"].Clients == 1 && s["ws"].Clients == 1 &&
			s["longpoll"].Messages >= before && s["sse"].Messages >= before && s["ws"].Messages >= before
	})

	if n := ts.Drop(t, "all"); n != 3 {
		t.Fatalf("drop cut %d connections, want 3", n)
	}

	ts.PublishN(t, after)
	for range 3 {
		f := <-results
		if err := f.check(1, before+after); err != nil {
			t.Error(err)
		}
		// Go's HTTP client retries a GET whose reused connection closed
		// before any answer, so a cut long poll may not show as a resume.
		if f.resumes < 1 && f.transport != "longpoll" {
			t.Errorf("%s: never reconnected, so the drop did not cut it", f.transport)
		}
	}
}

func TestDropRefusesUnknownTransports(t *testing.T) {
	ts := transportstest.Start(t, nil)
	for _, q := range []string{"", "transport=poll", "transport=WS;all"} {
		resp, err := http.Post(ts.URL+"/api/drop?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("drop?%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

func TestDemoControlsNeedTheAdminTokenWhenOneIsSet(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.AdminToken = "adm" })
	for _, c := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer adm", 200}} {
		req, _ := http.NewRequest("POST", ts.URL+"/api/ticker?every=0", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("ticker with %q: %d, want %d", c.auth, resp.StatusCode, c.code)
		}
	}
}

func TestTickerPublishes(t *testing.T) {
	ts := transportstest.Start(t, nil)
	resp, err := http.Post(ts.URL+"/api/ticker?every=20ms", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("start ticker: %v %v", resp, err)
	}
	resp.Body.Close()
	transportstest.WaitFor(t, "three ticks", 10*time.Second, func() bool { return ts.Stats(t).Feed.LastID >= 3 })
	_, body, _ := ts.Get(t, "/api/poll?since=0&limit=1")
	if !strings.Contains(body, `"data":{"user":"ticker","text":"tick 1"}`) {
		t.Fatalf("first tick: %s", body)
	}
	for _, bad := range []string{"every=-1s", "every=1ms", "every=soon"} {
		resp, _ := http.Post(ts.URL+"/api/ticker?"+bad, "", nil)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("ticker?%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// TestTickerGoesOnAfterTheFeedRefusedItsTicks: while the feed refuses
// publishes (its broker is gone) the ticker skips its ticks, says so once,
// not at every tick, and goes on once the feed takes them again, its count
// from the last tick published. (It used to stop for good at the first
// refusal, as if the server were shutting down.)
func TestTickerGoesOnAfterTheFeedRefusedItsTicks(t *testing.T) {
	f := transportstest.NewBrokerFeed(100)
	ts := transportstest.StartFeed(t, f, func(c *transports.Config) { c.Ticker = 20 * time.Millisecond })
	transportstest.Await(t, "tick 1", func() bool { return f.LastID() >= 1 })
	f.Down.Store(true)
	before := f.Refused.Load()
	transportstest.Await(t, "three ticks refused", func() bool { return f.Refused.Load() >= before+3 })
	last := f.LastID()
	f.Down.Store(false)
	transportstest.Await(t, "a tick after the refusals", func() bool { return f.LastID() > last })
	_, body, _ := ts.Get(t, "/api/poll?since="+strconv.FormatUint(last, 10)+"&limit=1")
	if want := `"text":"tick ` + strconv.FormatUint(last+1, 10) + `"`; !strings.Contains(body, want) {
		t.Errorf("the tick after the refusals: %s, want %s", body, want)
	}
	if n := strings.Count(ts.Log(), "the ticker skips its ticks"); n != 1 {
		t.Errorf("the refusals were logged %d times, want once:\n%s", n, ts.Log())
	}
}
