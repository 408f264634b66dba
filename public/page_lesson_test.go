package public_test

// The page's lesson first (issue 21): the four side by side on the first
// screen of a projector, in presentation mode too, and on a phone a strip
// that names all four with their latency; a verdict that holds still; the
// ticker field that shows the server's ticker and refuses what is not a
// number; every word in the reader's language.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fourway/transports"
	"fourway/transports/links"
)

// firstScreen is a condition: with no scroll, each of the four panels'
// heading, the message text and a latency figure (p50 and p99) are inside
// the viewport. A latency is a figure in ms, or in s from 1 s on: a short
// poll every second has a p99 near 1 s, over it on a loaded machine.
func firstScreen(text string) string {
	return `scrollY === 0 && ` + allPanels(`(() => {
		const inside = el => { if (!el) return false; const r = el.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; };
		const msg = [...p.querySelectorAll('.messages li')].find(li => li.querySelector('.text')?.textContent === `+jsString(text)+`);
		return inside(p.querySelector('.panel-head h2')) && inside(msg) &&
			inside(p.querySelector('.p50')) && inside(p.querySelector('.p99')) &&
			/^[0-9.,]+ (ms|s)$/.test(p.querySelector('.p50').textContent) && /^[0-9.,]+ (ms|s)$/.test(p.querySelector('.p99').textContent);
	})()`)
}

// outside says, for a failure, what of each panel is not on the first screen.
const outside = `[...document.querySelectorAll(` + fourPanels + `)].map(p => {
	const at = el => el ? Math.round(el.getBoundingClientRect().top) + '..' + Math.round(el.getBoundingClientRect().bottom) : 'none';
	return p.id + ': heading ' + at(p.querySelector('.panel-head h2')) + ', newest ' + at(p.querySelector('.messages li')) +
		', p50 ' + at(p.querySelector('.p50')) + ' "' + p.querySelector('.p50').textContent + '"';
}).join('; ') + ' (viewport ' + innerWidth + 'x' + innerHeight + ', scrollY ' + scrollY + ')'`

// TestPageFirstScreen: at 1280×720 (a classroom projector) with no scroll,
// each panel's heading, a message just published and its latency figure
// are on screen; the same in presentation mode, in larger type, at
// 1280×720 and 1920×1080; on a 390×844 phone the first screen names all
// four transports with their latency, and one panel at a time is shown
// below, chosen there.
func TestPageFirstScreen(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
	// check publishes text at a viewport of w×h and waits for it on the
	// first screen of every panel: a deadline, generous for a loaded
	// machine (a quiet one sees it in well under a second).
	check := func(t *testing.T, what, text string, w, h int64) {
		t.Helper()
		tab.do(t, 5*time.Second, chromedp.EmulateViewport(w, h), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
		publishHTTP(t, srv, text)
		tab.waitFor(t, what+": every panel's heading, the message and its latency on the first screen",
			`(() => { const ok = `+firstScreen(text)+`; if (!ok) window.fourwayOutside = `+outside+`; return ok; })()`, 30*time.Second)
	}
	t.Run("1280x720", func(t *testing.T) {
		check(t, "1280×720", "seen at 1280x720", 1280, 720)
		tab.saveScreenshot(t, "first-1280.png", chromedp.CaptureScreenshot())
	})
	t.Run("presentation mode at 1280x720 and 1920x1080", func(t *testing.T) {
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("present")))
		if got := eval[string](t, tab, `getComputedStyle(document.querySelector('#panel-ws .messages')).fontSize`); got <= "15px" && len(got) <= 4 {
			t.Errorf("the messages in presentation mode in %s type, want larger than 15px", got)
		}
		check(t, "presentation mode at 1280×720", "seen in presentation mode", 1280, 720)
		tab.saveScreenshot(t, "first-present-1280.png", chromedp.CaptureScreenshot())
		check(t, "presentation mode at 1920×1080", "seen on a large screen", 1920, 1080)
		tab.saveScreenshot(t, "first-present-1920.png", chromedp.CaptureScreenshot())
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("present")))
	})
	t.Run("a phone: a strip names all four with their latency", func(t *testing.T) {
		tab.do(t, 5*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
		tab.waitFor(t, "the strip on the first screen, each of the four named with its p50", `['poll', 'longpoll', 'sse', 'ws'].every(k => {
			const b = document.getElementById('strip-' + k), r = b.getBoundingClientRect();
			return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth &&
				b.querySelector('.strip-name').textContent === document.querySelector('#panel-' + k + ' .name').textContent &&
				/^p50 [0-9.]+ (ms|s)$/.test(b.querySelector('.strip-lat').textContent);
		}) && document.documentElement.scrollWidth <= 390`, 10*time.Second)
		shown := `[...document.querySelectorAll('.panel')].filter(p => p.getClientRects().length > 0).map(p => p.dataset.transport).join(',')`
		tab.waitFor(t, "one panel shown, the first", shown+` === 'poll'`, 5*time.Second)
		tab.saveScreenshot(t, "first-390.png", chromedp.CaptureScreenshot())
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("strip-ws")))
		tab.waitFor(t, "the WebSocket's panel alone, pressed in the strip", shown+` === 'ws' && document.getElementById('strip-ws').getAttribute('aria-pressed') === 'true'`, 5*time.Second)
		tab.saveScreenshot(t, "first-390-ws.png", chromedp.CaptureScreenshot())
	})
}

