package public_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fourway/transports"
)

// trustTheTestCertificate is the flag that lets Chromium take the
// certificate a test server made for itself (transports.SelfSignedTLS).
var trustTheTestCertificate = []chromedp.ExecAllocatorOption{chromedp.Flag("ignore-certificate-errors", true)}

// TestPageOverHTTP2 serves the page over HTTPS with HTTP/2 from a node
// named b, and opens it in three tabs of one browser. Over HTTP/1.1 the
// third tab's SSE stream and long poll would wait for a held-connection
// slot (TestPageThreeTabs); over HTTP/2 every request of the three is a
// stream of one connection, so the page opens the slots and all panels of
// all tabs open at once. Each panel names its protocol as the browser
// measured it, h2 for the polls and (once a stream has ended) for SSE, and
// HTTP/1.1 for the WebSocket, and names node b, from the hellos and the
// Fourway-Node header. A cut of the SSE streams resets those streams
// only: the polls of the same connection go on without a reconnect.
func TestPageOverHTTP2(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	srv := startServer(t, func(c *transports.Config) {
		c.TLS = cert
		c.Node = "b"
	})
	first := openPageWith(t, srv, trustTheTestCertificate)
	second, _ := first.newTab(t, srv.URL+"/")
	third, _ := first.newTab(t, srv.URL+"/")
	tabs := []*browserTab{first, second, third}
	for _, tab := range tabs {
		defer tab.checkProblems(t)
	}

	for i, tab := range tabs {
		tab.waitFor(t, fmt.Sprintf("tab %d: every panel open, none waiting for a slot", i+1),
			allPanels(`p.dataset.state === 'open'`)+` && document.getElementById('limit-note').hidden`, 20*time.Second)
		tab.waitFor(t, fmt.Sprintf("tab %d: the page says it came over h2 and the slots are open", i+1), `
			document.getElementById('proto-note').dataset.kind === 'multiplexed' &&
			document.getElementById('proto-note').textContent.startsWith('This page came over h2,')`, 5*time.Second)
		tab.waitFor(t, fmt.Sprintf("tab %d: the polls over h2, the WebSocket over HTTP/1.1 (wss://), every panel served by node b", i+1),
			panelsSay(map[string]string{"poll": "h2", "longpoll": "h2", "sse": "h2", "ws": "http/1.1"})+` &&
			document.querySelector('#panel-sse .via-proto').textContent.startsWith('Over h2: the server\'s word, in this stream\'s hello') &&
			document.querySelector('#panel-ws .via-proto').textContent.startsWith('Over HTTP/1.1 (wss://):') &&
			document.querySelector('#panel-poll .via-proto').textContent.startsWith('Over h2:') &&
			`+allPanels(`p.dataset.node === 'b' && !p.querySelector('.via-node').hidden &&
				p.querySelector('.via-node').textContent.startsWith('Node: b (')`), 10*time.Second)
	}

	if n := heldSlots(t, first); n != 0 {
		t.Errorf("%d held-connection slots taken over HTTP/2, want none", n)
	}

	third.publishFromForm(t, "over HTTP/2")
	for i, tab := range tabs {
		tab.waitFor(t, fmt.Sprintf("tab %d: the message in every panel", i+1), everyIDOnce(0, 1), 10*time.Second)
	}
	first.waitFor(t, "the cost of the HTTP/2 streams with their frames counted by the server, adding up; the WebSocket's without", `
		['poll', 'longpoll', 'sse'].every(k => {
			const p = document.getElementById('panel-' + k), d = p.dataset;
			return Number(d.costFrames) > 0 && Number(d.costHpack) > 0 && !p.querySelector('.cost-h2').hidden &&
				p.querySelector('.cost-h2').textContent.startsWith('Over HTTP/2 the server counted ') &&
				Math.abs(Number(d.costSum) - (Number(d.costTo) - Number(d.costFrom))) < 1;
		}) && document.querySelector('#panel-ws .cost-h2').hidden &&
		document.getElementById('panel-sse').dataset.costMeasured === 'framing heartbeats' &&
		document.getElementById('panel-ws').dataset.costComputed === 'framing heartbeats'`, 15*time.Second)

	// An open SSE stream has no Resource Timing entry yet: its protocol is
	// the hello's (above). Cut them: each tab's stream ends, and the
	// EventSource comes back by itself, its new hello saying h2 again.
	if n := srv.Drop(t, "sse"); n != len(tabs) {
		t.Fatalf("the cut ended %d SSE streams, want %d (one per tab)", n, len(tabs))
	}
	publishHTTP(t, srv, "after the cut")
	for i, tab := range tabs {
		tab.waitFor(t, fmt.Sprintf("tab %d: SSE over h2, back, every id once; the polls of the same connection never reconnected", i+1),
			panelsSay(map[string]string{"sse": "h2"})+` &&
			document.querySelector('#panel-sse .via-proto').textContent.startsWith('Over h2:') &&
			['poll', 'longpoll'].every(k => document.getElementById('panel-' + k).dataset.reconnects === '0') &&
			`+everyIDOnce(0, 2), 15*time.Second)
	}

	second.setLang(t, "zh")
	second.waitFor(t, "the protocol, the node and the note in Chinese", `
		document.querySelector('#panel-poll .via-proto').textContent.startsWith('协议：h2（') &&
		document.querySelector('#panel-ws .via-proto').textContent.startsWith('协议：HTTP/1.1（wss://）') &&
		document.querySelector('#panel-sse .via-node').textContent === '节点：b（来自它的 hello）。' &&
		document.getElementById('proto-note').textContent.startsWith('本页经由 h2 传来')`, 5*time.Second)
}

