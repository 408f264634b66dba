package public_test

// The page's second part (issue 11): what each panel shows of the inside of
// its client and of the cost on the wire, live, and the fixes to what the
// first part got wrong: a cut long poll, the end of an outage, a server at
// its connection limit, the language switch, the charts, dark mode and
// narrow screens.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// panelData is the JavaScript text of one data-* attribute of a panel.
func panelData(transport, name string) string {
	return `document.getElementById('panel-` + transport + `').dataset.` + name
}

// TestPageLongPollCutShown: when the server cuts a held long poll, the
// browser re-sends the request by itself and the page sees no error; the
// panel still says so (Resource Timing shows the late send), counts a
// reconnect, and the messages go on from the same cursor, each once.
func TestPageLongPollCutShown(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.waitFor(t, "a long poll held at the server for over 0.6 s",
		panelData("longpoll", "inflightTimeout")+` === '30000' && performance.now() - Number(`+panelData("longpoll", "inflightSince")+`) > 600`, 10*time.Second)
	if n := srv.Drop(t, "longpoll"); n != 1 {
		t.Fatalf("dropped %d long polls, want the page's 1", n)
	}
	publishHTTP(t, srv, "after the cut")
	// Chromium re-sends only a request whose connection was reused; on a
	// fresh one the fetch fails instead, and the panel shows a retry. Either
	// way the cut is counted, once.
	tab.waitFor(t, "the cut in the long-poll panel, a reconnect counted, id 1 once", `(() => {
		const p = document.getElementById('panel-longpoll');
		return p.dataset.reconnects === '1' && p.dataset.state === 'open' &&
			p.dataset.lastId === '1' && p.dataset.received === '1' && p.dataset.gaps === '0' && p.dataset.dups === '0';
	})()`, 15*time.Second)
	if note := eval[string](t, tab, `document.querySelector('#panel-longpoll .messages [data-note="resent"]')?.textContent ?? ''`); note == "" {
		t.Log("the browser did not re-send the cut request (a fresh connection): the panel showed the failed request and its retry")
	} else if !strings.Contains(note, "since=0") {
		t.Errorf("the cut's notice %q does not name the cursor the re-sent request carried, since=0", note)
	}
}

// TestPageBackWhenTheNetworkIs: when the offline switch ends, every client
// tries again at once with a fresh backoff, whatever delay its backoff had
// grown to: every panel is open within 2 s.
func TestPageBackWhenTheNetworkIs(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.do(t, 10*time.Second, chromedp.Navigate(srv.URL+"/?offline=6"))
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
	tab.waitFor(t, "every panel reconnecting", allPanels(`p.dataset.state === 'reconnecting'`), 5*time.Second)
	tab.waitFor(t, "the network back", `document.body.dataset.onlineAt !== undefined`, 10*time.Second)
	tab.waitFor(t, "every panel open again after it, the auto panel too", `[...document.querySelectorAll('.panel')].length === 5 &&
		[...document.querySelectorAll('.panel')].every(p =>
			p.dataset.state === 'open' && Number(p.dataset.openedAt) > Number(document.body.dataset.onlineAt))`, 10*time.Second)
	late := eval[string](t, tab, `[...document.querySelectorAll('.panel')]
		.map(p => p.id + ' ' + (Number(p.dataset.openedAt) - Number(document.body.dataset.onlineAt)) + ' ms')
		.filter(s => Number(s.split(' ')[1]) > 2000).join(', ')`)
	if late != "" {
		t.Errorf("open more than 2 s after the network came back: %s", late)
	}
}

