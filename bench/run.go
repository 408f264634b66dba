package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// dialect is how the bench talks to one kind of server.
type dialect interface {
	name() string
	publish(ctx context.Context, c *http.Client, base string, data []byte) error
	primer(ctx context.Context, c *http.Client, base string) (cursor string, err error)
	subscriber(transport string) func(context.Context, *sub)
}

// server is a running server under test.
type server struct {
	base string
	// parts returns the processes that make up the server, each with the
	// processes whose CPU is its and those whose resident memory is: one
	// for a fourway child, master and workers for nginx, every node, NATS
	// server and the proxy for a cluster. nil when the server is not
	// local and no -pids were given.
	parts func() []procPart
	// primed, when set, is called with the primer's id before any
	// subscriber starts: several nodes behind one URL wait until each has
	// the primer, so a subscriber starting from it is on time on any node.
	primed func(ctx context.Context, cursor string) error
	stop   func() error
	// nodes are the fourway nodes the bench started for it, whose
	// /api/stats together count every byte of the row (serverbytes.go);
	// none for Nchan and for a server the bench did not start.
	nodes []string
}

// procPart is one process of the server (or a process and its children,
// nginx's master and workers), as the report shows it.
type procPart struct {
	Name string
	CPU  []int // processes whose CPU is the part's
	RSS  []int // processes whose resident memory is the part's
}

// partsCPU reads the CPU seconds of every part, and their sum.
func (s *server) partsCPU() (sum float64, each []float64, ok bool) {
	if s.parts == nil {
		return 0, nil, false
	}
	for _, p := range s.parts() {
		var c float64
		for _, pid := range p.CPU {
			v, err := procCPU(pid)
			if err != nil {
				return 0, nil, false
			}
			c += v
		}
		each = append(each, c)
		sum += c
	}
	return sum, each, true
}

// rss is the resident memory of every part, summed.
func (s *server) rss() (int64, bool) {
	if s.parts == nil {
		return 0, false
	}
	var sum int64
	for _, p := range s.parts() {
		for _, pid := range p.RSS {
			r, err := procRSS(pid)
			if err != nil {
				return 0, false
			}
			sum += r
		}
	}
	return sum, true
}

// partNames are the names of the server's parts, in order.
func (s *server) partNames() []string {
	if s.parts == nil {
		return nil
	}
	var out []string
	for _, p := range s.parts() {
		out = append(out, p.Name)
	}
	return out
}

// Scenario is one measured run: one target, one transport, or, when Mixed
// is set, several transports at once on one server.
type Scenario struct {
	Target    string `json:"target"`
	Transport string `json:"transport"`
	// Proto is what the row runs over (-proto): h1, h1tls, h2 or h2c;
	// empty in a report from before -proto, which was h1.
	Proto string `json:"proto,omitempty"`
	// Mixed is the mixed scenario this row is part of ("ws+sse"): its
	// transports were served at once by one server, to one publisher, Subs
	// subscribers each. The server's CPU and memory are the whole server's,
	// shared by the scenario's rows. Empty for a scenario of one transport.
	Mixed        string   `json:"mixed,omitempty"`
	Subs         int      `json:"subscribers"`   // of Transport
	Rate         float64  `json:"rate"`          // messages per second
	Payload      int      `json:"payload_bytes"` // bytes of the publisher's data
	PollInterval Duration `json:"poll_interval"`
	Warmup       Duration `json:"warmup"`
	Duration     Duration `json:"duration"`
	Stagger      Duration `json:"stagger"` // subscribers' connects spread over it
	Publishers   int      `json:"publishers"`
	// SourceAddrs is how many loopback source addresses the subscribers
	// dial from (127.0.0.2, 127.0.0.3, ...), so that the ephemeral port
	// range does not bound the subscribers; 0 leaves it to the kernel
	// (127.0.0.1).
	SourceAddrs int `json:"source_addrs,omitempty"`
	// Setup is the -cluster setup the row ran on: "memory" (one node, the
	// in-memory feed), "jetstream" (one node on the R3 stream) or
	// "cluster" (two nodes on it behind nginx); empty outside -cluster.
	Setup string `json:"setup,omitempty"`
}

// transports are the transports the scenario's subscribers use.
func (sc Scenario) transports() []string {
	if sc.Mixed != "" {
		return strings.Split(sc.Mixed, "+")
	}
	return []string{sc.Transport}
}

// name is the scenario's transport as a reader sees it: "ws", or "ws+sse"
// for a mixed scenario.
func (sc Scenario) name() string {
	if sc.Mixed != "" {
		return sc.Mixed
	}
	return sc.Transport
}

