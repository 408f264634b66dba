package public_test

// The live cost under compression (issue 23): compressed, a message and
// the framing around it travel inside one compressed body, and the bytes
// the server counts are those on the wire, not the decoded ones.

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fourway/transports"
)

// costRows is, for each panel of the four transports, its cost split as
// shown: each row's label and text, the total's text, the window's socket
// bytes (data-cost-to less data-cost-from) and the how line.
const costRows = `Object.fromEntries([...document.querySelectorAll(` + fourPanels + `)].map(p => [p.dataset.transport, {
	rows: [...p.querySelectorAll('.cost dl > div:not(.total)')].map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]),
	total: p.querySelector('.cost-total').textContent,
	window: Number(p.dataset.costTo) - Number(p.dataset.costFrom),
	how: p.querySelector('.cost-how').textContent,
	zip: p.querySelector('.cost-zip')?.hidden === false ? p.querySelector('.cost-zip').textContent : '',
	overhead: document.querySelector('#compare tr[data-transport="' + p.dataset.transport + '"] .overhead').textContent,
}]))`

type costShown struct {
	Rows     [][2]string `json:"rows"`
	Total    string      `json:"total"`
	Window   float64     `json:"window"`
	How      string      `json:"how"`
	Zip      string      `json:"zip"`
	Overhead string      `json:"overhead"`
}

// bytesShown reads the bytes of a cost figure, "1,234 B · 5.6 B/msg" or
// "1,234 字节 · 每条 5.6 字节"; "–" is none.
func bytesShown(t *testing.T, text string) float64 {
	t.Helper()
	if text == "–" {
		return 0
	}
	m := regexp.MustCompile(`^([-−]?[0-9,]+(?:\.[0-9]+)?) (?:B|字节)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("a cost figure %q: no bytes in it", text)
	}
	v, err := strconv.ParseFloat(strings.NewReplacer(",", "", "−", "-").Replace(m[1]), 64)
	if err != nil {
		t.Fatalf("a cost figure %q: %v", text, err)
	}
	return v
}

// TestPageCompressCostAddsUp: with --compress and compressible messages
// flowing (the ticker, and a long message published three times), every
// panel's cost parts are at least 0 and add up to the socket bytes of the
// window, as shown; the first row names the compressed part, with the
// headers or handshakes in it where the server could not count them apart
// (over TLS, over HTTP/2); a line beside gives the messages' decoded size,
// said to be decoded; and the comparison table's live figure per message
// is not negative. Before the fix the polls' framing and the streams'
// handshakes were the total less the messages' decoded size, thousands of
// bytes below zero. In the clear the cost area is saved at 1280×720 and
// 390 px wide, in English and 中文.
func TestPageCompressCostAddsUp(t *testing.T) {
	t.Run("clear", func(t *testing.T) {
		tab := compressedCostPage(t, nil)
		checkCompressedCost(t, tab, "en", "compressed messages and framing", "compressed messages and framing")
		for _, k := range []string{"poll", "sse", "ws", "longpoll"} {
			if got := eval[string](t, tab, `document.querySelector('#panel-`+k+` .cost-how').textContent`); !strings.Contains(got, "Counted by the server") {
				t.Errorf("%s: the how line %q names no part counted by the server", k, got)
			}
		}
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.panel details.cost').forEach(d => d.open = true)`))
		costShots(t, tab, "en")
		tab.setLang(t, "zh")
		tab.waitFor(t, "the cost in Chinese", `document.querySelector('#panel-ws .cost summary').textContent.startsWith('网络传输开销')`, 5*time.Second)
		checkCompressedCost(t, tab, "zh", "压缩后的消息与封装", "压缩后的消息与封装")
		if english := englishOnPage(t, tab); len(english) > 0 {
			t.Errorf("%d English words on the Chinese page with the cost open under --compress:\n%s", len(english), strings.Join(english, "\n"))
		}
		costShots(t, tab, "zh")
	})
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	t.Run("h2", func(t *testing.T) {
		tab := compressedCostPage(t, func(c *transports.Config) { c.TLS = cert })
		checkCompressedCost(t, tab, "en", "HTTP headers, compressed messages and framing", "handshakes, compressed messages and framing")
	})
	t.Run("tls", func(t *testing.T) {
		tab := compressedCostPage(t, func(c *transports.Config) { c.TLS, c.HTTP2 = cert, false })
		checkCompressedCost(t, tab, "en", "HTTP headers, compressed messages and framing", "handshakes, compressed messages and framing")
	})
}