// TestPageBackOnTheBrowsersOnline: the browser's own "online" event does
// what the end of the offline switch does. Here the server refuses the
// WebSocket's upgrades (POST /api/block) until its backoff has grown to a
// retry more than 3 s away; then it allows them and the browser says
// "online": the WebSocket is open again within 2 s, not at that retry.
func TestPageBackOnTheBrowsersOnline(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
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
	tab.waitFor(t, "a WebSocket retry more than 3 s away", state("ws", "reconnecting", "close")+` &&
		Number(`+panelData("ws", "retryAt")+`) - Date.now() > 3000`, 60*time.Second)
	block("on")
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.__onlineAt = performance.now(); window.dispatchEvent(new Event('online'))`))
	tab.waitFor(t, "the WebSocket open again", state("ws", "open", "")+` && Number(`+panelData("ws", "openedAt")+`) > window.__onlineAt`, 5*time.Second)
	if after := eval[float64](t, tab, `Number(`+panelData("ws", "openedAt")+`) - window.__onlineAt`); after > 2000 {
		t.Errorf("the WebSocket opened %.0f ms after the browser's online, want within 2 s", after)
	}
}

// TestPageCostAddsUp: the cost of the last 30 s is split into parts that
// add up to the bytes /api/stats counted over the same window, whose ends
// are readings of /api/stats.
func TestPageCostAddsUp(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	for i := range 5 {
		publishHTTP(t, srv, fmt.Sprintf("cost %d", i))
	}
	tab.waitFor(t, "ids 1..5 once everywhere", everyIDOnce(0, 5), 10*time.Second)
	before := srv.Stats(t)
	tab.waitFor(t, "a window that ends after the test's reading", allPanels(
		`Number(p.dataset.costTo) >= ({`+totals(before)+`})[p.dataset.transport]`), 10*time.Second)
	sums := eval[map[string][]float64](t, tab, `Object.fromEntries([...document.querySelectorAll(`+fourPanels+`)].map(p =>
		[p.dataset.transport, [Number(p.dataset.costFrom), Number(p.dataset.costTo), Number(p.dataset.costSum)]]))`)
	after := srv.Stats(t)
	for k, v := range sums {
		from, to, sum := v[0], v[1], v[2]
		if math.Abs(sum-(to-from)) > 0.5 {
			t.Errorf("%s: the parts add up to %.1f B, the window's socket bytes are %.0f", k, sum, to-from)
		}
		if s := after.Transports[k]; to > float64(s.BytesIn+s.BytesOut) {
			t.Errorf("%s: the window ends at %.0f B, more than /api/stats counted since (%d)", k, to, s.BytesIn+s.BytesOut)
		}
		if to <= from {
			t.Errorf("%s: the window holds no bytes (%.0f to %.0f)", k, from, to)
		}
	}
	// Over HTTP/1.1 in the clear the polls' headers are the server's count.
	tab.waitFor(t, "the polls' headers measured by the server", `['poll', 'longpoll'].every(k =>
		document.getElementById('panel-' + k).dataset.costMeasured === 'headers' &&
		!/^–/.test(document.querySelector('#panel-' + k + ' .cost-headers').textContent))`, 10*time.Second)
	if got := eval[string](t, tab, `document.querySelector('#panel-ws .cost-messages').textContent`); !strings.Contains(got, "B/msg") {
		t.Errorf("the WebSocket's message bytes read %q, want bytes and bytes per message", got)
	}
	// So are the streams' framing and heartbeats, and each panel says
	// what was counted and what is the rest.
	tab.waitFor(t, "the streams' framing and heartbeats counted by the server, and said so", `['sse', 'ws'].every(k => {
		const p = document.getElementById('panel-' + k);
		return p.dataset.costMeasured === 'framing heartbeats' && p.dataset.costComputed === '' &&
			p.querySelector('.cost-how').textContent.startsWith('Counted by the server where it wrote and read them: framing, heartbeats. ') &&
			p.querySelector('.cost-how').textContent.endsWith('handshakes: the rest of the socket bytes.');
	}) && document.querySelector('#panel-poll .cost-how').textContent.startsWith('Counted by the server where it wrote and read them: HTTP headers. ')`, 10*time.Second)
}

// TestPageCostIsTheInspectorsBytes: the framing and heartbeats of the
// page's cost window are, byte for byte, those the wire inspector shows for
// the exchanges in it. The page's streams are paused, the inspector turned
// on and the window started again (reset counters) while no stream is
// open, so the exchanges that follow the resume are the window's whole
// WebSocket and SSE traffic: the WebSocket panel's and the auto panel's
// sockets (pings, pongs, the page's {"type":"ping"} each heartbeat, a
// publish up the socket), the SSE stream (keepalives, the messages).
func TestPageCostIsTheInspectorsBytes(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) {
		c.Heartbeat = 2 * time.Second
		c.SSEKeepalive = 2 * time.Second
	})
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("pause")))
	transportstest.Await(t, "no stream of the page at the server", func() bool {
		s := srv.Stats(t).Transports
		return s["ws"].Clients == 0 && s["sse"].Clients == 0
	})
	closed := eval[float64](t, tab, `performance.now()`)
	srv.Get(t, "/api/inspect") // from now on every new exchange is recorded
	tab.waitFor(t, "a reading of /api/stats with no stream open", fmt.Sprintf(`Number(document.body.dataset.statsAt) > %f`, closed), 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("reset-counters")), chromedp.Click(chromedp.ID("pause")))
	tab.waitFor(t, "every panel open again", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	for i := range 3 {
		publishHTTP(t, srv, fmt.Sprintf("counted %d", i))
	}
	tab.do(t, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#panel-ws .ws-publish input`), "up the socket"),
		chromedp.Click(chromedp.CSS(`#panel-ws .ws-publish button`)))
	tab.waitFor(t, "four messages everywhere", everyIDOnce(0, 4), 10*time.Second)

	var last string
	defer func() { t.Log("last seen: " + last) }()
	transportstest.WaitFor(t, "the window's framing and heartbeats to be the inspector's", 20*time.Second, func() bool {
		page := eval[map[string][]float64](t, tab, `Object.fromEntries(['sse', 'ws'].map(k => {
			const d = document.getElementById('panel-' + k).dataset;
			return [k, [Number(d.costFraming), Number(d.costHeartbeats), Number(d.costTo) - Number(d.costFrom)]];
		}))`)
		code, body, _ := srv.Get(t, "/api/inspect")
		var in struct {
			Transports map[string][]struct {
				Parts map[string]float64 `json:"parts"`
			} `json:"transports"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &in) != nil {
			t.Fatalf("GET /api/inspect: %d %s", code, body)
		}
		last = ""
		ok := true
		for _, k := range []string{"sse", "ws"} {
			var framing, beats, all float64
			for _, x := range in.Transports[k] {
				framing, beats = framing+x.Parts["framing"], beats+x.Parts["heartbeats"]
				for _, v := range x.Parts {
					all += v
				}
			}
			p := page[k]
			last += fmt.Sprintf("%s: page framing %.0f heartbeats %.0f of %.0f B, inspector %.0f, %.0f of %.0f B in %d exchanges; ",
				k, p[0], p[1], p[2], framing, beats, all, len(in.Transports[k]))
			ok = ok && p[0] == framing && p[1] == beats && p[2] == all && beats > 0 && framing > 0
		}
		return ok
	})
}

// totals is a JavaScript object literal body: each transport's bytes in
// and out in s.
func totals(s transports.Snapshot) string {
	var parts []string
	for k, v := range s.Transports {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v.BytesIn+v.BytesOut))
	}
	return strings.Join(parts, ", ")
}

// TestPageInsideTheClients: each panel shows its client's own object, live:
// the WebSocket's readyState, bufferedAmount and URL, its heartbeat and last
// close; the EventSource's readyState, url, lastEventId and what its retry
// would send; the polls' request in flight and its cursor. A WebSocket
// publish goes up its own socket and its ack comes back down.
func TestPageInsideTheClients(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	publishHTTP(t, srv, "one")
	tab.waitFor(t, "id 1 everywhere", everyIDOnce(0, 1), 10*time.Second)
	epoch := srv.Epoch(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	inside := func(transport, row string) string {
		return `document.querySelector('#panel-` + transport + ` .in-` + row + `').textContent`
	}
	tab.waitFor(t, "the WebSocket's own figures", panelData("ws", "readyState")+` === '1' && `+
		inside("ws", "readyState")+` === '1 OPEN' && `+panelData("ws", "bufferedAmount")+` === '0' && `+
		inside("ws", "bufferedAmount")+` === '0 B not yet sent' && `+
		inside("ws", "url")+`.startsWith('ws://`+host+`/api/ws?') && `+
		inside("ws", "heartbeat")+`.startsWith('next ping in ') && `+inside("ws", "lastClose")+` === 'none'`, 5*time.Second)
	tab.waitFor(t, "the EventSource's own figures", inside("sse", "readyState")+` === '1 OPEN' && `+
		inside("sse", "url")+`.startsWith('http://`+host+`/api/sse?') && `+
		inside("sse", "lastEventId")+` === '`+epoch+`:1' && `+
		inside("sse", "sends")+` === 'Last-Event-ID: `+epoch+`:1' && `+inside("sse", "retryHint")+` === '2 s'`, 5*time.Second)
	tab.waitFor(t, "the long poll's request in flight, with its cursor", inside("longpoll", "request")+`.startsWith('in flight for ') && `+
		inside("longpoll", "request")+`.endsWith(' of 30 s') && `+inside("longpoll", "position")+` === 'since=1 epoch=`+epoch+`'`, 5*time.Second)
	tab.waitFor(t, "the short poll's request or its next, with its cursor", `/^(in flight for .* of .*|none; the next in [0-9.]+ s)$/.test(`+inside("poll", "request")+`) && `+
		inside("poll", "position")+` === 'since=1 epoch=`+epoch+`'`, 5*time.Second)
	// The heartbeat row: the next ping, when the server was last heard, and
	// the watchdog's deadline, counting down.
	heartbeat := `(/^next ping in ([0-9.]+) s · last heard ([0-9.]+) s ago · watchdog in ([0-9.]+) s$/.exec(` + inside("ws", "heartbeat") + `) ?? []).map(Number)`
	first := eval[[]float64](t, tab, heartbeat)
	if len(first) != 4 || first[3] <= first[1] {
		t.Fatalf("the WebSocket's heartbeat row reads %q: want the next ping, the last heard and a watchdog later than the ping", eval[string](t, tab, inside("ws", "heartbeat")))
	}
	tab.waitFor(t, "the watchdog counting down", fmt.Sprintf(`(%s)[3] < %f`, heartbeat, first[3]), 5*time.Second)

	t.Run("a publish over the WebSocket, and its ack", func(t *testing.T) {
		tab.do(t, 10*time.Second,
			chromedp.SendKeys(chromedp.CSS(`#panel-ws .ws-publish input`), "up the socket"),
			chromedp.Click(chromedp.CSS(`#panel-ws .ws-publish button`)))
		tab.waitFor(t, "the ack, and the message in every panel", `document.querySelector('#panel-ws .ws-publish-status').dataset.ackId === '2' && `+
			`document.querySelector('#panel-ws .ws-publish-status').textContent.startsWith('Acked on the same socket: id 2, ref r1') && `+
			everyIDOnce(0, 2), 10*time.Second)
	})

	t.Run("the WebSocket's close and its one reconnect timer", func(t *testing.T) {
		srv.Drop(t, "ws")
		tab.waitFor(t, "the close shown with its meaning, open again", inside("ws", "lastClose")+`.startsWith('1006 (no reason): ') && `+
			state("ws", "open", ""), 10*time.Second)
	})
}

