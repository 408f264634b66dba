package public_test

// The page's tests drive Debian's real Chromium (package chromium) with
// chromedp against the real server, started in-process with the page
// embedded (transportstest.Start with Static = public.Files). A few make
// the tab answer some of its own requests in the server's place (fake): a
// server whose settings differ from the defaults the server cannot have,
// or whose settings cannot be read. They wait on DOM conditions with
// deadlines, never on fixed sleeps: the page exposes what they need as
// data-* attributes: each panel's data-state (connecting, open, waiting,
// reconnecting, closed) and data-why, its counters data-received,
// data-last-id, data-gaps, data-dups, data-missed, data-reconnects and
// data-resets, the epoch its client holds (data-epoch), each message's
// data-id and each notice's data-note in its list, the WebSocket's
// data-client, and the body's data-feed-last-id from /api/stats.
//
// Every tab also fails its test on any Content-Security-Policy violation:
// a script run before the page's own reports each securitypolicyviolation
// event to the test (the browser blocks what the policy forbids without
// throwing, so neither an exception nor console.error would show it).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"fourway/public"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// startServer starts a server with the page, and what set changes (set may
// be nil).
func startServer(t *testing.T, set func(*transports.Config)) *transportstest.Server {
	t.Helper()
	return transportstest.Start(t, withPage(set))
}

// withPage is set with the page served.
func withPage(set func(*transports.Config)) func(*transports.Config) {
	return func(c *transports.Config) {
		c.Static = public.Files
		if set != nil {
			set(c)
		}
	}
}

// browserTab is one Chromium tab on the page, and what went wrong in it.
type browserTab struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions, console errors, dialogs
	csp      []string // Content-Security-Policy violations, in every document loaded
}

// cspViolation is what the page's securitypolicyviolation listener reports.
type cspViolation struct {
	Directive string `json:"directive"`
	Blocked   string `json:"blocked"`
	Source    string `json:"source"`
	Line      int    `json:"line"`
	Sample    string `json:"sample"`
}

func (v cspViolation) String() string {
	return fmt.Sprintf("%s blocked %q at %s:%d (%q)", v.Directive, v.Blocked, v.Source, v.Line, v.Sample)
}

// cspWatch runs in every document of a tab before the page's scripts: it
// keeps each violation in window.fourwayCSPViolations and hands it to the
// test through the exposed fourwayCSPViolation.
const cspWatch = `window.fourwayCSPViolations = [];
document.addEventListener('securitypolicyviolation', e => {
	const v = { directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
		line: e.lineNumber, sample: e.sample };
	window.fourwayCSPViolations.push(v);
	window.fourwayCSPViolation?.(v);
});`

// openPage starts Chromium and loads the page of srv in a 1440×1000 tab,
// where fakes answer in the server's place. Without Chromium the test is
// skipped, except under CI=true, where a missing browser must fail rather
// than pass by skipping.
func openPage(t *testing.T, srv *transportstest.Server, fakes ...fake) *browserTab {
	t.Helper()
	return openPageWith(t, srv, nil, fakes...)
}

// openPageWith is openPage with Chromium started with the flags extra
// besides the usual ones (--ignore-certificate-errors, for a server with a
// certificate of its own making).
func openPageWith(t *testing.T, srv *transportstest.Server, extra []chromedp.ExecAllocatorOption, fakes ...fake) *browserTab {
	t.Helper()
	return openURL(t, srv.URL+"/", extra, fakes...)
}

// openURL is openPageWith for the page at url: the server's own, or
// through one of its links.
func openURL(t *testing.T, url string, extra []chromedp.ExecAllocatorOption, fakes ...fake) *browserTab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		path = "/usr/bin/chromium"
		if _, statErr := os.Stat(path); statErr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("chromium not found (%v): install the Debian package chromium", err)
			}
			t.Skipf("chromium not found (%v): install the Debian package chromium to run the page's tests", err)
		}
	}
	// Exactly these flags (and extra): headless, no sandbox (containers run
	// as root), and nothing that talks to the internet on its own.
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit, before TempDir is removed
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return loadPage(t, ctx, url, fakes...)
}

// newTab opens url in another tab of b's browser.
func (b *browserTab) newTab(t *testing.T, url string) (*browserTab, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return loadPage(t, ctx, url), cancel
}

// loadPage loads url in the tab of ctx, with fakes answering in the
// server's place, and records what goes wrong there.
func loadPage(t *testing.T, ctx context.Context, url string, fakes ...fake) *browserTab {
	t.Helper()
	tab := &browserTab{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			tab.problem("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, desc)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				tab.problem("console.error: %s", strings.Join(parts, " "))
			}
		case *page.EventJavascriptDialogOpening:
			tab.problem("a dialog opened: %s %q", ev.Type, ev.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	tab.fake(t, fakes)
	tab.do(t, 10*time.Second,
		chromedp.ExposeFunc("fourwayCSPViolation", func(_ context.Context, v cspViolation) (chromedp.Void, error) {
			tab.mu.Lock()
			defer tab.mu.Unlock()
			tab.csp = append(tab.csp, v.String())
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
			return err
		}),
		chromedp.EmulateViewport(1440, 1000),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("panel-ws")),
	)
	return tab
}

func (b *browserTab) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// checkProblems fails the test if the page threw, logged an error, opened
// a dialog or violated its Content-Security-Policy.
func (b *browserTab) checkProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("page: %s", p)
	}
	for _, v := range b.csp {
		t.Errorf("page: Content-Security-Policy violation: %s", v)
	}
	b.problems, b.csp = nil, nil
}