// panelsSay is a condition: each panel named in want names that protocol.
func panelsSay(want map[string]string) string {
	cond := "true"
	for k, proto := range want {
		cond += fmt.Sprintf(` && document.getElementById('panel-%s').dataset.proto === '%s'`, k, proto)
	}
	return cond
}

// TestPageOverTLSWithoutHTTP2: HTTPS alone is not HTTP/2. With HTTP/2 off
// (--http2=false) the browser's ALPN gets http/1.1, the page says so, and
// keeps its held-connection slots: the six connections per host are back.
func TestPageOverTLSWithoutHTTP2(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	srv := startServer(t, func(c *transports.Config) {
		c.TLS = cert
		c.HTTP2 = false
	})
	tab := openPageWith(t, srv, trustTheTestCertificate)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open over HTTPS, the polls over http/1.1, the WebSocket over wss://, the slots kept",
		allPanels(`p.dataset.state === 'open'`)+` && `+
			panelsSay(map[string]string{"poll": "http/1.1", "longpoll": "http/1.1", "ws": "http/1.1"})+` &&
			document.querySelector('#panel-ws .via-proto').textContent.startsWith('Over HTTP/1.1 (wss://):') &&
			document.getElementById('proto-note').dataset.kind === 'slots' &&
			document.getElementById('proto-note').textContent.startsWith('This page came over http/1.1,')`, 20*time.Second)
	if n := heldSlots(t, tab); n < 2 {
		t.Errorf("%d held-connection slots taken, want at least 2 (the SSE stream and the long poll)", n)
	}
	// Over TLS the server sees records, not net/http's chunks or a client's
	// frames: the streams' framing and heartbeats are computed, and said so.
	tab.waitFor(t, "the streams' framing and heartbeats computed, and said so", `['sse', 'ws'].every(k => {
		const p = document.getElementById('panel-' + k);
		return p.dataset.costMeasured === '' && p.dataset.costComputed === 'framing heartbeats' &&
			p.querySelector('.cost-how').textContent.startsWith('Computed from the protocol\'s rules and the counts: framing, heartbeats. ');
	})`, 10*time.Second)
}

// heldSlots is how many held-connection slots (Web Locks) the clients of
// the tab's browser hold now.
func heldSlots(t *testing.T, b *browserTab) int {
	t.Helper()
	return evalAsync[int](t, b, `navigator.locks.query().then(s => s.held.filter(l => l.name.startsWith('fourway-held-')).length)`)
}