// label is a row's transport as a reader sees it: "ws", or "ws in ws+sse"
// for a row of a mixed scenario.
//
// Its protocol follows in brackets: "ws [h2]".
func (sc Scenario) label() string {
	l := sc.Transport
	if sc.Mixed != "" {
		l = sc.Transport + " in " + sc.Mixed
	}
	if sc.Proto != "" {
		l += " [" + sc.Proto + "]"
	}
	if sc.Setup != "" {
		l += " / " + sc.Setup
	}
	return l
}

// totalSubs is every subscriber the scenario connects, all transports.
func (sc Scenario) totalSubs() int { return sc.Subs * len(sc.transports()) }

// Duration prints as Go does ("500ms") in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
func (d Duration) String() string               { return time.Duration(d).String() }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// progress is what the stderr line shows.
type progress struct {
	label     atomic.Pointer[string]
	phase     atomic.Pointer[string]
	until     atomic.Int64 // mono ns when the phase ends, 0 if unknown
	published atomic.Int64
	delivered atomic.Pointer[func() int64]
}

func (p *progress) set(label, phase string, until int64) {
	p.label.Store(&label)
	p.phase.Store(&phase)
	p.until.Store(until)
}

// group is the subscribers of one transport in a scenario.
type group struct {
	transport string
	run       func(context.Context, *sub)
	subs      []*sub
	hists     histSet
}