// takeCSPViolations returns the violations reported so far and forgets them.
func (b *browserTab) takeCSPViolations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.csp
	b.csp = nil
	return v
}

// do runs actions with a deadline.
func (b *browserTab) do(t *testing.T, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%v\n%s", err, b.describe())
	}
}

// waitFor polls a JavaScript condition until it is true or timeout passes.
func (b *browserTab) waitFor(t *testing.T, what, condition string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](condition,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, b.describe())
	}
}

// screenshot saves the whole page as name in the test's artifact directory
// (kept with go test -artifacts -outputdir DIR).
func (b *browserTab) screenshot(t *testing.T, name string) {
	t.Helper()
	b.saveScreenshot(t, name, chromedp.FullScreenshot(100))
}

// saveScreenshot saves the image that capture takes.
func (b *browserTab) saveScreenshot(t *testing.T, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%s)", out, eval[string](t, b, `'page ' + document.documentElement.scrollWidth + ' px wide, viewport ' + document.documentElement.clientWidth + ' px, panels at ' + [...document.querySelectorAll('.panel')].map(p => Math.round(p.getBoundingClientRect().right)).join(',')`))
}

// eval returns the value of a JavaScript expression.
func eval[T any](t *testing.T, b *browserTab, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	return v
}

// describe is each panel's data attributes and state text, for failures.
func (b *browserTab) describe() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.panel')].map(p =>
		p.id + ' ' + JSON.stringify(p.dataset) + ' ' + p.querySelector('.state').textContent.trim()).join('\n')`))
	if err != nil {
		return "(panels unavailable: " + err.Error() + ")"
	}
	return s
}

// allPanels is a JavaScript condition that holds for every panel of the
// four transports (the fifth, "auto", has tests of its own).
func allPanels(condition string) string {
	return `[...document.querySelectorAll(` + fourPanels + `)].length === 4 &&
		[...document.querySelectorAll(` + fourPanels + `)].every(p => ` + condition + `)`
}

// fourPanels selects the panels of the four transports.
const fourPanels = `'.panel:not([data-transport="auto"])'`

// setPollInterval sets the short-poll interval control to seconds.
func (b *browserTab) setPollInterval(t *testing.T, seconds int) {
	t.Helper()
	// A deadline, not a wait: the page may be busy rendering what it just
	// received (TestPagePollAsksAgainWhenMore: 20 messages of 60 KB in
	// every panel), and on a loaded machine 5 s was not always enough.
	b.do(t, 20*time.Second,
		chromedp.SetValue(chromedp.ID("poll-interval"), fmt.Sprint(seconds)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('poll-interval').dispatchEvent(new Event('change'))`))
	b.waitFor(t, "the short poll on the new interval", fmt.Sprintf(
		`document.querySelector('#panel-poll .state-detail').textContent.includes('%d')`, seconds), 20*time.Second)
}

