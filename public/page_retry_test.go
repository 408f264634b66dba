package public_test

// Two promises of issue 11 held by tests. "Only one reconnect timer at a
// time, shown": each panel of the four transports says how many retry
// timers its client holds now (data-retries-pending, and the "reconnect
// timer" row), beside the pending retry it shows (data-retry-at). And the
// cost's one honest split instead of the panels' "bytes per message" and
// "overhead per message" figures.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
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

// figureLabels is, for each panel of the four transports, the i18n key of
// each figure's label (every dt outside the prose of "explain"), in order,
// and the ones whose text is not that key's in the current language.
const figureLabels = `import('./i18n.js').then(({ t }) => Object.fromEntries([...document.querySelectorAll(` + fourPanels + `)].map(p => {
	const dts = [...p.querySelectorAll('dt')].filter(dt => !dt.closest('.explain'));
	return [p.dataset.transport, {
		keys: dts.map(dt => dt.dataset.i18n ?? '(none: ' + dt.textContent + ')'),
		wrong: dts.filter(dt => dt.textContent !== t(dt.dataset.i18n)).map(dt => dt.dataset.i18n + ': ' + dt.textContent),
		old: p.querySelectorAll('.s-per-message, .s-bytes, .overhead, [data-i18n="perMessage"]').length,
	}];
})))`

// TestPageOneCostSplit: issue 11 dropped the panels' two near-identical
// figures, "bytes per message" and "overhead per message", for one split
// of the cost. No panel shows either, in English or Chinese: each panel's
// figures are exactly its counters, the server's counts, the split and the
// inside of its client, and the page's text has no "bytes per message" at
// all. The comparison table keeps its one "overhead per message" column,
// live, one cell per transport.
func TestPageOneCostSplit(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)

	code, src, _ := srv.Get(t, "/i18n.js")
	if code != http.StatusOK {
		t.Fatalf("GET /i18n.js: %d", code)
	}
	for _, old := range []string{"'perMessage':", "'bytes per message'", "'每条消息字节数'"} { // the old key and its texts; prose may say "bytes per message"
		if strings.Contains(src, old) {
			t.Errorf("i18n.js still has %s", old)
		}
	}
	if n := strings.Count(strings.ToLower(src), "overhead per message"); n != 1 {
		t.Errorf("i18n.js says \"overhead per message\" %d times, want once: the comparison table's column", n)
	}

	figures := []string{"received", "gaps", "dups", "reconnects", "resets", "empty", "requests", // this tab
		"requests", "empty", "clients", // the server
		"cost.messages", "cost.headers", "cost.framing", "cost.handshakes", "cost.heartbeats", "cost.total"} // the split
	inside := map[string][]string{
		"poll":     {"in.request", "in.position", "in.retry"},
		"longpoll": {"in.request", "in.position", "in.retry"},
		"sse":      {"in.readyState", "in.url", "in.lastEventId", "in.retryHint", "in.sends", "in.retry"},
		"ws":       {"in.readyState", "in.bufferedAmount", "in.url", "in.heartbeat", "in.lastClose", "in.retry"},
	}
	publishHTTP(t, srv, "one to cost")
	tab.waitFor(t, "id 1 everywhere, each row's overhead a figure", everyIDOnce(0, 1)+` &&
		[...document.querySelectorAll('#compare tbody tr')].every(tr => /^\d{1,3}(,\d{3})*\.\d B$/.test(tr.querySelector('.overhead').textContent))`, 15*time.Second)

	for _, lang := range []struct{ code, column, cell string }{
		{"en", "Overhead per message (live)", `^\d{1,3}(,\d{3})*\.\d B$`},
		{"zh", "每条消息的开销（实时）", `^\d{1,3}(,\d{3})*\.\d 字节$`},
	} {
		tab.setLang(t, lang.code)
		tab.waitFor(t, lang.code+": the table's column named", `document.querySelector('#compare thead [data-i18n="col.overhead"]').textContent === `+jsString(lang.column), 5*time.Second)
		var got map[string]struct {
			Keys  []string `json:"keys"`
			Wrong []string `json:"wrong"`
			Old   int      `json:"old"`
		}
		if err := json.Unmarshal([]byte(evalAsync[string](t, tab, figureLabels+`.then(JSON.stringify)`)), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(inside) {
			t.Errorf("%s: %d panels, want %d", lang.code, len(got), len(inside))
		}
		for k, rows := range inside {
			want := append(append([]string{}, figures...), rows...)
			if fmt.Sprint(got[k].Keys) != fmt.Sprint(want) {
				t.Errorf("%s, %s panel: figures labelled %q, want %q", lang.code, k, got[k].Keys, want)
			}
			if len(got[k].Wrong) > 0 || got[k].Old > 0 {
				t.Errorf("%s, %s panel: labels not in the language %q, old figures %d", lang.code, k, got[k].Wrong, got[k].Old)
			}
		}
		panelText := eval[string](t, tab, `[...document.querySelectorAll('.panel')].map(p => {
			const c = p.cloneNode(true);
			c.querySelector('.explain')?.remove(); // prose, which may say "20 to 30 bytes per message"
			return c.textContent;
		}).join('\n')`)
		for _, old := range []string{"bytes per message", "overhead per message", "每条消息字节数", "每条消息的开销（实时）"} {
			if strings.Contains(strings.ToLower(panelText), old) {
				t.Errorf("%s: a panel says %q", lang.code, old)
			}
		}
		columns := eval[[]string](t, tab, `[...document.querySelectorAll('#compare thead th')].map(th => th.dataset.i18n)`)
		if want := []string{"col.transport", "col.direction", "col.overhead", "col.latency", "col.proxies", "col.sixConn", "col.support"}; fmt.Sprint(columns) != fmt.Sprint(want) {
			t.Errorf("%s: the comparison table's columns %q, want %q", lang.code, columns, want)
		}
		cells := eval[[]string](t, tab, `[...document.querySelectorAll('#compare tbody tr')].map(tr =>
			tr.dataset.transport + ' ' + tr.querySelectorAll('.overhead').length + ' ' + tr.querySelector('.overhead').textContent)`)
		if len(cells) != 4 {
			t.Errorf("%s: %d rows in the comparison table, want 4", lang.code, len(cells))
		}
		cell := regexp.MustCompile(`^(poll|longpoll|sse|ws) 1 ` + lang.cell[1:])
		for _, c := range cells {
			if !cell.MatchString(c) {
				t.Errorf("%s: the comparison table's overhead row %q, want one cell with a figure, %s", lang.code, c, lang.cell)
			}
		}
	}
}