// compressedCostPage opens the page on a server with --compress (and what
// set sets), a ticker and short heartbeats, publishes a long compressible
// message three times, and waits until every panel's cost window holds
// them.
func compressedCostPage(t *testing.T, set func(*transports.Config)) *browserTab {
	srv := startServer(t, func(c *transports.Config) {
		compressed(c)
		c.Ticker = 500 * time.Millisecond
		c.Heartbeat = 2 * time.Second
		c.SSEKeepalive = 2 * time.Second
		if set != nil {
			set(c)
		}
	})
	tab := openPageWith(t, srv, trustTheTestCertificate)
	t.Cleanup(func() { tab.checkProblems(t) })
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 20*time.Second)
	tab.setPollInterval(t, 1)
	tab.waitFor(t, "the panels marked compressed", `['poll', 'longpoll', 'sse'].every(k => `+marks+`[k] === 'gzip') && `+marks+`.ws === 'permessage-deflate'`, 10*time.Second)
	long := strings.Repeat("the same words, again and again; ", 200) // 6,600 B, a few hundred compressed
	for range 3 {
		publishHTTP(t, srv, long)
	}
	last := srv.Stats(t).Feed.LastID
	tab.waitFor(t, "the long messages everywhere", allPanels(fmt.Sprintf(`Number(p.dataset.lastId) >= %d`, last)), 15*time.Second)
	before := srv.Stats(t)
	tab.waitFor(t, "a window that ends after the test's reading", allPanels(
		`Number(p.dataset.costTo) >= ({`+totals(before)+`})[p.dataset.transport]`), 10*time.Second)
	return tab
}

// checkCompressedCost checks each panel's cost as shown, in lang: no part
// below zero, the parts adding up to the total, which is the window's
// socket bytes; the first row named polls (the polls') or streams (the
// streams'); the decoded size beside; the table's figure not negative.
func checkCompressedCost(t *testing.T, tab *browserTab, lang, polls, streams string) {
	t.Helper()
	var shown map[string]costShown
	if err := json.Unmarshal([]byte(eval[string](t, tab, `JSON.stringify(`+costRows+`)`)), &shown); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"poll", "longpoll", "sse", "ws"} {
		c := shown[k]
		var sum float64
		var rows []string
		for _, r := range c.Rows {
			v := bytesShown(t, r[1])
			sum += v
			rows = append(rows, fmt.Sprintf("%s %s", r[0], r[1]))
			if v < 0 {
				t.Errorf("%s, %s: %q is %s, below zero", lang, k, r[0], r[1])
			}
		}
		total := bytesShown(t, c.Total)
		t.Logf("%s, %s: %s; total %s; how: %s; zip: %s; table: %s", lang, k, strings.Join(rows, "; "), c.Total, c.How, c.Zip, c.Overhead)
		if math.Abs(sum-total) > float64(len(c.Rows)) || total != c.Window {
			t.Errorf("%s, %s: the parts shown add up to %.0f B, the total shown is %.0f, the window's socket bytes %.0f", lang, k, sum, total, c.Window)
		}
		want := streams
		if k == "poll" || k == "longpoll" {
			want = polls
		}
		if len(c.Rows) == 0 || c.Rows[0][0] != want {
			t.Errorf("%s, %s: the first row is %q, want %q", lang, k, c.Rows, want)
		}
		if decoded := map[string]string{"en": "a decoded size, not bytes on the wire", "zh": "是解压后的大小，不是线路上的字节"}[lang]; !strings.Contains(c.Zip, decoded) {
			t.Errorf("%s, %s: the line beside the split, %q, does not say %q", lang, k, c.Zip, decoded)
		}
		if strings.HasPrefix(c.Overhead, "-") || strings.HasPrefix(c.Overhead, "−") {
			t.Errorf("%s, %s: the comparison table's figure per message is %q, below zero", lang, k, c.Overhead)
		}
	}
}

// costShots saves the cost area, open: the short poll's and the SSE
// stream's at 1280×720, the long poll's and the WebSocket's at 390 px.
func costShots(t *testing.T, tab *browserTab, lang string) {
	tab.do(t, 5*time.Second, chromedp.EmulateViewport(1280, 720), chromedp.ScrollIntoView(`#panel-poll .cost`))
	tab.saveScreenshot(t, "compress-cost-"+lang+"-1280.png", chromedp.CaptureScreenshot())
	tab.do(t, 5*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Click(chromedp.ID("strip-longpoll")), chromedp.ScrollIntoView(`#panel-longpoll .cost`))
	tab.saveScreenshot(t, "compress-cost-"+lang+"-390.png", chromedp.CaptureScreenshot())
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("strip-ws")), chromedp.ScrollIntoView(`#panel-ws .cost`))
	tab.saveScreenshot(t, "compress-cost-"+lang+"-390-ws.png", chromedp.CaptureScreenshot())
	tab.do(t, 5*time.Second, chromedp.EmulateViewport(1280, 720))
}