// TestPageVerdictHoldsStill: the same answers give the same pick with the
// feed at a steady rate at 2, 10, 20 and 40 s, and after "Cut all
// connections" (which brings a burst of handshakes into the live window);
// the line above the pick names the bench run and its machine, and each
// bench figure in the table carries its machine and date.
func TestPageVerdictHoldsStill(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) { c.Ticker = 250 * time.Millisecond })
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`{
		const v = id => document.getElementById(id);
		v('v-direction').value = 'down'; v('v-rate').value = '1'; v('v-clients').value = '4000';
		v('verdict-form').dispatchEvent(new Event('input'));
	}`))
	pick := `document.getElementById('verdict-pick').textContent + ' | ' + document.getElementById('verdict-source').textContent + ' | ' +
		[...document.querySelectorAll('#verdict-reasons li')].map(li => li.textContent).join(' ')`
	tab.waitFor(t, "a pick, its source named", `document.getElementById('verdict-pick').dataset.pick !== '' &&
		document.getElementById('verdict-source').textContent.includes(`+jsString(benchRun(t))+`)`, 10*time.Second)
	first := eval[string](t, tab, pick)
	if !strings.HasPrefix(first, "Pick Server-Sent Events.") {
		t.Errorf("1 msg/s to 4,000 clients, one way: %q, want SSE (WebSocket saves under 1 Mbps)", first)
	}
	if cell := eval[string](t, tab, `document.querySelector('#verdict-table tr[data-transport="ws"] td').textContent`); !strings.HasSuffix(cell, "(bench: "+benchRun(t)+")") {
		t.Errorf("the WebSocket's bench figure reads %q: want its machine and date beside it", cell)
	}
	start := time.Now()
	for _, at := range []time.Duration{2 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		// Wait until the page has lived that long, by its own clock: a deadline, not a sleep.
		tab.waitFor(t, fmt.Sprintf("the page %s on", at), fmt.Sprintf(`performance.now() - Number(document.body.dataset.startedAt) >= %d`, at.Milliseconds()), at+10*time.Second)
		if got := eval[string](t, tab, pick); got != first {
			t.Errorf("at %s (%s in the test): %q, was %q", at, time.Since(start).Round(time.Second), got, first)
		}
		if at == 20*time.Second {
			tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-all")))
			tab.waitFor(t, "all open again after the cut", allPanels(`p.dataset.state === 'open'`)+` && `+panelData("ws", "reconnects")+` >= 1`, 15*time.Second)
			if got := eval[string](t, tab, pick); got != first {
				t.Errorf("after the cut: %q, was %q", got, first)
			}
		}
	}
}