// runScenario measures one scenario on a server it starts (or the one at
// url) and returns its result: one per transport, so one for a scenario of
// one transport, and one per transport of a mixed scenario, whose
// subscribers all connect to the same server at once.
func runScenario(ctx context.Context, sc Scenario, d dialect, start func(context.Context) (*server, error), headers http.Header, prog *progress, label string) (results []Result, err error) {
	var groups []*group
	for _, tr := range sc.transports() {
		run := d.subscriber(tr)
		if run == nil {
			return nil, fmt.Errorf("%s has no transport %q", d.name(), tr)
		}
		groups = append(groups, &group{transport: tr, run: run, hists: newHistSet(16)})
	}
	prog.set(label, "starting server", 0)
	srv, err := start(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if e := srv.stop(); e != nil && err == nil {
			for i := range results {
				results[i].Notes = append(results[i].Notes, "server stop: "+e.Error())
			}
		}
	}()
	pubClient := publisherClient(sc.Proto, sc.Publishers)
	defer pubClient.CloseIdleConnections()
	cursor, err := d.primer(ctx, pubClient, srv.base)
	if err != nil {
		return nil, err
	}
	if srv.primed != nil {
		if err := srv.primed(ctx, cursor); err != nil {
			return nil, err
		}
	}
	rssBefore, rssOK := srv.rss()

	// Subscribers connect, spread over the stagger, the transports of a
	// mixed scenario taking turns; short pollers' timetables are spread
	// evenly over one interval.
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	win := &window{}
	t0 := time.Now()
	var order []*sub // in the order they connect
	var runs []func(context.Context, *sub)
	for i := range sc.Subs {
		for _, g := range groups {
			s := newSub(i)
			s.base, s.cursor, s.headers, s.win, s.hist = srv.base, cursor, headers, win, g.hists.shard(i)
			s.proto = sc.Proto
			if b := baseTransport(g.transport); i == 0 && (b == "poll" || b == "longpoll") {
				s.reqUp = make([]atomic.Int64, reqUpKept) // one subscriber's: HPACK's first request against its hundredth
			}
			s.interval = time.Duration(sc.PollInterval)
			s.phase = t0.Add(time.Duration(sc.Stagger)).Add(time.Duration(i) * s.interval / time.Duration(sc.Subs))
			s.w.from = sourceAddr(i, sc.SourceAddrs)
			g.subs = append(g.subs, s)
			order = append(order, s)
			runs = append(runs, g.run)
		}
	}
	delivered := func() int64 {
		var n int64
		for _, s := range order {
			n += s.distinct.Load()
		}
		return n
	}
	prog.delivered.Store(&delivered)
	prog.published.Store(0)
	prog.set(label, "connecting", mono()+int64(sc.Stagger))
	var wg sync.WaitGroup
	for k, s := range order {
		if !sleepUntil(ctx, t0.Add(time.Duration(k)*time.Duration(sc.Stagger)/time.Duration(len(order)))) {
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); runs[k](subCtx, s) }()
	}
	defer func() { stopSubs(); wg.Wait() }()
	readyBy := time.After(time.Duration(sc.Stagger) + 30*time.Second + 2*time.Duration(sc.PollInterval))
	for k, s := range order {
		who := fmt.Sprintf("subscriber %d", s.idx)
		if len(groups) > 1 {
			who = fmt.Sprintf("%s subscriber %d", groups[k%len(groups)].transport, s.idx)
		}
		select {
		case <-s.ready:
		case <-s.stopped:
			return nil, fmt.Errorf("%s gave up: %s", who, *s.lastErr.Load())
		case <-readyBy:
			last := "no error"
			if e := s.lastErr.Load(); e != nil {
				last = *e
			}
			return nil, fmt.Errorf("%s not connected after %s (last error: %s)", who, time.Since(t0).Round(time.Millisecond), last)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	connectSeconds := time.Since(t0).Seconds()
	// Memory with every subscriber connected and idle. The pause lets the
	// server finish setting up the last connections; it is measurement,
	// not synchronisation.
	prog.set(label, "idle", 0)
	sleepUntil(ctx, time.Now().Add(300*time.Millisecond))
	rssIdle, _ := srv.rss()

	// The publisher runs open loop from pubStart; the window follows the
	// warm-up.
	pubStart := time.Now().Add(10 * time.Millisecond)
	winStart := pubStart.Add(time.Duration(sc.Warmup))
	winEnd := winStart.Add(time.Duration(sc.Duration))
	win.end.Store(int64(winEnd.Sub(epoch)))
	win.start.Store(int64(winStart.Sub(epoch)))
	pub := &publisher{d: d, c: pubClient, base: srv.base, rate: sc.Rate, size: sc.Payload, workers: sc.Publishers, prog: prog}
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); pub.run(ctx, pubStart, winEnd) }()

	prog.set(label, "warm-up", int64(winStart.Sub(epoch)))
	sleepUntil(ctx, winStart)
	counts0, countsErr := nodeCounts(ctx, pubClient, srv.nodes) // serverbytes.go: what fourway counts of its bytes
	cpu0, parts0, cpuOK := srv.partsCPU()
	self0 := selfCPU()
	busy0, _, machineOK := machineCPU()
	prog.set(label, "measuring", int64(winEnd.Sub(epoch)))
	sleepUntil(ctx, winEnd)
	cpu1, parts1, cpuOK1 := srv.partsCPU()
	counts1, countsErr1 := nodeCounts(ctx, pubClient, srv.nodes)
	cpuOK = cpuOK && cpuOK1 && len(parts0) == len(parts1)
	self1 := selfCPU()
	busy1, _, _ := machineCPU()
	rssEnd, _ := srv.rss()
	<-pubDone

	// Drain: every subscriber gets every acknowledged message, or the
	// deadline says it never will.
	want := pub.acked.Load()
	drain := 5*time.Second + 2*time.Duration(sc.PollInterval)
	prog.set(label, "draining", mono()+int64(drain))
	deadline := time.Now().Add(drain)
	for _, s := range order {
		for s.distinct.Load() < want && !s.hasStopped() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond) // polling a counter, bounded by the deadline
		}
	}
	drained := time.Now().Before(deadline)
	stopSubs()
	wg.Wait()

	// One result per transport; the server's cost is the whole server's,
	// divided by every delivery of the scenario.
	var windowDeliveries int64
	for _, g := range groups {
		res := Result{Scenario: sc}
		res.Transport = g.transport
		res.ConnectSeconds = connectSeconds
		res.Published = pub.acked.Load()
		res.PublishRTT = latencyOf(pub.rtt.merged())
		res.PublishErrors = pub.errors.Load()
		res.PublishLate = pub.late.Load()
		if e := pub.firstErr.Load(); e != nil {
			res.Notes = append(res.Notes, "first publish error: "+*e)
		}
		if !drained {
			res.Notes = append(res.Notes, fmt.Sprintf("drain deadline (%s) passed before every subscriber had every message", drain))
		}
		res.collect(g.subs, pub, g.hists)
		if countsErr == nil && countsErr1 == nil && counts0 != nil {
			k := statsTransport(g.transport)
			res.Wire.ServerHeadersPerMsg, res.Wire.ServerFramesPerMsg = serverSplit(counts0[k], counts1[k], res.WindowDeliveries)
			res.Wire.ServerFramingPerMsg, res.Wire.ServerHeartbeatsPerMsg = serverStreamParts(counts0[k], counts1[k], res.WindowDeliveries)
		}
		res.BenchCPUSeconds = self1 - self0
		windowDeliveries += res.WindowDeliveries
		results = append(results, res)
	}
	var cost *ServerCost
	if cpuOK {
		cost = &ServerCost{
			CPUSeconds:   cpu1 - cpu0,
			WindowSecs:   time.Duration(sc.Duration).Seconds(),
			RSSBeforeMiB: mib(rssBefore),
			RSSIdleMiB:   mib(rssIdle),
			RSSEndMiB:    mib(rssEnd),
		}
		if rssOK && sc.Subs > 0 {
			cost.MemPerConnKiB = float64(rssIdle-rssBefore) / float64(sc.totalSubs()) / 1024
		}
		if windowDeliveries > 0 {
			cost.CPUPerMsgMicros = cost.CPUSeconds / float64(windowDeliveries) * 1e6
		}
		cost.CPUPercent = cost.CPUSeconds / cost.WindowSecs * 100
	}
	// Each process's share, when the server is several (a cluster, or
	// the -pids of an external one), and on every -cluster setup.
	var procs []ProcCost
	if cost != nil {
		if names := srv.partNames(); (len(names) > 1 || sc.Setup != "") && len(names) == len(parts1) {
			for i, n := range names {
				pc := ProcCost{Name: n, CPUSeconds: parts1[i] - parts0[i]}
				if windowDeliveries > 0 {
					pc.CPUPerMsgMicros = pc.CPUSeconds / float64(windowDeliveries) * 1e6
				}
				procs = append(procs, pc)
			}
		}
	}
	// A latency measured on a saturated machine includes waiting for a
	// core; say so next to the number, and say who else was busy.
	ours := self1 - self0
	if cost != nil {
		ours += cost.CPUSeconds
	}
	capacity := time.Duration(sc.Duration).Seconds() * float64(runtime.NumCPU())
	var machineSecs, otherSecs float64
	if machineOK {
		machineSecs = busy1 - busy0
		otherSecs = max(0, machineSecs-ours)
	}
	var note string
	if share := max(ours, machineSecs) / capacity; share > 0.7 {
		note = fmt.Sprintf("CPU-bound machine: %.0f%% of %d cores busy in the window (server %.2f s, load generator %.2f s, other processes %.2f s); latency includes waiting for a core",
			share*100, runtime.NumCPU(), ours-(self1-self0), self1-self0, otherSecs)
	} else if otherSecs > 0.2*capacity {
		note = fmt.Sprintf("other processes used %.2f CPU seconds of the window's %.0f: the numbers are disturbed", otherSecs, capacity)
	}
	for i := range results {
		if cost != nil {
			c := *cost
			results[i].Server = &c
			results[i].Procs = append([]ProcCost(nil), procs...)
		} else if srv.parts == nil {
			results[i].ServerNote = notMeasuredExternal
		}
		results[i].MachineCPUSeconds, results[i].OtherCPUSeconds = machineSecs, otherSecs
		if note != "" {
			results[i].Notes = append(results[i].Notes, note)
		}
	}
	return results, nil
}

