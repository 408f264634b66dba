package load

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/transports/links"
)

// dialectFor is how the bench talks to a target: fourway, or nchan.
func dialectFor(target string) dialect {
	if target == "nchan" {
		return nchan{}
	}
	return fourway{}
}

// Options are how Measure runs a scenario, beside the scenario itself.
type Options struct {
	Headers  http.Header // request headers every subscriber sends beside its own
	Progress *Progress   // what the progress line shows
	Label    string      // the scenario, as the progress line names it
}

// measurement is one scenario being measured, step by step: the server
// started and primed, the subscribers connected, the publisher run over
// the warm-up and the window, every message drained; what it finds is
// its outcome.
type measurement struct {
	outcome
	how     Options
	d       dialect
	pubHTTP *http.Client // the publisher's, and the bench's own requests'
	subBase string       // where the subscribers reach the server: its Base, or its scenario's link
	cursor  string       // the primer's id, where every subscriber starts
	win     *window

	t0      time.Time // when the first subscriber was due to connect
	subs    []*sub    // in the order they connect
	runs    []func(context.Context, *sub)
	started sync.WaitGroup // the subscribers' goroutines
}

// Measure measures one scenario on the server start starts, and returns
// its results: one per transport, so one for a scenario of one transport,
// and one per transport of a mixed scenario, whose subscribers all
// connect to the same server at once.
func Measure(ctx context.Context, sc plan.Scenario, start func(context.Context) (*Server, error), how Options) (results []record.Result, err error) {
	m := &measurement{outcome: outcome{sc: sc}, how: how, d: dialectFor(sc.Target), win: &window{}}
	if err := m.makeGroups(); err != nil {
		return nil, err
	}
	how.Progress.Set(how.Label, "starting server", 0)
	if m.srv, err = start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if e := m.srv.Stop(); e != nil && err == nil {
			for i := range results {
				results[i].Notes = append(results[i].Notes, "server stop: "+e.Error())
			}
		}
	}()
	m.subBase = m.srv.Base
	if sc.Link != "" {
		link, p, base, err := throughLink(sc.Link, m.srv.Base)
		if err != nil {
			return nil, err
		}
		defer link.Close() // after the subscribers have stopped, before the server
		m.subBase = base
		m.outage = linkOutage(link, p, time.Duration(sc.Outage))
	}
	m.pubHTTP = PublisherClient(sc.Proto, sc.Publishers)
	defer m.pubHTTP.CloseIdleConnections()
	if err := m.prime(ctx); err != nil {
		return nil, err
	}
	if m.config, err = m.d.config(ctx, m.pubHTTP, m.srv.Base); err != nil {
		return nil, err
	}
	subCtx, stopSubs := context.WithCancel(ctx)
	defer func() { stopSubs(); m.started.Wait() }()
	m.connect(ctx, subCtx)
	if err := m.waitConnected(ctx); err != nil {
		return nil, err
	}
	m.publish(ctx)
	m.waitDrained(ctx)
	stopSubs()
	m.started.Wait()
	return m.results(), nil
}

// throughLink starts the emulated link name in front of the server at
// base, and returns it, its profile and the base URL that reaches the
// server through it. A link that goes silent by itself (train) is
// started without its silences: the bench raises them from the window's
// start (linkOutage), so that the report can say what each met.
func throughLink(name, base string) (*links.Link, links.Profile, string, error) {
	p, err := links.Lookup(name)
	if err != nil {
		return nil, p, "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, p, "", fmt.Errorf("the server's address %q: %w", base, err)
	}
	quiet := p
	quiet.OutageEvery, quiet.OutageFor = 0, 0
	l, err := links.Start(quiet, "127.0.0.1:0", u.Host)
	if err != nil {
		return nil, p, "", err
	}
	u.Host = l.Addr()
	return l, p, u.String(), nil
}

// makeGroups makes a group for each of the scenario's transports, with
// the dialect's client for it.
func (m *measurement) makeGroups() error {
	for _, tr := range m.sc.Transports() {
		run := m.d.subscriber(tr)
		if run == nil {
			return fmt.Errorf("%s has no transport %q", m.d.name(), tr)
		}
		m.groups = append(m.groups, &group{transport: tr, run: run, hists: NewHistSet(16)})
	}
	return nil
}

// prime publishes the primer every subscriber starts from, waits until
// the server's nodes hold it, and reads the server's memory before any
// subscriber.
func (m *measurement) prime(ctx context.Context) error {
	var err error
	if m.cursor, err = m.d.primer(ctx, m.pubHTTP, m.srv.Base); err != nil {
		return err
	}
	if m.srv.Primed != nil {
		if err := m.srv.Primed(ctx, m.cursor); err != nil {
			return err
		}
	}
	m.rssBefore, m.rssOK = m.srv.rss()
	return nil
}

