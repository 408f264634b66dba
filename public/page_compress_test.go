package public_test

// Compression, measured (issue 23): each panel marks whether its transport
// is compressed on this connection and how, and says where that comes
// from; the wire inspector shows the compressed bytes beside the size
// they decode to.

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fourway/transports"
)

func init() {
	// The names of the codings and the flag, written in English in Chinese
	// as the other protocol terms are.
	for _, w := range strings.Fields(`gzip permessage-deflate permessage deflate compress`) {
		protocolTerms[w] = true
	}
}

// compressed is --compress on, on the writers that compress.
func compressed(c *transports.Config) {
	c.Compress, c.SSEWriter, c.LongPollWriter = true, "r3labs", "nethttp"
}

// marks are each panel's compression mark, by transport: the visible
// mark, or "" when it is hidden.
const marks = `Object.fromEntries([...document.querySelectorAll('.panel')].map(p => {
	const z = p.querySelector('.panel-head .zip');
	return [p.dataset.transport, z.getClientRects().length > 0 ? z.textContent : ''];
}))`

// zipHow is the line in transport's "inside the client" that says where
// its mark comes from.
func zipHow(transport string) string {
	return `document.querySelector('#panel-` + transport + ` .zip-how').textContent`
}

// TestPageCompressMarks: with --compress every panel marks its transport
// compressed, the WebSocket's (and the auto panel's, once on its
// WebSocket) with permessage-deflate as the browser's handshake agreed,
// the others with gzip; a poll panel gives the browser's measure of an
// answer that came compressed; the wire inspector shows a compressible
// message of 6 KB in a WebSocket frame, an SSE chunk and a long poll's body,
// each beside the size it decodes to, larger than its bytes on the wire.
// In 中文 the new words have no English left. Without --compress, no panel
// claims compression.
func TestPageCompressMarks(t *testing.T) {
	t.Run("on", testCompressOn)
	t.Run("off", func(t *testing.T) {
		srv := startServer(t, nil)
		tab := openPage(t, srv)
		defer tab.checkProblems(t)
		tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
		tab.waitFor(t, "no panel marked compressed, each saying it is not", `Object.values(`+marks+`).every(m => m === '') &&
			[...document.querySelectorAll('.panel')].every(p => p.dataset.compressed === '' &&
				p.querySelector('.zip-how').textContent === 'Not compressed: the server runs without --compress (GET /api/config).')`, 10*time.Second)
		tab.screenshotAt(t, "compress-off-1280.png", 1280, 720)
	})
}