// publishFromForm types text into the page's publish form and sends it.
func (b *browserTab) publishFromForm(t *testing.T, text string) {
	t.Helper()
	b.do(t, 10*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('text').value = ''`),
		chromedp.SendKeys(chromedp.ID("text"), text),
		chromedp.Click(chromedp.ID("send")),
	)
}

// publishHTTP publishes text, as curl -d does.
func publishHTTP(t *testing.T, srv *transportstest.Server, text string) {
	t.Helper()
	if code, body := srv.Post(t, "text/plain", text); code != http.StatusCreated {
		t.Fatalf("publish: %d %s", code, body)
	}
}

// everyIDOnce is a condition: every panel received the ids after cursor
// up to last, each once.
func everyIDOnce(cursor, last int) string {
	return allPanels(fmt.Sprintf(`p.dataset.lastId === '%d' && p.dataset.received === '%d' &&
		p.dataset.gaps === '0' && p.dataset.dups === '0'`, last, last-cursor))
}

func TestPage(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)

	t.Run("all four panels open", func(t *testing.T) {
		tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	})
	tab.setPollInterval(t, 1) // the test waits less for the short poll

	published := 0
	t.Run("a message from the form appears in all four panels", func(t *testing.T) {
		tab.publishFromForm(t, "hello from the form")
		published++
		tab.waitFor(t, "the message in every panel", allPanels(
			`[...p.querySelectorAll('.messages li .text')].some(e => e.textContent === 'hello from the form')`),
			10*time.Second)
		tab.waitFor(t, "id 1 once everywhere", everyIDOnce(0, published), 10*time.Second)
	})

	t.Run("message data is shown as text and runs nothing", func(t *testing.T) {
		const evil = `<img src=x onerror=alert(1)>`
		tab.publishFromForm(t, evil)
		published++
		tab.waitFor(t, "the markup shown as text in every panel", allPanels(
			`[...p.querySelectorAll('.messages li .text')].some(e => e.textContent === '`+evil+`')`),
			10*time.Second)
		if n := eval[int](t, tab, `document.querySelectorAll('.messages img').length + document.images.length`); n != 0 {
			t.Errorf("%d img elements were created from message data", n)
		}
		tab.checkProblems(t) // a dialog would be reported here
	})

	t.Run("cut WebSocket and SSE resume with zero gaps", func(t *testing.T) {
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("cut-ws")), chromedp.Click(chromedp.ID("cut-sse")))
		for i := range 5 { // published while the two reconnect
			publishHTTP(t, srv, fmt.Sprintf("during the cut %d", i))
			published++
		}
		tab.waitFor(t, "both reconnected", `['ws', 'sse'].every(k => {
			const p = document.getElementById('panel-' + k);
			return p.dataset.reconnects >= 1 && p.dataset.state === 'open';
		})`, 15*time.Second)
		for i := range 5 {
			publishHTTP(t, srv, fmt.Sprintf("after the cut %d", i))
			published++
		}
		tab.waitFor(t, fmt.Sprintf("ids 1..%d once in every panel", published), everyIDOnce(0, published), 15*time.Second)
	})

	t.Run("over HTTP/1.1 each panel names http/1.1, and no node: a server alone", func(t *testing.T) {
		tab.waitFor(t, "http/1.1 in every panel (SSE's from its cut stream), ws:// said, slots in use, no node shown",
			panelsSay(map[string]string{"poll": "http/1.1", "longpoll": "http/1.1", "sse": "http/1.1", "ws": "http/1.1"})+` &&
			document.querySelector('#panel-ws .via-proto').textContent.startsWith('Over HTTP/1.1 (ws://):') &&
			document.getElementById('proto-note').dataset.kind === 'slots' &&
			`+allPanels(`p.dataset.node === '' && p.querySelector('.via-node').hidden`), 5*time.Second)
	})

	t.Run("auto-publish at 20 per second: every id once in every panel", func(t *testing.T) {
		setRate := func(n int) {
			tab.do(t, 5*time.Second,
				chromedp.SetValue(chromedp.ID("rate"), fmt.Sprint(n)),
				chromedp.Evaluate[chromedp.Void](`document.getElementById('rate').dispatchEvent(new Event('input'))`))
		}
		setRate(20)
		tab.waitFor(t, "40 more messages", fmt.Sprintf(`document.getElementById('panel-ws').dataset.lastId >= %d`, published+40), 15*time.Second)
		setRate(0)
		tab.waitFor(t, "every id once in every panel, up to the feed's last id", allPanels(
			`p.dataset.lastId === document.body.dataset.feedLastId && p.dataset.received === p.dataset.lastId &&
			p.dataset.gaps === '0' && p.dataset.dups === '0'`), 15*time.Second)
		tab.screenshot(t, "page.png") // the panels are full and alive now
	})

	t.Run("the page runs under the server's Content-Security-Policy, with no violation", func(t *testing.T) {
		_, _, resp := srv.Get(t, "/")
		if got := resp.Header.Get("Content-Security-Policy"); got != pagePolicy {
			t.Errorf("Content-Security-Policy of the page = %q, want %q", got, pagePolicy)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options of the page = %q, want DENY", got)
		}
		// Everything above ran under it: four transports, publishes, cuts.
		for _, v := range tab.takeCSPViolations() {
			t.Errorf("Content-Security-Policy violation: %s", v)
		}
		if n := eval[int](t, tab, `window.fourwayCSPViolations.length`); n != 0 {
			t.Errorf("%d violations in the page: %s", n, eval[string](t, tab, `JSON.stringify(window.fourwayCSPViolations)`))
		}
		// And "no violation" means something: the browser enforces the
		// policy, and the watch sees what it refuses. An inline script
		// (what an injected message would need) is refused and reported.
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`{
			const s = document.createElement('script');
			s.textContent = 'window.fourwayInlineRan = true';
			document.head.append(s);
		}`))
		tab.waitFor(t, "the inline script refused and reported",
			`window.fourwayCSPViolations.some(v => v.directive === 'script-src-elem' && v.blocked === 'inline')`, 5*time.Second)
		if eval[bool](t, tab, `window.fourwayInlineRan === true`) {
			t.Error("an inline script ran under the page's policy")
		}
		got := tab.waitCSPViolations(t, 1, 5*time.Second)
		if len(got) != 1 || !strings.HasPrefix(got[0], "script-src-elem blocked \"inline\"") {
			t.Errorf("violations reported to the test = %q, want the one inline script", got)
		}
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.fourwayCSPViolations = []`))
	})

	t.Run("offline, then backoff and resume with zero gaps", func(t *testing.T) {
		// A fresh load, with the offline switch shortened to 3 s.
		tab.do(t, 10*time.Second, chromedp.Navigate(srv.URL+"/?offline=2"))
		tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
		tab.setPollInterval(t, 1)
		cursor := eval[int](t, tab, `Number(document.getElementById('panel-ws').dataset.lastId)`)
		published = cursor
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
		tab.waitFor(t, "every panel reconnecting", allPanels(`p.dataset.state === 'reconnecting'`), 5*time.Second)
		for i := range 5 {
			publishHTTP(t, srv, fmt.Sprintf("while offline %d", i))
			published++
		}
		tab.waitFor(t, "every panel reconnected", allPanels(
			`p.dataset.reconnects >= 1 && p.dataset.state === 'open'`), 25*time.Second)
		publishHTTP(t, srv, "back online")
		published++
		tab.waitFor(t, fmt.Sprintf("ids %d..%d once in every panel", cursor+1, published),
			everyIDOnce(cursor, published), 15*time.Second)
	})

	t.Run("the language switch changes the text", func(t *testing.T) {
		if got := eval[string](t, tab, `document.getElementById('controls-h').textContent`); got != "Controls" {
			t.Fatalf("heading before the switch = %q, want Controls", got)
		}
		tab.do(t, 5*time.Second,
			chromedp.SetValue(chromedp.ID("lang"), "zh"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').dispatchEvent(new Event('change'))`),
		)
		tab.waitFor(t, "Chinese text", `document.getElementById('controls-h').textContent === '控制' &&
			document.documentElement.lang === 'zh-CN' &&
			document.querySelector('#panel-ws .state-word').textContent === '已连接'`, 5*time.Second)
		tab.screenshot(t, "page-zh.png")
	})

	t.Run("usable at 360 px wide", func(t *testing.T) {
		tab.do(t, 5*time.Second, chromedp.EmulateViewport(360, 800))
		// One panel at a time, chosen in the strip that names all five.
		shown := `[...document.querySelectorAll('.panel')].filter(p => p.getClientRects().length > 0)`
		tab.waitFor(t, "no horizontal scrolling, one panel shown, the strip's buttons in one or two columns", `
			document.documentElement.scrollWidth <= 360 && `+shown+`.length === 1 &&
			new Set([...document.querySelectorAll('.strip button')].map(b => b.getBoundingClientRect().left)).size <= 2`,
			5*time.Second)
		tab.screenshot(t, "page-360.png")
		tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("strip-ws")))
		tab.waitFor(t, "the WebSocket's panel, alone", shown+`.map(p => p.id).join() === 'panel-ws' && document.documentElement.scrollWidth <= 360`, 5*time.Second)
		tab.saveScreenshot(t, "page-360-ws.png", chromedp.CaptureScreenshot())
	})
}