// TestPageServerAtItsLimit: at --max-clients the server refuses streams,
// and each panel says that, not "the request failed": 503 for SSE and the
// long poll, close code 1013 for the WebSocket. Each refusal says how long
// to wait (Retry-After, the close's reason), each panel shows it
// (data-retry-after, and in words), and its client comes back no sooner:
// the wait it announces (data-retry-wait) is no shorter, and it comes back
// no sooner than it announced (data-retry-at). The page is watched from
// the start of its document (waitWatch), so each panel's first wait is
// seen: its backoff alone would have retried within 0.5 s there, and the
// server asks for 1 s at least.
func TestPageServerAtItsLimit(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) { c.MaxClients = 1 })
	srv.DialWS(t, "client=holds-the-one-slot")
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.do(t, 10*time.Second,
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: waitWatch})
			return err
		}),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("panel-ws")))
	busy := func(transport string) string {
		return state(transport, "reconnecting", "busy") + ` && ` + detail(transport) +
			` === 'the server is at its connection limit (HTTP 503); the server asked to wait ' + ` + panelData(transport, "retryAfter") + ` + ' s'`
	}
	tab.waitFor(t, "SSE and the long poll refused with 503, the WebSocket with 1013, each told how long to wait", busy("sse")+` && `+busy("longpoll")+` && `+
		panelData("ws", "why")+` === 'close' && `+detail("ws")+`.startsWith('(close code 1013: ') && `+
		detail("ws")+`.endsWith('; the server asked to wait ' + `+panelData("ws", "retryAfter")+` + ' s')`, 20*time.Second)

	tab.waitFor(t, "each client back twice after a refusal", `['sse', 'longpoll', 'ws'].every(k => window.fourwayWaits[k].length >= 2)`, 60*time.Second)
	var waits map[string][]struct {
		Why    string  `json:"why"`
		Hint   string  `json:"hint"`   // s, the server's
		Wait   float64 `json:"wait"`   // ms, the client's
		At     float64 `json:"at"`     // page clock (ms) of the retry announced
		Back   float64 `json:"back"`   // page clock (ms) when it came back
		Waited float64 `json:"waited"` // ms, from the state reconnecting to connecting, as seen
	}
	if err := json.Unmarshal([]byte(eval[string](t, tab, `JSON.stringify(window.fourwayWaits)`)), &waits); err != nil {
		t.Fatal(err)
	}
	for transport, ws := range waits {
		for i, w := range ws {
			hint, err := strconv.Atoi(w.Hint)
			if err != nil || hint < 1 || hint > transports.RetryAfterMax {
				t.Errorf("%s, retry %d (%s): the server's wait %q, want 1 to %d s", transport, i+1, w.Why, w.Hint, transports.RetryAfterMax)
				continue
			}
			if w.Wait < float64(hint)*1000 {
				t.Errorf("%s, retry %d (%s): waits %.0f ms, the server asked for %d s", transport, i+1, w.Why, w.Wait, hint)
			}
			// Date.now() is in whole milliseconds, at is not: 1 ms of slack.
			if w.Back < w.At-1 {
				t.Errorf("%s, retry %d (%s): came back at %.0f, %.0f ms before the retry it announced", transport, i+1, w.Why, w.Back, w.At-w.Back)
			}
		}
	}
	for transport, ws := range waits {
		for i, w := range ws {
			t.Logf("%s, retry %d (%s): the server asked for %s s, the client waited %.0f ms", transport, i+1, w.Why, w.Hint, w.Waited)
		}
	}

	tab.setLang(t, "zh")
	tab.waitFor(t, "the wait said in Chinese", state("longpoll", "reconnecting", "busy")+` && `+detail("longpoll")+
		` === '服务器已达连接数上限（HTTP 503）；服务器要求等待 ' + `+panelData("longpoll", "retryAfter")+` + ' 秒'`, 20*time.Second)
}

