package public_test

import (
	"testing"
	"time"

	"fourway/transports/transportstest"
)

// TestPageTakesTheNodesGoodbye: a node cut from its feed's broker says
// goodbye to its streams (WebSocket close 1012, SSE end event, the held
// long poll's 503 with Retry-After: 0). Each panel shows the goodbye, its
// code or event and the reason, and asks again at once from its cursor,
// without a backoff first: alone, the node refuses that retry (503), and
// the panel then backs off. Once the broker is back every panel resumes
// with no gap and no duplicate.
func TestPageTakesTheNodesGoodbye(t *testing.T) {
	f := transportstest.NewBrokerFeed(100)
	srv := transportstest.StartFeed(t, f, withPage(nil))
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	publishHTTP(t, srv, "before")
	tab.waitFor(t, "id 1 everywhere", everyIDOnce(0, 1), 10*time.Second)
	tab.waitFor(t, "a long poll held", panelData("longpoll", "inflightTimeout")+` === '30000'`, 10*time.Second)

	f.Down.Store(true)
	const reason = "this node cannot reach the feed: reconnect now, to another node, with your cursor"
	note := func(transport, how string) string {
		return `(document.querySelector('#panel-` + transport + ` .messages [data-note="goodbye"]')?.textContent ?? '') === ` +
			jsString("Goodbye from the server ("+how+"): "+reason+". Reconnecting at once, to another node if there is one, from the cursor: since=1.")
	}
	// (The WebSocket's last close is 1012 only until its retry is refused:
	// then it is that retry's 1006. The notes stay.)
	tab.waitFor(t, "the goodbye in the WebSocket, SSE and long-poll panels, each with its words and the reason",
		note("ws", "close 1012, "+closeMeaning(t, srv, 1012))+` && `+note("sse", "event: end")+` && `+note("longpoll", "HTTP 503"), 15*time.Second)
	// A 503 that names no wait is not the connection limit: the panel
	// says the server's own words.
	refused := func(transport string) string {
		return state(transport, "reconnecting", "error") + ` && (document.querySelector('#panel-` + transport + ` .state-detail')?.textContent ?? '').includes('cannot reach the feed')`
	}
	tab.waitFor(t, "the retry at once refused by the node alone, in its words, then a backoff",
		refused("sse")+` && `+refused("longpoll")+` && `+state("ws", "reconnecting", "close"), 15*time.Second)

	f.Down.Store(false)
	publishHTTP(t, srv, "after")
	tab.waitFor(t, "every panel back, id 2 once, no gap", everyIDOnce(0, 2)+` && `+allPanels(`p.dataset.state === 'open'`), 30*time.Second)
}