// pagePolicy is the Content-Security-Policy the server sends with the page.
const pagePolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// waitCSPViolations waits until at least n violations have reached the
// test, and takes them.
func (b *browserTab) waitCSPViolations(t *testing.T, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		b.mu.Lock()
		got := len(b.csp)
		b.mu.Unlock()
		if got >= n {
			return b.takeCSPViolations()
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%d Content-Security-Policy violations reached the test in %v, want %d", got, timeout, n)
		}
	}
}

// TestPageThreeTabs opens the page three times in one browser. Each tab's
// SSE stream and long poll hold a connection, and a browser allows six per
// host over HTTP/1.1: the page shares four of them between its tabs (Web
// Locks), so short requests never hang, and a panel without one says it
// waits instead of hanging silently. A hidden tab lends its connections to
// a tab that waits, and resumes from its cursors when it has them again.
func TestPageThreeTabs(t *testing.T) {
	srv := startServer(t, nil)
	first := openPage(t, srv)
	defer first.checkProblems(t)
	first.waitFor(t, "tab 1 open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	first.setPollInterval(t, 1)
	second, _ := first.newTab(t, srv.URL+"/")
	defer second.checkProblems(t)
	second.waitFor(t, "tab 2 open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	second.setPollInterval(t, 1)
	third, closeThird := first.newTab(t, srv.URL+"/")
	defer third.checkProblems(t)
	third.waitFor(t, "tab 3: WebSocket and short poll open, SSE and long poll waiting for a connection", `
		['ws', 'poll'].every(k => document.getElementById('panel-' + k).dataset.state === 'open') &&
		['sse', 'longpoll'].every(k => document.getElementById('panel-' + k).dataset.why === 'slot') &&
		document.getElementById('limit-note').dataset.kind === 'slot'`, 15*time.Second)
	third.setPollInterval(t, 1)

	// Headless tabs are all visible: tell tab 2 it is hidden, as a
	// browser does when another tab is brought to the front.
	second.setVisibility(t, "hidden")
	second.waitFor(t, "tab 2 lends its held connections", `
		['sse', 'longpoll'].every(k => document.getElementById('panel-' + k).dataset.why === 'hidden')`, 10*time.Second)
	third.waitFor(t, "tab 3 open with them", allPanels(`p.dataset.state === 'open'`), 10*time.Second)

	third.publishFromForm(t, "from the third tab")
	first.waitFor(t, "the message in every panel of tab 1", everyIDOnce(0, 1), 10*time.Second)
	third.waitFor(t, "the message in every panel of tab 3", everyIDOnce(0, 1), 10*time.Second)

	second.setVisibility(t, "visible")
	second.waitFor(t, "tab 2 shown, waiting for a connection", `
		['sse', 'longpoll'].every(k => document.getElementById('panel-' + k).dataset.why === 'slot')`, 10*time.Second)
	closeThird()
	second.waitFor(t, "tab 2 open again once tab 3 closed, every id once", allPanels(`p.dataset.state === 'open'`)+
		" && "+everyIDOnce(0, 1), 15*time.Second)
}

// setVisibility makes the page believe it is hidden or visible.
func (b *browserTab) setVisibility(t *testing.T, state string) {
	t.Helper()
	b.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '`+state+`' });
		document.dispatchEvent(new Event('visibilitychange'))`))
}

// TestPageMissed: a client that comes back after more messages than the
// server retains is told how many it missed, and that is not a gap.
func TestPageMissed(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) { c.History = 3 })
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.do(t, 10*time.Second, chromedp.Navigate(srv.URL+"/?offline=1"))
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	publishHTTP(t, srv, "before")
	tab.waitFor(t, "id 1 everywhere", everyIDOnce(0, 1), 10*time.Second)
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
	for i := range 10 { // ids 2..11; the server keeps 9..11
		publishHTTP(t, srv, fmt.Sprintf("while offline %d", i))
	}
	tab.waitFor(t, "7 missed (2..8), then 9..11 once, in every panel", allPanels(
		`p.dataset.missed === '7' && p.dataset.lastId === '11' && p.dataset.received === '4' &&
		p.dataset.gaps === '0' && p.dataset.dups === '0' && p.querySelector('.messages .note') !== null`),
		15*time.Second)
}

// TestPageNoReconnectAfterReplaced: a WebSocket closed with 4500 (a newer
// connection with the same client id replaced it) must not reconnect, or
// the two would replace each other forever.
func TestPageNoReconnectAfterReplaced(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	client := eval[string](t, tab, `document.getElementById('panel-ws').dataset.client`)
	srv.DialWS(t, "client="+client)
	want := "(close code 4500: " + closeMeaning(t, srv, 4500) + ")"
	tab.waitFor(t, "the WebSocket closed with 4500, in the server's words", `document.getElementById('panel-ws').dataset.state === 'closed' &&
		document.querySelector('#panel-ws .state-detail').textContent === `+jsString(want), 10*time.Second)
	publishHTTP(t, srv, "after the replacement")
	tab.waitFor(t, "the message in the three other panels", `['poll', 'longpoll', 'sse'].every(k =>
		document.getElementById('panel-' + k).dataset.lastId === '1')`, 10*time.Second)
	if got := eval[string](t, tab, `JSON.stringify(document.getElementById('panel-ws').dataset)`); !strings.Contains(got, `"state":"closed"`) || !strings.Contains(got, `"received":"0"`) {
		t.Errorf("the replaced WebSocket came back: %s", got)
	}
}

// TestPageServerRestart: a restarted server starts its ids over at 1, under
// a new epoch. A panel that holds cursor 10 of the old server must not take
// the new server's 11 and 12 for the continuation of its 1..10, silently
// skipping the new 1..10: each is told of the reset, continues from 0 of
// the new epoch, and shows the new server's messages from id 1, each once.
func TestPageServerRestart(t *testing.T) {
	first := startServer(t, nil)
	tab := openPage(t, first)
	defer tab.checkProblems(t)
	tab.do(t, 10*time.Second, chromedp.Navigate(first.URL+"/?offline=5"))
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 1)
	for i := range 10 {
		publishHTTP(t, first, fmt.Sprintf("first server %d", i+1))
	}
	tab.waitFor(t, "ids 1..10 once in every panel", everyIDOnce(0, 10), 15*time.Second)
	epochs := []string{first.Epoch(t)}
	tab.waitFor(t, "every panel on the first server's epoch", allPanels(`p.dataset.epoch === '`+epochs[0]+`'`), 5*time.Second)

	// Restart behind the offline switch: the clients are held off until
	// the new server has 12 messages, so each comes back with cursor 10,
	// which that server has too: only the epoch tells them apart.
	tab.do(t, 5*time.Second, chromedp.Click(chromedp.ID("offline")))
	tab.waitFor(t, "every panel reconnecting", allPanels(`p.dataset.state === 'reconnecting'`), 5*time.Second)
	second := first.Restart(t, withPage(nil))
	for i := range 12 {
		publishHTTP(t, second, fmt.Sprintf("second server %d", i+1))
	}
	if !eval[bool](t, tab, `document.getElementById('offline').getAttribute('aria-pressed') === 'true'`) {
		t.Log("the restart outlasted the offline switch: a client that came back early was reset for a cursor ahead of the feed, not for its epoch")
	}
	epochs = append(epochs, second.Epoch(t))
	if epochs[1] == epochs[0] {
		t.Fatalf("the restarted server has the same epoch %q", epochs[1])
	}
	tab.waitFor(t, "every panel: a reset, then the second server's 1..12, each once",
		restartedPanels(epochs[1], 10, 12), 60*time.Second) // a retry may wait up to 20 s: each client's backoff

	// Restart as in life, no switch: the server shuts down (WebSocket 1001,
	// the SSE stream ends, the held long poll is answered) and comes back,
	// while the clients retry on their own (SSE first with the browser's
	// Last-Event-ID, which carries the epoch).
	third := second.Restart(t, withPage(nil))
	for i := range 15 {
		publishHTTP(t, third, fmt.Sprintf("third server %d", i+1))
	}
	epochs = append(epochs, third.Epoch(t))
	tab.waitFor(t, "every panel: a second reset, then the third server's 1..15, each once",
		restartedPanels(epochs[2], 10, 12, 15), 60*time.Second)
}

// restartedPanels is a condition: every panel is open on epoch, went
// through one reset per server after the first, and its list, newest first,
// is exactly each server's messages from its id 1, the newest server's
// first, a reset notice between two servers: nothing skipped, nothing
// twice. counts are the messages of each server, oldest server first.
func restartedPanels(epoch string, counts ...int) string {
	var want []string
	total := 0
	for i := len(counts) - 1; i >= 0; i-- {
		for id := counts[i]; id >= 1; id-- {
			want = append(want, strconv.Itoa(id))
		}
		if i > 0 {
			want = append(want, "reset")
		}
		total += counts[i]
	}
	return allPanels(fmt.Sprintf(`p.dataset.state === 'open' && p.dataset.epoch === '%s' &&
		p.dataset.resets === '%d' && p.dataset.received === '%d' && p.dataset.lastId === '%d' &&
		p.dataset.gaps === '0' && p.dataset.dups === '0' &&
		[...p.querySelectorAll('.messages li')]
			.filter(li => !li.dataset.note || li.dataset.note === 'reset')
			.map(li => li.dataset.note ?? li.dataset.id).join(',') === '%s'`,
		epoch, len(counts)-1, total, counts[len(counts)-1], strings.Join(want, ",")))
}

// TestPagePollAsksAgainWhenMore: an answer with "more":true was cut short
// and the server already has the rest, so the short poll asks again at
// once instead of waiting for its next tick. The page here is cut by the
// server's 1 MiB cap on an answer's messages, 17 of 20 messages of 60 kB:
// far fewer than the poll's limit of 100, so a client that counted the
// messages would wait the whole interval for the last 3.
func TestPagePollAsksAgainWhenMore(t *testing.T) {
	srv := startServer(t, nil)
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	tab.setPollInterval(t, 60)
	big := strings.Repeat("x", 60_000)
	for range 20 {
		publishHTTP(t, srv, big)
	}
	requests := srv.Stats(t).Transports["poll"].Requests // the page shows its next poll in 60 s: none is on its way
	tab.setPollInterval(t, 59)                           // a new interval polls now, then waits 59 s
	tab.waitFor(t, "all 20 in the short poll before its next tick", `(() => {
		const p = document.getElementById('panel-poll');
		return p.dataset.lastId === '20' && p.dataset.received === '20';
	})()`, 15*time.Second)
	if got := srv.Stats(t).Transports["poll"].Requests; got != requests+2 {
		t.Errorf("the short poll made %d requests for the 20, want 2 (17 with more, then 3)", got-requests)
	}
	tab.waitFor(t, "all 20 once in every panel", everyIDOnce(0, 20), 15*time.Second)
}

// fake answers the tab's requests for one path in the server's place,
// through the DevTools protocol's Fetch domain: the page's own code makes
// each request and reads the answer, as it would from a server. answer
// returns nil to let a request through to the server.
type fake struct {
	path   string
	answer func(*url.URL) *fakeAnswer
}

// fakeAnswer is an HTTP answer made up by a test.
type fakeAnswer struct {
	status      int
	contentType string
	body        string
}

// fake makes the tab's requests for the paths of fakes wait for the test,
// which answers them (or lets them through) as they come.
func (b *browserTab) fake(t *testing.T, fakes []fake) {
	t.Helper()
	if len(fakes) == 0 {
		return
	}
	byPath := map[string]fake{}
	var patterns []*fetch.RequestPattern
	for _, f := range fakes {
		byPath[f.path] = f
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*" + f.path + "*"})
	}
	paused := chromedp.Events(b.ctx, fetch.RequestPaused) // subscribed from now: none is missed
	b.do(t, 5*time.Second, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, fetch.Enable, fetch.EnableParams{Patterns: patterns})
		return err
	}))
	go func() { // ends with the tab
		for ev, err := range paused {
			if err != nil {
				return
			}
			var a *fakeAnswer
			if u, err := url.Parse(ev.Request.URL); err == nil {
				if f, ok := byPath[u.Path]; ok {
					a = f.answer(u)
				}
			}
			chromedp.Run(b.ctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
				if a == nil {
					_, err := cdp.Call(ctx, target, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
					return err
				}
				_, err := cdp.Call(ctx, target, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:    ev.RequestID,
					ResponseCode: int64(a.status),
					ResponseHeaders: []*fetch.HeaderEntry{
						{Name: "Content-Type", Value: a.contentType},
						{Name: "Cache-Control", Value: "no-store"},
					},
					Body: []byte(a.body),
				})
				return err
			}))
		}
	}()
}

// serverConfig reads GET /api/config, as it is and as raw JSON.
func serverConfig(t *testing.T, srv *transportstest.Server) (wire.Config, map[string]any) {
	t.Helper()
	code, body, _ := srv.Get(t, "/api/config")
	var c wire.Config
	var raw map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &c) != nil || json.Unmarshal([]byte(body), &raw) != nil {
		t.Fatalf("GET /api/config: %d %s", code, body)
	}
	return c, raw
}

// closeMeaning is the server's meaning of a WebSocket close code.
func closeMeaning(t *testing.T, srv *transportstest.Server, code int) string {
	t.Helper()
	c, _ := serverConfig(t, srv)
	for _, row := range c.WS.CloseCodes {
		if row.Code == code {
			return row.Meaning
		}
	}
	t.Fatalf("GET /api/config has no close code %d", code)
	return ""
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// state is a condition: the panel of transport is in the state name, for
// why ("" for any).
func state(transport, name, why string) string {
	c := fmt.Sprintf(`document.getElementById('panel-%s').dataset.state === '%s'`, transport, name)
	if why != "" {
		c += fmt.Sprintf(` && document.getElementById('panel-%s').dataset.why === '%s'`, transport, why)
	}
	return c
}

// detail is the JavaScript text of a panel's state detail.
func detail(transport string) string {
	return `document.querySelector('#panel-` + transport + ` .state-detail').textContent`
}

// TestPageQuotesTheServersSettings: what the page says of the server's
// settings is what the server says, not a copy: a server with another
// long-poll hold, SSE keepalive and heartbeat than the defaults shows them.
func TestPageQuotesTheServersSettings(t *testing.T) {
	srv := startServer(t, func(c *transports.Config) {
		c.LongPollTimeout = 7 * time.Second
		c.SSEKeepalive = 4 * time.Second
		c.Heartbeat = 6 * time.Second
	})
	tab := openPage(t, srv)
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)
	cfg, _ := serverConfig(t, srv)

	if got := eval[string](t, tab, `document.getElementById('lp-timeout').value`); got != "7" {
		t.Errorf("the long-poll timeout control shows %q, want the server's hold, 7", got)
	}
	if got, want := eval[string](t, tab, `document.getElementById('lp-timeout').max`), fmt.Sprint(cfg.LongPoll.TimeoutMaxMS/1000); got != want {
		t.Errorf("the long-poll timeout control goes up to %q, want the server's maximum, %s", got, want)
	}
	tab.waitFor(t, "the long poll holding for the server's 7 s", detail("longpoll")+` === 'a request waits at the server, up to 7 s'`, 15*time.Second)
	tab.waitFor(t, "the WebSocket pinging on the hello's heartbeat", detail("ws")+` === 'app ping every 6 s'`, 5*time.Second)
	if got := eval[string](t, tab, `document.querySelector('#panel-sse [data-part="cost"]').textContent`); !strings.Contains(got, "every 4 s") {
		t.Errorf("the SSE explanation says %q, want the server's keepalive, every 4 s", got)
	}
	tab.do(t, 5*time.Second,
		chromedp.SetValue(chromedp.ID("lang"), "zh"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').dispatchEvent(new Event('change'))`))
	if got := eval[string](t, tab, `document.querySelector('#panel-sse [data-part="cost"]').textContent`); !strings.Contains(got, "每 4 秒") {
		t.Errorf("the SSE explanation in Chinese says %q, want the server's keepalive, 每 4 秒", got)
	}
}