// waitWatch records, from the start of the document, each time the panels
// of SSE, the long poll and the WebSocket come back after a retry: why it
// waited, the wait the server asked for (data-retry-after, s), the wait its
// client announced (data-retry-wait, ms) and when (data-retry-at), and when
// it came back (its state connecting again), in window.fourwayWaits.
const waitWatch = `window.fourwayWaits = { sse: [], longpoll: [], ws: [] };
const fourwayRetrying = {};
new MutationObserver(records => {
	for (const r of records) {
		const p = r.target, k = p.dataset.transport, waits = window.fourwayWaits[k];
		if (!waits || p.id !== 'panel-' + k) continue;
		const now = Date.now(), s = p.dataset.state;
		if (s === 'reconnecting' && !fourwayRetrying[k]) {
			fourwayRetrying[k] = { why: p.dataset.why, hint: p.dataset.retryAfter ?? '',
				wait: Number(p.dataset.retryWait), at: Number(p.dataset.retryAt), seen: now };
		} else if (s === 'connecting' && fourwayRetrying[k]) {
			const { seen, ...retry } = fourwayRetrying[k];
			waits.push({ ...retry, back: now, waited: now - seen });
			fourwayRetrying[k] = null;
		}
	}
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });`

// TestPageLanguage: every English text has a Chinese one; a language switch
// writes again what is already on the page (states, notices, statuses,
// units, the charts' ticks), and the Chinese terms are the right ones.
func TestPageLanguage(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	if missing := evalAsync[[]string](t, tab, `import('./i18n.js').then(m => m.untranslated('zh'))`); len(missing) > 0 {
		t.Errorf("texts with no Chinese: %q", missing)
	}
	tab.publishFromForm(t, "before the switch")
	tab.waitFor(t, "id 1 everywhere, the status said", everyIDOnce(0, 1)+` && document.getElementById('publish-status').textContent === 'Sent as id 1.'`, 10*time.Second)
	tab.waitFor(t, "the English state of the short poll", `document.querySelector('#panel-poll .state-word').textContent === 'idle between polls'`, 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-ws")))
	tab.waitFor(t, "the cut said, the WebSocket back", `/^Cut [12] connection\(s\)\.$/.test(document.getElementById('fault-status').textContent) && `+
		state("ws", "open", "")+` && `+panelData("ws", "reconnects")+` === '1'`, 10*time.Second)
	tab.setLang(t, "zh")
	checks := map[string]string{
		"the short poll's state, not 已连接":   `document.querySelector('#panel-poll .state-word').textContent === '空闲（两次轮询之间）'`,
		"the screen reader's state line":    `document.querySelector('#panel-ws .state-live').textContent === 'WebSocket：已连接' || document.querySelector('#panel-ws .state-live').textContent === 'WebSocket: 已连接'`,
		"the publish status":                `document.getElementById('publish-status').textContent === '已发送，编号 1。'`,
		"the fault status":                  `/^已切断 [12] 个连接。$/.test(document.getElementById('fault-status').textContent)`,
		"the WebSocket's last close":        `document.querySelector('#panel-ws .in-lastClose').textContent.startsWith('1006 （无原因）：')`,
		"the cost's heading":                `document.querySelector('#panel-ws .cost summary').textContent === '网络传输开销：最近 30 秒，所有客户端'`,
		"the guide's answer":                `document.getElementById('verdict-pick').textContent === '选择 服务器发送事件（SSE）。'`,
		"a latency's unit":                  `document.querySelector('#panel-ws .messages .lat').textContent.endsWith('毫秒')`,
		"p50 and p99":                       `document.querySelector('#panel-ws [data-i18n="p50"]').textContent === '中位数'`,
		"the chart's latency ticks to 30 s": `document.querySelector('#panel-ws .chart').dataset.yTicks.split('|').at(-1) === '30 秒' && document.querySelector('#panel-ws .chart').dataset.yTicks.includes('毫秒')`,
		// The Chinese labels are wider: those that would touch are left out (TestPageChart), "现在" and "−60 秒" never.
		"the chart's time ticks": `/^−60 秒(\|−45 秒)?(\|−30 秒)?(\|−15 秒)?\|现在$/.test(document.querySelector('#panel-ws .chart').dataset.xTicks)`,
		"服务器发送事件, MDN's term":    `document.querySelector('#panel-sse .name').textContent === '服务器发送事件（SSE）'`,
		"不发送关闭帧":                 `document.getElementById('cut-help').textContent.includes('不发送关闭帧')`,
		"no 线上字节数, 不发告别帧, 服务器推送事件, 界定": `!['线上字节数', '不发告别帧', '服务器推送事件', '界定'].some(w => document.body.textContent.includes(w))`,
	}
	for what, cond := range checks {
		tab.waitFor(t, what, cond, 5*time.Second)
	}
	if got := evalAsync[string](t, tab, `import('./i18n.js').then(m => (m.setLang('zh'), m.t('why.slot')))`); strings.HasPrefix(got, "等待") {
		t.Errorf("why.slot in Chinese = %q: after 等待中 it says waiting twice", got)
	}
	tab.setLang(t, "en")
	tab.waitFor(t, "English again, written again", `document.getElementById('publish-status').textContent === 'Sent as id 1.' && `+
		`document.querySelector('#panel-ws .messages .lat').textContent.endsWith(' ms') && `+
		`document.querySelector('#panel-ws .chart').dataset.xTicks.endsWith('|now')`, 5*time.Second)
}

// evalAsync returns the value of a JavaScript expression that is a promise.
func evalAsync[T any](t *testing.T, b *browserTab, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	return v
}

// setLang switches the page's language with its control.
func (b *browserTab) setLang(t *testing.T, lang string) {
	t.Helper()
	b.do(t, 5*time.Second,
		chromedp.SetValue(chromedp.ID("lang"), lang),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').dispatchEvent(new Event('change'))`))
}

// TestPageChart: the latency chart has a time axis and a scale labelled to
// its top, 30 s; p50 and p99 are lines across; and dots shrink as they
// crowd (a minute at 20 msg/s is 1,200 of them).
func TestPageChart(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	publishHTTP(t, srv, "a dot")
	tab.waitFor(t, "the quantile lines drawn", `document.querySelector('#panel-ws .chart').dataset.lines === 'p50|p99'`, 10*time.Second)
	c := eval[map[string]string](t, tab, `({...document.querySelector('#panel-ws .chart').dataset})`)
	if c["xTicks"] != "−60 s|−45 s|−30 s|−15 s|now" {
		t.Errorf("time ticks %q", c["xTicks"])
	}
	if y := strings.Split(c["yTicks"], "|"); y[0] != "1 ms" || y[len(y)-1] != "30 s" {
		t.Errorf("latency ticks %q, want 1 ms up to the top of the scale, 30 s", c["yTicks"])
	}
	if c["font"] != "12" {
		t.Errorf("the chart's labels drawn at %s px, want 12 (they were 10, too small to read)", c["font"])
	}
	if c["dot"] != "2.5" {
		t.Errorf("one message drawn with a dot of %s px, want 2.5", c["dot"])
	}
	crowded := evalAsync[string](t, tab, `import('./chart.js').then(({ draw }) => {
		const c = document.createElement('canvas');
		c.style.cssText = 'width: 300px; height: 150px';
		document.body.append(c);
		const now = performance.now();
		draw(c, Array.from({ length: 1200 }, (_, i) => ({ at: now - i * 50, ms: 2 })), now, 'red', { label: String, ago: String });
		c.remove();
		return c.dataset.dot;
	})`)
	if crowded != "1" {
		t.Errorf("1,200 dots in a minute drawn %s px wide, want 1 (not merged into a blob)", crowded)
	}
	// The time labels never overlap, in either language, at any width a
	// panel may have: those that would are left out, "now" and "−60 s" never
	// (at 200 px, four columns at 1280 in presentation mode, "−60 s−45 s" collided).
	overlaps := evalAsync[[]string](t, tab, `import('./chart.js').then(({ draw }) => {
		const bad = [];
		for (const words of [{ s: ' s', now: 'now' }, { s: ' 秒', now: '现在' }]) {
			for (let w = 160; w <= 700; w += 10) {
				const c = document.createElement('canvas');
				c.style.cssText = 'width: ' + w + 'px; height: 120px';
				document.body.append(c);
				const now = performance.now();
				draw(c, [], now, 'red', { label: v => v + ' ms', ago: b => b === 0 ? words.now : '−' + b / 1000 + words.s });
				c.remove();
				const boxes = JSON.parse(c.dataset.xBoxes), ticks = c.dataset.xTicks.split('|');
				if (ticks[0] !== '−60' + words.s || ticks.at(-1) !== words.now) bad.push(w + ' px: ' + c.dataset.xTicks + ' at ' + c.dataset.xBoxes);
				for (let i = 1; i < boxes.length; i++) if (boxes[i][0] < boxes[i - 1][1] + 4) bad.push(w + ' px: ' + c.dataset.xTicks + ' at ' + c.dataset.xBoxes);
				if (w >= 400 && ticks.length !== 5) bad.push(w + ' px: only ' + c.dataset.xTicks);
			}
		}
		return bad;
	})`)
	if len(overlaps) > 0 {
		t.Errorf("time labels touching or missing:\n%s", strings.Join(overlaps, "\n"))
	}
}

// TestPageContrast computes, in both colour schemes, the contrast of each
// transport's colour against its panel, and of the input borders against
// what they sit on: at least 3:1 (WCAG 1.4.11, non-text contrast).
func TestPageContrast(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	for _, scheme := range []string{"light", "dark"} {
		tab.do(t, 5*time.Second, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}))
		tab.waitFor(t, scheme+" scheme", `matchMedia('(prefers-color-scheme: `+scheme+`)').matches`, 5*time.Second)
		pairs := eval[[][]string](t, tab, `(() => {
			const css = (el, p) => getComputedStyle(el).getPropertyValue(p).trim();
			const probe = document.createElement('div');
			document.body.append(probe);
			const rgb = color => { probe.style.color = color; return getComputedStyle(probe).color; };
			const out = [...document.querySelectorAll('.panel')].map(p =>
				[p.id + ' colour', rgb(css(p, '--accent')), getComputedStyle(p).backgroundColor]);
			for (const id of ['name', 'text', 'poll-interval', 'lang'])
				out.push([id + ' border', getComputedStyle(document.getElementById(id)).borderTopColor,
					getComputedStyle(document.querySelector('.toolbar')).backgroundColor]);
			out.push(['input border on the page', getComputedStyle(document.getElementById('name')).borderTopColor, getComputedStyle(document.documentElement).backgroundColor]);
			probe.remove();
			return out;
		})()`)
		for _, p := range pairs {
			r := contrast(t, p[1], p[2])
			t.Logf("%s: %s %s on %s: %.2f:1", scheme, p[0], p[1], p[2], r)
			if r < 3 {
				t.Errorf("%s: %s %s on %s is %.2f:1, want at least 3:1", scheme, p[0], p[1], p[2], r)
			}
		}
	}
}