func testCompressOn(t *testing.T) {
	srv := startServer(t, compressed)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open, auto on its WebSocket", allPanels(`p.dataset.state === 'open'`)+` && `+panelData("auto", "engine")+` === 'ws'`, 30*time.Second)
	tab.setPollInterval(t, 1)
	publishHTTP(t, srv, "a short one")
	tab.waitFor(t, "each panel marked", marks+`.ws === 'permessage-deflate' && `+marks+`.auto === 'permessage-deflate' &&
		['poll', 'longpoll', 'sse'].every(k => `+marks+`[k] === 'gzip')`, 10*time.Second)
	if got := eval[string](t, tab, zipHow("ws")); !strings.Contains(got, "WebSocket.extensions") {
		t.Errorf("the WebSocket's mark comes from %q, want the browser's WebSocket.extensions", got)
	}
	if got := eval[string](t, tab, zipHow("sse")); !strings.Contains(got, "The server's word (GET /api/config") {
		t.Errorf("the SSE mark comes from %q, want the server's word", got)
	}
	tab.screenshotAt(t, "compress-1280.png", 1280, 720)

	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.panel details.wire, .panel details.inside').forEach(d => d.open = true)`))
	tab.waitFor(t, "the inspector recording", `document.querySelector('#panel-ws .wire-note').textContent !== ''`, 10*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-all"))) // a stream is recorded from its next connection
	tab.waitFor(t, "all open again", allPanels(`p.dataset.state === 'open'`)+` && `+panelData("ws", "reconnects")+` >= 1 && `+panelData("sse", "reconnects")+` >= 1`, 15*time.Second)
	long := strings.Repeat("the same words, again and again; ", 200) // 6,600 B
	publishHTTP(t, srv, long)

	// decodedLarger is a condition: sel, in transport's inspector, has a
	// decoded size larger than its bytes (bytesOf, a JavaScript function
	// of the element) and at least the message's.
	decodedLarger := func(transport, sel, bytesOf string) string {
		return `[...document.querySelectorAll('#panel-` + transport + ` .wire-box ` + sel + `')].some(e =>
			Number(e.dataset.decoded) >= ` + strconv.Itoa(len(long)) + ` && Number(e.dataset.decoded) > (` + bytesOf + `)(e))`
	}
	tab.waitFor(t, "the WebSocket's inspector: a frame's decoded size, larger than its length",
		decodedLarger("ws", ".wire-frames-out tr[data-decoded]", `e => Number(e.cells[3].textContent)`), 20*time.Second)
	tab.waitFor(t, "the SSE inspector: a chunk's decoded size, larger than its bytes",
		decodedLarger("sse", ".wire-chunks li[data-decoded]", `e => Number(e.dataset.bytes)`), 10*time.Second)
	tab.waitFor(t, "the long poll's inspector: a body's decoded size, larger than its bytes",
		decodedLarger("longpoll", "pre.wire-body[data-decoded]", `e => Number(e.dataset.bytes)`), 10*time.Second)
	tab.waitFor(t, "the poll panels give the browser's measure", `['poll', 'longpoll'].every(k =>
		/The last that came compressed: [0-9,]+ B on the wire, [0-9,]+ B decoded/.test(`+zipHow("'+k+'")+`))`, 10*time.Second)
	measure := regexp.MustCompile(`([0-9,]+) B on the wire, ([0-9,]+) B decoded`).FindStringSubmatch(eval[string](t, tab, zipHow("poll")))
	wire, _ := strconv.Atoi(strings.ReplaceAll(measure[1], ",", ""))
	decoded, _ := strconv.Atoi(strings.ReplaceAll(measure[2], ",", ""))
	if decoded < len(long) || wire >= decoded {
		t.Errorf("the short poll's last compressed answer: %d B on the wire, %d decoded; want at least the message's %d decoded, and fewer on the wire", wire, decoded, len(long))
	}
	t.Logf("the short poll's answer with the message of %d B: %d B on the wire, %d B decoded (Resource Timing)", len(long), wire, decoded)
	tab.do(t, 5*time.Second, chromedp.ScrollIntoView(`#panel-ws .wire-frames-out`))
	tab.saveScreenshot(t, "compress-inspector-1280.png", chromedp.CaptureScreenshot())
	tab.do(t, 5*time.Second, chromedp.ScrollIntoView(`#panel-poll .zip-how`))
	tab.saveScreenshot(t, "compress-inside-1280.png", chromedp.CaptureScreenshot())
	tab.screenshotAt(t, "compress-390.png", 390, 844)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("strip-ws")))
	tab.screenshotAt(t, "compress-390-ws.png", 390, 844)

	tab.setLang(t, "zh")
	tab.waitFor(t, "the marks' lines in Chinese", zipHow("ws")+`.startsWith('已压缩：permessage-deflate')`, 5*time.Second)
	// Every close code the server serves has its meaning in Chinese: 1007
	// (a compressed message that does not inflate) among them.
	if missing := evalAsync[[]float64](t, tab, `(async () => {
		const { tOr } = await import('./i18n.js');
		const served = await (await fetch('api/config')).json();
		return served.ws.close_codes.map(c => c.code).filter(code => tOr('code.' + code, '') === '');
	})()`); len(missing) > 0 {
		t.Errorf("close codes with no meaning in Chinese: %v", missing)
	}
	if english := englishOnPage(t, tab); len(english) > 0 {
		t.Errorf("%d English words on the Chinese page with --compress:\n%s", len(english), strings.Join(english, "\n"))
	}
	tab.screenshotAt(t, "compress-zh-390.png", 390, 844)
	tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => d.open = false)`))
	tab.screenshotAt(t, "compress-zh-1280.png", 1280, 720)
}