// selfCPU is the CPU seconds this process (the load generator) has used.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// publisher publishes open loop: message i is due at start + i/rate, is
// stamped with that intended time, and is handed to a free worker then. A
// slow server therefore shows as latency, never as fewer messages: no
// coordinated omission.
type publisher struct {
	d       dialect
	c       *http.Client
	base    string
	rate    float64
	size    int
	workers int
	prog    *progress

	acked    atomic.Int64
	errors   atomic.Int64
	late     atomic.Int64 // publishes that started over 10 ms after they were due
	firstErr atomic.Pointer[string]
	rtt      histSet // each acknowledged publish's round trip, POST to answer
	mu       sync.Mutex
	ok       []bool // by seq: acknowledged by the server
}

func (p *publisher) run(ctx context.Context, start, end time.Time) {
	n := int(end.Sub(start).Seconds() * p.rate)
	p.ok = make([]bool, n)
	p.rtt = newHistSet(max(1, p.workers))
	due := make(chan int64, n+1) // never blocks the schedule
	var wg sync.WaitGroup
	for w := range max(1, p.workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rtt := p.rtt.shard(w)
			for seq := range due {
				t := int64(start.Sub(epoch)) + int64(float64(seq)*1e9/p.rate)
				if mono()-t > int64(10*time.Millisecond) {
					p.late.Add(1)
				}
				sent := mono()
				err := p.d.publish(ctx, p.c, p.base, stampData(seq, t, p.size))
				if err != nil {
					p.errors.Add(1)
					s := err.Error()
					p.firstErr.CompareAndSwap(nil, &s)
					continue
				}
				rtt.record(mono() - sent)
				p.mu.Lock()
				p.ok[seq] = true
				p.mu.Unlock()
				p.acked.Add(1)
				p.prog.published.Add(1)
			}
		}()
	}
	for seq := range n {
		if !sleepUntil(ctx, start.Add(time.Duration(float64(seq)*1e9/p.rate))) {
			break
		}
		due <- int64(seq)
	}
	close(due)
	wg.Wait()
}