// contrast is the WCAG contrast ratio of two CSS rgb() colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	lum := func(c string) float64 {
		var r, g, bl float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(c, ",", " "), "rgb(%f %f %f)", &r, &g, &bl); err != nil {
			t.Fatalf("colour %q: %v", c, err)
		}
		lin := func(v float64) float64 {
			v /= 255
			if v <= 0.04045 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(bl)
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestPageNarrow: at 390 px the comparison table is wider than the screen,
// and the page says it scrolls; at 1440 px it fits, and says nothing.
func TestPageNarrow(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	hint := `document.getElementById('compare-scroll')`
	tab.waitFor(t, "no hint at 1440 px", hint+`.hidden`, 5*time.Second)
	tab.do(t, 5*time.Second, chromedp.EmulateViewport(390, 844))
	tab.waitFor(t, "the scroll hint at 390 px", `!`+hint+`.hidden && `+hint+`.textContent.includes('scroll') && `+
		`document.querySelector('.table-scroll').scrollWidth > document.querySelector('.table-scroll').clientWidth`, 5*time.Second)
}

// TestPageDocScreenshots takes the screenshots of README.md and
// public/README.md into public/doc/: the first screen at 1280×720 in
// English, in Chinese and dark, the whole page with the WebSocket's bytes
// on the wire open, and a phone's first screen, on a page with messages
// and a cut behind it. Only when asked:
//
//	FOURWAY_DOC_SCREENSHOTS=1 go test -run DocScreenshots ./public
func TestPageDocScreenshots(t *testing.T) {
	if os.Getenv("FOURWAY_DOC_SCREENSHOTS") == "" {
		t.Skip("set FOURWAY_DOC_SCREENSHOTS=1 to write public/doc/*.png")
	}
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#panel-ws .wire').open = true`))
	tab.waitFor(t, "the inspector recording", `document.querySelector('#panel-ws .wire-note').textContent !== ''`, 10*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-all")))
	tab.waitFor(t, "all open again", allPanels(`p.dataset.state === 'open'`)+` && `+panelData("ws", "reconnects")+` >= 1`, 15*time.Second)
	tab.publishFromForm(t, "hello from the form")
	for i := range 12 {
		publishHTTP(t, srv, fmt.Sprintf("tick %d", i+1))
	}
	tab.waitFor(t, "13 everywhere, the frames shown", everyIDOnce(0, 13)+` &&
		document.querySelectorAll('#panel-ws .wire-frames-out tr').length > 3`, 15*time.Second)
	shot := func(name string, capture chromedp.Action[[]byte]) {
		ctx, cancel := context.WithTimeout(tab.ctx, 10*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, capture)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile("doc/"+name, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("screenshot-full.png", chromedp.FullScreenshot(100))
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#panel-ws .wire').open = false`),
		chromedp.EmulateViewport(1280, 720), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
	publishHTTP(t, srv, "seen on a projector")
	tab.waitFor(t, "the first screen", firstScreen("seen on a projector"), 10*time.Second)
	shot("screenshot.png", chromedp.CaptureScreenshot())
	tab.setLang(t, "zh")
	tab.waitFor(t, "Chinese", `document.getElementById('controls-h').textContent === '控制'`, 5*time.Second)
	publishHTTP(t, srv, "你好，投影仪")
	tab.waitFor(t, "the first screen in Chinese", strings.ReplaceAll(firstScreen("你好，投影仪"), "/ ms$/", "/ 毫秒$/"), 10*time.Second)
	shot("screenshot-zh.png", chromedp.CaptureScreenshot())
	tab.setLang(t, "en")
	tab.do(t, 5*time.Second, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	tab.waitFor(t, "dark", `matchMedia('(prefers-color-scheme: dark)').matches`, 5*time.Second)
	shot("screenshot-dark.png", chromedp.CaptureScreenshot())
	tab.do(t, 5*time.Second, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}})
		return err
	}), chromedp.EmulateViewport(390, 844), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
	tab.waitFor(t, "the strip", `document.getElementById('strip-ws').getBoundingClientRect().bottom <= innerHeight`, 5*time.Second)
	shot("screenshot-390.png", chromedp.CaptureScreenshot())
}

// TestPageWireInspector: a panel's "bytes on the wire" shows what GET
// /api/inspect recorded for that transport, byte for byte: the WebSocket's
// upgrade and its frames with their header bytes, a poll's request and
// answer, the SSE stream's chunks; and its parts add up to the exchange.
func TestPageWireInspector(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.panel .wire').forEach(d => d.open = true)`))
	tab.waitFor(t, "the streams waiting for their next connection", `document.querySelector('#panel-ws .wire-note').textContent.includes('Cut it')`, 10*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-all")))
	tab.waitFor(t, "all open again, the streams reconnected", allPanels(`p.dataset.state === 'open'`)+` && `+
		panelData("ws", "reconnects")+` >= 1 && `+panelData("sse", "reconnects")+` >= 1`, 15*time.Second)
	publishHTTP(t, srv, "seen on the wire")
	tab.waitFor(t, "id 1 everywhere", everyIDOnce(0, 1), 10*time.Second)

	client := eval[string](t, tab, panelData("ws", "client"))
	var in inspected
	tab.waitFor(t, "the message's frame in the WebSocket's view", `[...document.querySelectorAll('#panel-ws .wire-frames-out tr')].some(tr => tr.textContent.includes('seen on the wire'))`, 10*time.Second)
	code, body, _ := srv.Get(t, "/api/inspect?client="+client)
	if code != 200 || json.Unmarshal([]byte(body), &in) != nil {
		t.Fatalf("GET /api/inspect: %d %s", code, body)
	}
	ws := in.Transports["ws"][len(in.Transports["ws"])-1]
	var frame inspectedFrame
	for _, f := range ws.Frames.Out {
		if strings.Contains(f.Payload, "seen on the wire") {
			frame = f
		}
	}
	if frame.Header == "" || frame.Header[:2] != "81" {
		t.Fatalf("the message's frame as recorded: %+v", frame)
	}
	tab.waitFor(t, "its header bytes, and the upgrade's byte counts, as recorded", fmt.Sprintf(`
		[...document.querySelectorAll('#panel-ws .wire-frames-out tr')].some(tr => tr.dataset.header === %q) &&
		document.querySelector('#panel-ws .wire-request').dataset.bytes === '%d' &&
		document.querySelector('#panel-ws .wire-response').textContent.startsWith('HTTP/1.1 101 Switching Protocols\\r\\n')`,
		frame.Header, ws.Request.Bytes), 10*time.Second)
	tab.waitFor(t, "the poll's request and answer, and its parts adding up", `(() => {
		const box = document.querySelector('#panel-poll .wire-box');
		const parts = [...box.querySelectorAll('.wire-parts dd:not(.part-total)')].reduce((n, dd) => n + Number(dd.textContent.replace(/[^0-9]/g, '')), 0);
		return box.querySelector('.wire-request')?.textContent.startsWith('GET /api/poll?since=') &&
			box.querySelector('.wire-body')?.textContent.startsWith('{"epoch":') &&
			parts === Number(box.dataset.total) &&
			Number(box.dataset.total) === Number(box.querySelector('.wire-request').dataset.bytes) +
				Number(box.querySelector('.wire-response').dataset.bytes) + Number(box.querySelector('.wire-body').dataset.bytes);
	})()`, 10*time.Second)
	tab.waitFor(t, "the SSE chunks with their size lines", `[...document.querySelectorAll('#panel-sse .wire-chunks li')].some(li =>
		li.textContent.includes('seen on the wire') && li.querySelector('.frame').textContent === Number(li.dataset.bytes).toString(16) + '\\r\\n')`, 10*time.Second)
}

// inspected is the part of GET /api/inspect that the page test reads.
type inspected struct {
	Transports map[string][]struct {
		Request struct {
			Bytes int64 `json:"bytes"`
		} `json:"request"`
		Frames *struct {
			Out []inspectedFrame `json:"out"`
		} `json:"frames"`
	} `json:"transports"`
}

type inspectedFrame struct {
	Header  string `json:"header"`
	Payload string `json:"payload"`
}

// TestPageTeacherControls: the built-in ticker set from the page (and to 0,
// a quiet feed), this tab's counters reset, every client paused and resumed
// from its cursor, and large type.
func TestPageTeacherControls(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	setTicker := func(seconds string) {
		tab.do(t, 5*time.Second,
			chromedp.SetValue(chromedp.ID("ticker-every"), seconds),
			chromedp.Click(chromedp.ID("ticker-set")))
	}
	status := `document.getElementById('teach-status').textContent`

	t.Run("the ticker every 20 ms, then 0", func(t *testing.T) {
		setTicker("0.02")
		tab.waitFor(t, "the server's answer, and ticks in every panel", status+` === "The server's ticker now publishes every 20ms." && `+
			allPanels(`[...p.querySelectorAll('.messages .user')].some(e => e.textContent === 'ticker:')`)+` &&
			/: [1-9][0-9]* in the last/.test(document.getElementById('ticker-seen').textContent)`, 10*time.Second)
		setTicker("0")
		tab.waitFor(t, "the ticker stopped", status+` === "The server's ticker is stopped: a quiet feed."`, 5*time.Second)
		first := srv.Publish(t, `"first marker"`)
		tab.waitFor(t, "the first marker in the WebSocket panel", fmt.Sprintf(`Number(%s) >= %d`, panelData("ws", "lastId"), first), 10*time.Second)
		if second := srv.Publish(t, `"second marker"`); second != first+1 {
			t.Errorf("ids %d and %d: the ticker published %d in between, after it was set to 0", first, second, second-first-1)
		}
		tab.waitFor(t, "every id once in every panel", allPanels(fmt.Sprintf(`p.dataset.lastId === '%d' && p.dataset.gaps === '0' && p.dataset.dups === '0'`, first+1)), 10*time.Second)
	})

	t.Run("reset counters", func(t *testing.T) {
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("reset-counters")))
		tab.waitFor(t, "every tab counter at 0, the lists empty", allPanels(`p.dataset.received === '0' && p.dataset.reconnects === '0' &&
			Number(p.querySelector('.tab-requests').textContent) <= (p.dataset.transport === 'poll' ? 1 : 0)`)+` &&
			document.querySelectorAll('.messages li').length === 0`, 5*time.Second)
		last := srv.Publish(t, `"after the reset"`)
		tab.waitFor(t, "one message counted again, no gap", allPanels(fmt.Sprintf(`p.dataset.received === '1' && p.dataset.lastId === '%d' && p.dataset.gaps === '0'`, last)), 10*time.Second)
	})

	t.Run("pause, then resume from every cursor", func(t *testing.T) {
		before := eval[int](t, tab, `Number(`+panelData("ws", "received")+`)`)
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("pause")))
		tab.waitFor(t, "every panel paused", allPanels(`p.dataset.state === 'waiting' && p.dataset.why === 'paused'`)+` &&
			document.getElementById('pause').textContent === 'Resume'`, 5*time.Second)
		transportstest.Await(t, "no stream of the page at the server", func() bool {
			s := srv.Stats(t).Transports
			return s["ws"].Clients == 0 && s["sse"].Clients == 0 && s["longpoll"].Clients == 0
		})
		var last uint64
		for i := range 3 {
			last = srv.Publish(t, fmt.Sprintf(`"while paused %d"`, i))
		}
		if got := eval[int](t, tab, `Number(`+panelData("ws", "received")+`)`); got != before {
			t.Errorf("the paused WebSocket panel received %d messages", got-before)
		}
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("pause")))
		tab.waitFor(t, "the three in every panel once, after the resume", allPanels(fmt.Sprintf(
			`p.dataset.state === 'open' && p.dataset.lastId === '%d' && p.dataset.received === '%d' && p.dataset.gaps === '0' && p.dataset.dups === '0'`,
			last, before+3)), 15*time.Second)
	})

	t.Run("presentation mode", func(t *testing.T) {
		normal := eval[string](t, tab, `getComputedStyle(document.documentElement).fontSize`)
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("present")))
		if got := eval[string](t, tab, `getComputedStyle(document.documentElement).fontSize`); got != "21px" || normal != "15px" {
			t.Errorf("type %s, then %s in presentation mode; want 15px, then 21px", normal, got)
		}
	})
}