// connect starts the subscribers, spread over the stagger, the
// transports of a mixed scenario taking turns; short pollers' timetables
// are spread evenly over one interval.
func (m *measurement) connect(ctx, subCtx context.Context) {
	sc := m.sc
	m.t0 = time.Now()
	for i := range sc.Subs {
		for _, g := range m.groups {
			s := newSub(i)
			s.base, s.cursor, s.headers, s.win, s.hist = m.subBase, m.cursor, m.how.Headers, m.win, g.hists.shard(i)
			s.proto, s.compress = sc.Proto, sc.Compress
			s.rules.herd, s.rules.hold = sc.Herd, int(m.config.LongPoll.TimeoutMS/1000)
			s.rules.heartbeat = time.Duration(m.config.WS.HeartbeatMS) * time.Millisecond
			if b := plan.BaseTransport(g.transport); i == 0 && (b == "poll" || b == "longpoll") {
				s.reqUp = make([]atomic.Int64, reqUpKept) // one subscriber's: HPACK's first request against its hundredth
			}
			s.interval = time.Duration(sc.PollInterval)
			s.phase = m.t0.Add(time.Duration(sc.Stagger)).Add(time.Duration(i) * s.interval / time.Duration(sc.Subs))
			s.meter.from = sourceAddr(i, sc.SourceAddrs)
			g.subs = append(g.subs, s)
			m.subs = append(m.subs, s)
			m.runs = append(m.runs, g.run)
		}
	}
	delivered := func() int64 {
		var n int64
		for _, s := range m.subs {
			n += s.distinct.Load()
		}
		return n
	}
	m.how.Progress.delivered.Store(&delivered)
	m.how.Progress.published.Store(0)
	m.how.Progress.Set(m.how.Label, "connecting", Mono()+int64(sc.Stagger))
	for k, s := range m.subs {
		if !SleepUntil(ctx, m.t0.Add(time.Duration(k)*time.Duration(sc.Stagger)/time.Duration(len(m.subs)))) {
			break
		}
		m.started.Add(1)
		go func() { defer m.started.Done(); m.runs[k](subCtx, s) }()
	}
}

// waitConnected waits until every subscriber is connected, or says which
// one is not, and why; then reads the server's memory with all of them
// connected and idle.
func (m *measurement) waitConnected(ctx context.Context) error {
	sc, t0 := m.sc, m.t0
	readyBy := time.After(time.Duration(sc.Stagger) + 30*time.Second + 2*time.Duration(sc.PollInterval))
	for k, s := range m.subs {
		who := fmt.Sprintf("subscriber %d", s.idx)
		if len(m.groups) > 1 {
			who = fmt.Sprintf("%s subscriber %d", m.groups[k%len(m.groups)].transport, s.idx)
		}
		select {
		case <-s.ready:
		case <-s.stopped:
			return fmt.Errorf("%s gave up: %s", who, *s.lastErr.Load())
		case <-readyBy:
			last := "no error"
			if e := s.lastErr.Load(); e != nil {
				last = *e
			}
			return fmt.Errorf("%s not connected after %s (last error: %s)", who, time.Since(t0).Round(time.Millisecond), last)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.connectSeconds = time.Since(t0).Seconds()
	// Memory with every subscriber connected and idle. The pause lets the
	// server finish setting up the last connections; it is measurement,
	// not synchronisation.
	m.how.Progress.Set(m.how.Label, "idle", 0)
	SleepUntil(ctx, time.Now().Add(300*time.Millisecond))
	m.rssIdle, _ = m.srv.rss()
	return nil
}

// publish runs the publisher open loop over the warm-up and the window,
// and reads the server's, the bench's and the machine's counters at the
// window's start and end.
func (m *measurement) publish(ctx context.Context) {
	sc, prog := m.sc, m.how.Progress
	pubStart := time.Now().Add(10 * time.Millisecond)
	winStart := pubStart.Add(time.Duration(sc.Warmup))
	winEnd := winStart.Add(time.Duration(sc.Duration))
	m.win.end.Store(int64(winEnd.Sub(epoch)))
	m.win.start.Store(int64(winStart.Sub(epoch)))
	if m.outage != nil {
		m.outage.plan(m.win, winStart, winEnd)
		go m.outage.run(ctx, m.win)
	}
	if sc.Storm != "" {
		m.storm = &storm{kind: sc.Storm, srv: m.srv, c: m.pubHTTP, done: make(chan struct{})}
		go m.storm.run(ctx, m.win, winStart, winEnd)
	}
	m.pub = &publisher{d: m.d, c: m.pubHTTP, base: m.srv.Base, rate: sc.Rate, size: sc.Payload, kind: sc.PayloadKind, workers: sc.Publishers, prog: prog}
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); m.pub.run(ctx, pubStart, winEnd) }()

	prog.Set(m.how.Label, "warm-up", int64(winStart.Sub(epoch)))
	SleepUntil(ctx, winStart)
	m.windowStart = read(ctx, m.pubHTTP, m.srv, true)
	prog.Set(m.how.Label, "measuring", int64(winEnd.Sub(epoch)))
	SleepUntil(ctx, winEnd)
	m.finish = read(ctx, m.pubHTTP, m.srv, false)
	<-pubDone
}

// waitDrained waits until every subscriber has every acknowledged
// message, or the deadline says it never will.
func (m *measurement) waitDrained(ctx context.Context) {
	want := m.pub.acked.Load()
	m.drain = 5*time.Second + 2*time.Duration(m.sc.PollInterval)
	m.how.Progress.Set(m.how.Label, "draining", Mono()+int64(m.drain))
	deadline := time.Now().Add(m.drain)
	for _, s := range m.subs {
		for s.distinct.Load() < want && !s.hasStopped() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond) // polling a counter, bounded by the deadline
		}
	}
	m.drained = time.Now().Before(deadline)
}