// TestPageBatteryRanks: ticking "a phone's battery matters" ranks by the
// radio's wake-ups and requests a minute: where long polling costs the
// radio least (a quiet feed, a message every 100 s: long polling 2 answers
// and 2 requests a minute, SSE 0.6 + 4 pings, WebSocket 0.6 + 4.8) the pick
// changes to it and the table is ranked so; at a message a second SSE
// costs it least (64 against long polling's 60 + 60 requests), and the
// pick stays SSE.
func TestPageBatteryRanks(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	ask := func(rate string, battery bool) {
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`{
			const v = id => document.getElementById(id);
			v('v-direction').value = 'down'; v('v-rate').value = %q; v('v-clients').value = '1000';
			v('v-proxy').checked = false; v('v-http2').checked = true; v('v-battery').checked = %t;
			v('verdict-form').dispatchEvent(new Event('input'));
		}`, rate, battery)))
	}
	pick := `document.getElementById('verdict-pick')`
	order := `document.querySelector('#verdict-table tbody').dataset.order`
	wakeups := func(k string) string {
		return `document.querySelector('#verdict-table tr[data-transport="` + k + `"] .wakeups').textContent`
	}
	ask("0.01", false)
	tab.waitFor(t, "SSE without the battery, ranked by bytes", pick+`.dataset.pick === 'sse' && `+order+` !== 'longpoll sse ws poll'`, 5*time.Second)
	ask("0.01", true)
	tab.waitFor(t, "long polling with the battery, ranked first", pick+`.dataset.pick === 'longpoll' && `+
		pick+`.textContent === 'Pick Long polling.' && `+order+` === 'longpoll sse ws poll' && `+
		wakeups("longpoll")+` === '2' && `+wakeups("sse")+` === '4.6' && `+wakeups("ws")+` === '5.4' && `+wakeups("poll")+` === '20' && `+
		`document.querySelector('#verdict-reasons [data-reason="v.battery.longpoll"]').textContent.includes('4 wake-ups and requests a minute (2 answers, 2 requests; SSE 4.6, WebSocket 5.4)')`, 5*time.Second)
	ask("1", true)
	tab.waitFor(t, "SSE with the battery where it costs the radio least", pick+`.dataset.pick === 'sse' && `+
		order+` === 'poll sse ws longpoll' && `+wakeups("sse")+` === '64' && `+wakeups("longpoll")+` === '60'`, 5*time.Second)
}

// TestPageTickerField: the ticker field shows the server's ticker on load
// (GET /api/config, ticker_ms); Set with it empty, or with a word, leaves
// the ticker running and says why; 0 must be written to stop it. A
// short-poll interval of 0 is refused with a message, and the interval in
// use stays.
func TestPageTickerField(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) { c.Ticker = 1500 * time.Millisecond })
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "the server's ticker in the field", `document.getElementById('ticker-every').value === '1.5'`, 10*time.Second)
	status := `document.getElementById('teach-status')`
	set := func(value string) {
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.getElementById('ticker-every').value = `+jsString(value)), chromedp.Click(chromedp.ID("ticker-set")))
	}
	set("")
	tab.waitFor(t, "an error for the empty field", status+`.textContent.startsWith('Not set: the field is empty.') && `+status+`.classList.contains('bad')`, 5*time.Second)
	set("fast")
	tab.waitFor(t, "an error for a word", status+`.textContent.startsWith('Not set: "fast" is not a number of seconds.')`, 5*time.Second)
	last := eval[int](t, tab, `Number(`+panelData("ws", "lastId")+`)`)
	tab.waitFor(t, "the ticker still publishing", fmt.Sprintf(`[...document.querySelectorAll('#panel-ws .messages .user')].some(e => e.textContent === 'ticker:') && Number(%s) > %d`, panelData("ws", "lastId"), last), 10*time.Second)
	if code, body, _ := srv.Get(t, "/api/config"); !strings.Contains(body, `"ticker_ms":1500`) {
		t.Errorf("GET /api/config after the refusals: %d %s; want the ticker at 1500 ms", code, body)
	}

	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`{ // as typed (chromedp's SetValue takes no "0")
		const c = document.getElementById('poll-interval');
		c.value = '0';
		c.dispatchEvent(new Event('change'));
	}`))
	tab.waitFor(t, "the interval 0 refused, 3 s kept", `document.getElementById('poll-status').textContent === 'Not taken: the short-poll interval is from 0.5 to 60 s, not "0". It stays at 3 s.' && `+
		`document.getElementById('poll-interval').value === '3' && `+detail("poll")+`.startsWith('next poll in ')`, 5*time.Second)
	tab.setPollInterval(t, 2)
	if got := eval[string](t, tab, `document.getElementById('poll-status').textContent`); got != "" {
		t.Errorf("after a good interval the refusal still reads %q", got)
	}
}

// benchRun is the bench run's machine and date as the page writes them in
// English beside the bench's figures: "AMD EPYC, 2 cores, Dec 2, 2026".
func benchRun(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("bench-report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Started time.Time `json:"started"`
		Machine struct {
			CPU   string `json:"cpu"`
			Cores int    `json:"cores"`
		} `json:"machine"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s, %d cores, %s", r.Machine.CPU, r.Machine.Cores, r.Started.UTC().Format("Jan 2, 2006"))
}