// TestPageVerdict: the guide answers two readers, with the numbers behind
// each answer: a two-way feed gets WebSocket; a one-way feed behind a proxy,
// on a phone, gets SSE with long polling as the fallback, and the radio
// wake-ups of a short poll every 3 s: 20 a minute.
func TestPageVerdict(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	ask := func(direction, rate, clients string, proxy, http2, battery bool) {
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`{
			const v = id => document.getElementById(id);
			v('v-direction').value = %q; v('v-rate').value = %q; v('v-clients').value = %q;
			v('v-proxy').checked = %t; v('v-http2').checked = %t; v('v-battery').checked = %t;
			v('verdict-form').dispatchEvent(new Event('input'));
		}`, direction, rate, clients, proxy, http2, battery)))
	}
	pick := `document.getElementById('verdict-pick')`
	reasons := `[...document.querySelectorAll('#verdict-reasons li')].map(li => li.dataset.reason).join(',')`

	ask("both", "10", "1000", false, false, false)
	tab.waitFor(t, "WebSocket for a two-way feed", pick+`.dataset.pick === 'ws' && `+pick+`.dataset.fallback === '' && `+
		pick+`.textContent === 'Pick WebSocket.' && `+reasons+` === 'v.both'`, 5*time.Second)

	ask("down", "1", "100", true, false, true)
	tab.waitFor(t, "SSE with long polling behind a proxy, and the wake-ups", pick+`.dataset.pick === 'sse' && `+
		pick+`.textContent === 'Pick Server-Sent Events, with Long polling as the fallback.' && `+
		reasons+` === 'v.oneWay,v.proxySSE,v.sixConn,v.battery' &&
		document.querySelector('#verdict-table tr[data-transport="poll"] .wakeups').textContent === '20' &&
		document.querySelector('#verdict-reasons [data-reason="v.battery"]').textContent.includes('wakes it 20 times a minute')`, 5*time.Second)
	if got := eval[string](t, tab, `document.querySelector('#verdict-table tr[data-transport="ws"] td').textContent`); !strings.HasSuffix(got, "(bench: "+benchRun(t)+")") {
		t.Errorf("the WebSocket's overhead reads %q: want its source, the bench run, with its machine and date", got)
	}
}

