package public_test

// Issue 11: "only one reconnect timer at a time, shown". Each panel of the
// four transports says how many retry timers its client holds now
// (data-retries-pending, and the "reconnect timer" row), beside the pending
// retry it shows (data-retry-at).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// retryWatch records, for each panel of the four transports, every value
// its data-retries-pending and data-retry-at take, as they change: the
// largest count of retry timers seen, how many times a pending retry was
// shown, and each moment a shown retry had other than one timer behind it
// or was still pending with the panel open.
const retryWatch = `window.fourwayRetries = {};
for (const p of document.querySelectorAll(` + fourPanels + `)) {
	const r = window.fourwayRetries[p.dataset.transport] = { max: 0, shown: 0, odd: [] };
	let was = '';
	const odd = what => { if (!r.odd.includes(what)) r.odd.push(what); };
	const look = () => {
		const n = Number(p.dataset.retriesPending), at = p.dataset.retryAt ?? '';
		r.max = Math.max(r.max, n);
		if (at !== '' && at !== was) r.shown++;
		if (at !== '' && n !== 1) odd(n + ' timers behind the retry at ' + at + ' (' + p.dataset.state + ' ' + p.dataset.why + ')');
		if (at !== '' && p.dataset.state === 'open') odd('a retry at ' + at + ' pending while open');
		was = at;
	};
	new MutationObserver(look).observe(p, { attributes: true, attributeFilter: ['data-retries-pending', 'data-retry-at', 'data-state'] });
	look();
}`

// retrySeen is what retryWatch recorded for one panel.
type retrySeen struct {
	Max   int      `json:"max"`
	Shown int      `json:"shown"`
	Odd   []string `json:"odd"`
}

// TestPageHoldsOneRetryTimerAtATime: several reasons to retry at once (the
// server cutting the WebSocket, the page's offline switch, the browser's
// offline and online events while the switch is on, then retries that fail
// because the server refuses the WebSocket's upgrades while the browser
// keeps saying "online") never leave a client holding more than one retry
// timer, each pending retry shown has exactly one behind it and none is
// left pending by a client that is open again, and when the
// network is back every panel resumes with 0 gaps and holds none. A
// MutationObserver, installed before all of it, sees every change of the
// panels' counts (the page writes them as each retry is announced).
func TestPageHoldsOneRetryTimerAtATime(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.do(t, 10*time.Second, chromedp.Navigate(srv.URL+"/?offline=3"))
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1) // so that the short poll tries, and fails, while offline
	tab.waitFor(t, "no retry timer anywhere", allPanels(`p.dataset.retriesPending === '0' && p.dataset.retryAt === ''`), 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](retryWatch))
	seen := func() map[string]retrySeen {
		t.Helper()
		var m map[string]retrySeen
		if err := json.Unmarshal([]byte(eval[string](t, tab, `JSON.stringify(window.fourwayRetries)`)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	// Round 1: the WebSocket cut, and the offline switch on while its retry
	// may still be pending; while offline, the browser says "offline" and
	// "online" (the switch outranks it), and the server cuts again.
	if n := srv.Drop(t, "ws"); n < 1 {
		t.Fatalf("dropped %d WebSockets, want the page's", n)
	}
	tab.waitFor(t, "the WebSocket's retry shown", `window.fourwayRetries.ws.shown > 0`, 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
	tab.waitFor(t, "every panel retrying, offline", allPanels(`p.dataset.state === 'reconnecting' && p.dataset.why === 'offline'`), 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new Event('offline')); window.dispatchEvent(new Event('online'))`))
	srv.Drop(t, "ws") // nothing of the WebSocket panel's to cut while offline; the auto panel's, maybe
	for i := 1; i <= 3; i++ {
		publishHTTP(t, srv, fmt.Sprintf("while offline %d", i))
	}
	tab.waitFor(t, "the network back", `document.body.dataset.onlineAt !== undefined`, 10*time.Second)
	tab.waitFor(t, "every panel open again, ids 1 to 3 each once", everyIDOnce(0, 3)+` && `+allPanels(`p.dataset.state === 'open'`), 10*time.Second)
	for k, r := range seen() {
		if r.Shown == 0 {
			t.Errorf("%s: no pending retry shown through the outage", k)
		}
	}

	// Round 2: the server refuses the WebSocket's upgrades, and cuts it;
	// each retry fails and schedules the next, and each time the browser
	// says "online" the pending one is started at once, and fails again.
	client := eval[string](t, tab, panelData("ws", "client"))
	block := func(ws string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/block?client="+client+"&ws="+ws, "", nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/block ws=%s: %v %v", ws, err, resp)
		}
		resp.Body.Close()
	}
	block("off")
	srv.Drop(t, "ws")
	before := seen()["ws"].Shown
	for i := 1; i <= 3; i++ {
		tab.waitFor(t, fmt.Sprintf("WebSocket retry %d shown", i), state("ws", "reconnecting", "close")+` && `+panelData("ws", "retryAt")+` !== '' && `+
			fmt.Sprintf(`window.fourwayRetries.ws.shown >= %d`, before+i), 30*time.Second)
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new Event('online'))`))
	}
	block("on")
	tab.waitFor(t, "a WebSocket retry pending, or done", state("ws", "open", "")+` || `+panelData("ws", "retryAt")+` !== ''`, 30*time.Second)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new Event('online'))`))
	publishHTTP(t, srv, "after it all")
	tab.waitFor(t, "every panel open, ids 1 to 4 each once, no retry timer left", everyIDOnce(0, 4)+` && `+
		allPanels(`p.dataset.state === 'open' && p.dataset.retriesPending === '0' && p.dataset.retryAt === ''`), 10*time.Second)

	for k, r := range seen() {
		if r.Max > 1 {
			t.Errorf("%s: %d retry timers at once, want at most 1", k, r.Max)
		}
		for _, o := range r.Odd {
			t.Errorf("%s: %s", k, o)
		}
		t.Logf("%s: %d pending retries shown, at most %d timer(s) at once", k, r.Shown, r.Max)
	}
	if text := eval[string](t, tab, `document.querySelector('#panel-ws .in-retry').textContent`); text != "none" {
		t.Errorf("the WebSocket's reconnect timer row says %q with no timer, want \"none\"", text)
	}

	// The rule itself, on a client of the page's own class: a retry
	// scheduled while another is pending replaces it; one that fires, or is
	// cancelled, is no longer held.
	counts := evalAsync[[]int](t, tab, `import('./client.js').then(async ({ Client }) => {
		const c = new Client({ onmessage() {}, onstate() {}, onnotice() {} }, {});
		const counts = [];
		for (let i = 0; i < 3; i++) { c.retryLater('error', {}, () => {}); counts.push(c.retriesPending); }
		c.cancelRetry();
		counts.push(c.retriesPending);
		await new Promise(resolve => { c.backoff.reset(); c.retryLater('error', {}, resolve); counts.push(c.retriesPending); });
		counts.push(c.retriesPending);
		return counts;
	})`)
	if want := []int{1, 1, 1, 0, 1, 0}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("retry timers held after three retryLater, a cancelRetry, another retryLater and its firing: %v, want %v", counts, want)
	}
}