// protocolTerms are the words that a Chinese page writes in English, as
// Chinese technical writing does: names of protocols, APIs, headers,
// fields and units.
var protocolTerms = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`WebSocket WebSockets EventSource readyState bufferedAmount lastEventId url URL
		Last-Event-ID Fourway-Node X-Accel-Buffering Upgrade Origin Content-Type Retry-After Cache-Control
		HTTP HTTPS TLS TCP SSE NTP RFC API JSON POST GET CRLF HPACK FIN opcode MASK KiB Mbps ID id
		fetch Resource Timing Socket.IO SockJS fourway Go ping pong hello next since epoch data retry type
		CONNECTING OPEN CLOSING CLOSED ws wss h2 http api sse longpoll poll inspect stats config drop ticker messages
		p50 p99 ref nethttp direct r3labs`) {
		protocolTerms[w] = true
	}
}

// TestPageChineseOnly: in 中文, with the offline switch on and every
// disclosure open (the wire inspector failing offline, the cost, inside
// the clients, how each works), no English word is on the page outside
// the protocol terms, the bytes on the wire and the messages' own text, and
// no time is written with AM or PM.
func TestPageChineseOnly(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	if shown := eval[string](t, tab, `[...document.querySelectorAll('.network, #tunnel, #link-note')].filter(e => e.getClientRects().length > 0).map(e => e.className || e.id).join(',')`); shown != "" {
		t.Errorf("a server without links: the page shows %s; want no network choice, no tunnel, no link", shown)
	}
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => d.open = true)`))
	tab.waitFor(t, "the inspector recording", `document.querySelector('#panel-ws .wire-note').textContent !== ''`, 10*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-all")))
	tab.waitFor(t, "all open again", allPanels(`p.dataset.state === 'open'`)+` && `+panelData("ws", "reconnects")+` >= 1`, 15*time.Second)
	tab.publishFromForm(t, "hello from the form")
	tab.waitFor(t, "the message everywhere, an exchange shown", everyIDOnce(0, 1)+` && document.querySelector('#panel-ws .wire-box').dataset.exchange !== undefined`, 15*time.Second)
	tab.setLang(t, "zh")
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
	tab.waitFor(t, "offline, said in Chinese in the inspector", allPanels(`p.dataset.state === 'reconnecting'`)+` &&
		document.querySelector('#panel-ws .wire-note').textContent === '无法读取检查器：断网（本页的断网开关）'`, 10*time.Second)
	english := englishOnPage(t, tab)
	if len(english) > 0 {
		t.Errorf("%d English words on the Chinese page:\n%s", len(english), strings.Join(english, "\n"))
	}
	tab.saveScreenshot(t, "zh-offline.png", chromedp.FullScreenshot(100))
	tab.do(t, 5*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
	tab.saveScreenshot(t, "zh-offline-390.png", chromedp.CaptureScreenshot())
}

// englishOnPage lists the English words shown on a Chinese page outside
// the protocol terms, the bytes on the wire and the messages' own text,
// and any time written with AM or PM.
func englishOnPage(t *testing.T, tab *browserTab) []string {
	t.Helper()
	terms := keys(protocolTerms)
	for _, w := range strings.Fields(benchRun(t)) {
		terms = append(terms, strings.Trim(w, ",")) // the bench machine's name: "AMD EPYC"
	}
	terms = append(terms, links.Names()...) // the links' names, as --links names them: "loopback", "cable"
	return evalAsync[[]string](t, tab, `(async () => {
		await new Promise(r => setTimeout(r, 300)); // one render of the page's 250 ms loop
		const skip = '#lang, .messages .text, .messages .user, pre, .wire-frames td, .wire-chunks .frame, script, style';
		const terms = new Set(`+jsString(strings.Join(terms, " "))+`.split(' '));
		const found = [];
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const el = n.parentElement;
			if (el.closest(skip) || el.getClientRects().length === 0) continue;
			for (let w of n.textContent.split(/[\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’·×±−–—…]+/)) {
				w = w.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
				if (/[0-9/=?&#@]/.test(w) || /[:.]./.test(w) || !/[A-Za-z]{2,}/.test(w) || terms.has(w)) continue;
				if (w.split('-').every(p => terms.has(p) || p.length < 2)) continue;
				found.push(w + ' (in ' + (el.className || el.tagName) + ': ' + n.textContent.trim().slice(0, 80) + ')');
			}
			if (/\b(AM|PM)\b/.test(n.textContent)) found.push('AM/PM: ' + n.textContent.trim());
		}
		return found;
	})()`)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