// TestPageBenchReportIsTheBenchs: the report the guide quotes is the
// bench's last one, byte for byte.
func TestPageBenchReportIsTheBenchs(t *testing.T) {
	page, err := os.ReadFile("bench-report.json")
	if err != nil {
		t.Fatal(err)
	}
	bench, err := os.ReadFile("../bench/results/report.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(page) != string(bench) {
		t.Error("public/bench-report.json differs from bench/results/report.json: cp bench/results/report.json public/bench-report.json")
	}
}

// TestPageAuto: the fifth panel does what Socket.IO and SockJS do: it starts
// on long polling and upgrades to WebSocket; when the server refuses its
// upgrades (POST /api/block, as a proxy that drops the Upgrade) it falls
// back to long polling, and upgrades again once allowed: every message
// once, through both switches, from the one cursor.
func TestPageAuto(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	auto := func(name string) string { return panelData("auto", name) }
	onceUpTo := func(last uint64) string {
		return fmt.Sprintf(`%s === '%d' && %s === '%d' && %s === '0' && %s === '0'`,
			auto("lastId"), last, auto("received"), last, auto("gaps"), auto("dups"))
	}
	tab.waitFor(t, "upgraded to WebSocket", auto("engine")+` === 'ws' && `+auto("upgrade")+` === 'done' && `+auto("state")+` === 'open' && `+
		`document.querySelector('#panel-auto .messages [data-note="upgraded"]') !== null`, 15*time.Second)
	var last uint64
	for i := range 3 {
		last = srv.Publish(t, fmt.Sprintf(`"on the upgrade %d"`, i))
	}
	tab.waitFor(t, "1..3 once, over the WebSocket", onceUpTo(last), 10*time.Second)

	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("block-ws")))
	tab.waitFor(t, "fallen back to long polling, the upgrade failing", auto("engine")+` === 'longpoll' && `+auto("upgrade")+` === 'failed' && `+
		auto("state")+` === 'open' && document.querySelector('#panel-auto .messages [data-note="fellBack"]') !== null && `+
		`document.querySelector('#panel-auto .in-upgrade').textContent.startsWith('failed (close 1006)')`, 15*time.Second)
	for i := range 3 {
		last = srv.Publish(t, fmt.Sprintf(`"on the fallback %d"`, i))
	}
	tab.waitFor(t, "4..6 once, over long polling", onceUpTo(last)+` && `+auto("engine")+` === 'longpoll'`, 10*time.Second)

	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("block-ws")))
	tab.waitFor(t, "upgraded again once allowed", auto("engine")+` === 'ws' && `+auto("upgrade")+` === 'done' && `+
		`document.querySelectorAll('#panel-auto .messages [data-note="upgraded"]').length === 2`, 40*time.Second) // its next try: a backoff of up to 30 s
	last = srv.Publish(t, `"on the upgrade again"`)
	tab.waitFor(t, "1..7 once, through both switches", onceUpTo(last), 10*time.Second)
}
