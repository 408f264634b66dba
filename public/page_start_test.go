package public_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"fourway/feed"
	"fourway/feed/natstest"
	"fourway/transports/transportstest"
)

// TestPageSaysTheServerIsStarting: a node whose feed is not open yet (its
// NATS not ready) answers the page's requests 503 with "status":
// "starting" and the reason. A page opened then says the server is
// starting, and why, above the panels and in each, in English and in
// Chinese, and starts no client; once the feed is open every panel opens.
// A node restarted under open panels starts again: the polls and the SSE
// stream, refused, say so too, and every panel resumes from its cursor
// once the feed is open, with no gap and no duplicate.
func TestPageSaysTheServerIsStarting(t *testing.T) {
	port := natstest.FreePort(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	cfg := feed.JetStreamConfig{URL: url, Stream: "PAGE", History: 100, Replicas: 1, Node: "a"}
	open := func(p *feed.Pending) *feed.JetStream {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), natstest.Wait)
		defer cancel()
		f, err := feed.OpenJetStream(ctx, cfg, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	first := feed.NewPending(cfg)
	srv := transportstest.StartUnready(t, first, withPage(nil))
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	reason := "waiting for NATS at " + url
	note := `document.getElementById('start-note')`
	waiting := allPanels(`p.dataset.state === 'waiting' && p.dataset.why === 'starting' && p.querySelector('.state-detail').textContent === ` +
		`'the server is starting: ' + ` + jsString(reason))
	tab.waitFor(t, "the note that the server is starting, and why, every panel waiting", `!`+note+`.hidden && `+
		note+`.textContent.startsWith(`+jsString("The server is starting ("+reason+"): it does not serve the feed yet")+`) && `+waiting, 15*time.Second)
	tab.setLang(t, "zh")
	tab.waitFor(t, "the same in Chinese", note+`.textContent.startsWith(`+jsString("服务器正在启动（"+reason+"）")+`) && `+
		allPanels(`p.querySelector('.state-detail').textContent === `+jsString("服务器正在启动："+reason)), 5*time.Second)
	tab.setLang(t, "en")
	for k, s := range srv.Stats(t).Transports {
		if k != "poll" && s.Requests != 0 {
			t.Errorf("%s: %d requests while starting, want none", k, s.Requests)
		}
	}

	natstest.Start(t, func(o *server.Options) { o.Port = port })
	f := open(first)
	tab.waitFor(t, "every panel open once the feed is, the note gone", allPanels(`p.dataset.state === 'open'`)+` && `+note+`.hidden`, 40*time.Second)
	tab.setPollInterval(t, 1)
	publishHTTP(t, srv, "before")
	tab.waitFor(t, "id 1 everywhere", everyIDOnce(0, 1), 10*time.Second)

	second := feed.NewPending(cfg)
	srv = srv.RestartUnready(t, second, withPage(nil))
	f.Disconnect() // after its server, as main does
	tab.waitFor(t, "the polls and the SSE stream refused: the server is starting",
		state("poll", "reconnecting", "starting")+` && `+state("longpoll", "reconnecting", "starting")+` && `+state("sse", "reconnecting", "starting")+` && `+
			detail("sse")+` === `+jsString("the server is starting: "+reason), 30*time.Second)
	f = open(second)
	t.Cleanup(func() { srv.Stop(); f.Disconnect() })
	publishHTTP(t, srv, "after")
	tab.waitFor(t, "every panel back, id 2 once, no gap", everyIDOnce(0, 2)+` && `+allPanels(`p.dataset.state === 'open'`), 40*time.Second)
}