// TestPageFollowsTheServedSettings: the page takes the long poll's bounds
// and the close-code table from GET /api/config, so a server that served
// others would be followed. The test serves them in the server's place:
// a hold of 5 s up to 9 s, 4500 (replaced) to be retried with backoff, and
// 1001 (shutting down) to be final, each with a meaning of its own.
func TestPageFollowsTheServedSettings(t *testing.T) {
	srv := startServer(t, nil)
	_, raw := serverConfig(t, srv)
	raw["longpoll"].(map[string]any)["timeout_ms"] = 5000
	raw["longpoll"].(map[string]any)["timeout_max_ms"] = 9000
	for _, row := range raw["ws"].(map[string]any)["close_codes"].([]any) {
		row := row.(map[string]any)
		switch row["code"].(float64) {
		case 4500:
			row["reconnect"], row["meaning"] = "backoff", "replaced, as served"
		case 1001:
			row["reconnect"], row["meaning"] = "never", "shutting down, as served"
		}
	}
	served, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	tab := openPage(t, srv, fake{"/api/config", func(*url.URL) *fakeAnswer {
		return &fakeAnswer{http.StatusOK, "application/json", string(served)}
	}})
	defer tab.checkProblems(t)
	tab.waitFor(t, "every panel open", allPanels(`p.dataset.state === 'open'`), 15*time.Second)

	t.Run("the long-poll timeout is bounded by the served maximum", func(t *testing.T) {
		tab.waitFor(t, "the long poll holding for the served 5 s", detail("longpoll")+` === 'a request waits at the server, up to 5 s'`, 10*time.Second)
		tab.do(t, 5*time.Second, chromedp.Evaluate[chromedp.Void](`{ // as typed: the page may change the value on change
			const c = document.getElementById('lp-timeout');
			c.value = '60';
			c.dispatchEvent(new Event('change'));
		}`))
		if got := eval[string](t, tab, `document.getElementById('lp-timeout').value`); got != "9" {
			t.Errorf("the control shows %q after 60 was asked for, want the served maximum, 9", got)
		}
		publishHTTP(t, srv, "answers the long poll that waits")
		tab.waitFor(t, "the long poll asking for 9 s", detail("longpoll")+` === 'a request waits at the server, up to 9 s'`, 10*time.Second)
	})

	t.Run("4500 served as backoff: the replaced WebSocket comes back", func(t *testing.T) {
		client := eval[string](t, tab, `document.getElementById('panel-ws').dataset.client`)
		other := srv.DialWS(t, "client="+client)
		other.ClosedWith(t, 4500) // the page came back with its client id, and replaced this one in turn
		tab.waitFor(t, "the WebSocket open again", `document.getElementById('panel-ws').dataset.reconnects >= 1 && `+
			state("ws", "open", ""), 10*time.Second)
	})

	t.Run("1001 served as final, with the served meaning", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		tab.waitFor(t, "the WebSocket closed for good", state("ws", "closed", "")+" && "+
			detail("ws")+` === '(close code 1001: shutting down, as served)'`, 10*time.Second)
	})
}

// TestPageSSECountdownFromHello: while EventSource reconnects by itself,
// the SSE panel counts down the hello's retry_ms, the delay the server told
// the browser. The first stream here is the test's: a hello with a retry of
// 5 s (the server's is 2 s), then the end of the stream.
func TestPageSSECountdownFromHello(t *testing.T) {
	srv := startServer(t, nil)
	epoch := srv.Epoch(t)
	var once sync.Once
	tab := openPage(t, srv, fake{"/api/sse", func(*url.URL) *fakeAnswer {
		var a *fakeAnswer
		once.Do(func() {
			a = &fakeAnswer{http.StatusOK, "text/event-stream", "id: " + epoch + ":0\nevent: hello\nretry: 5000\n" +
				`data: {"next":0,"epoch":"` + epoch + `","retry_ms":5000,"keepalive_ms":15000}` + "\n\n"}
		})
		return a // the browser's retry, and every stream after, go to the server
	}})
	defer tab.checkProblems(t)
	tab.waitFor(t, "the browser retrying with the hello's 5 s", state("sse", "reconnecting", "browser")+` &&
		Number(document.querySelector('#panel-sse .state-word').textContent.match(/reconnecting in (\d+) s/)?.[1]) >= 3`, 10*time.Second)
	tab.waitFor(t, "SSE open on the server's stream", state("sse", "open", ""), 10*time.Second)
	publishHTTP(t, srv, "on the real stream")
	tab.waitFor(t, "id 1 in the SSE panel, resumed from the hello's position",
		`document.getElementById('panel-sse').dataset.lastId === '1' && document.getElementById('panel-sse').dataset.resets === '0'`, 10*time.Second)
}

// TestPageSaysWhenItCannotReadItsSettings: without the server's settings
// the page guesses none: it says so, starts no client, and asks again
// until it has them. Here GET /api/config fails with 503, then answers
// with JSON that lacks them, then goes through, each until the test has
// seen what the page made of it.
func TestPageSaysWhenItCannotReadItsSettings(t *testing.T) {
	srv := startServer(t, nil)
	const (
		failing = iota // 503
		empty          // 200 {}
		through        // the server's answer
	)
	var mu sync.Mutex
	phase, asked := failing, 0
	setPhase := func(p int) {
		mu.Lock()
		defer mu.Unlock()
		phase, asked = p, 0
	}
	askedTwice := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return asked >= 2
	}
	tab := openPage(t, srv, fake{"/api/config", func(*url.URL) *fakeAnswer {
		mu.Lock()
		defer mu.Unlock()
		asked++
		switch phase {
		case failing:
			return &fakeAnswer{http.StatusServiceUnavailable, "application/json", `{"error":"settings unavailable (test)"}`}
		case empty:
			return &fakeAnswer{http.StatusOK, "application/json", `{}`}
		}
		return nil
	}})
	defer tab.checkProblems(t)
	note := `document.getElementById('config-note')`
	waiting := allPanels(`p.dataset.state === 'waiting' && p.dataset.why === 'config'`)

	transportstest.Await(t, "the page asking twice", askedTwice)
	tab.waitFor(t, "the note on the failed request, every panel waiting", `!`+note+`.hidden && `+
		note+`.textContent.includes('GET /api/config: settings unavailable (test)') && `+waiting, 10*time.Second)
	setPhase(empty)
	transportstest.Await(t, "the page asking twice more", askedTwice)
	tab.waitFor(t, "the note on the answer without the settings, every panel waiting", `!`+note+`.hidden && `+
		note+`.textContent.includes('the answer has no longpoll.timeout_ms') && `+waiting, 10*time.Second)
	for k, s := range srv.Stats(t).Transports {
		if s.Requests != 0 {
			t.Errorf("%s: %d requests without the settings, want none", k, s.Requests)
		}
	}
	setPhase(through)
	tab.waitFor(t, "every panel open once the settings are read, the note gone",
		allPanels(`p.dataset.state === 'open'`)+` && `+note+`.hidden`, 30*time.Second)
}
