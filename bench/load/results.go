package load

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"fourway/bench/plan"
	"fourway/bench/record"
	"fourway/transports/wire"
)

// outcome is what a measured scenario found: what it needs to report
// its rows beside what the subscribers and the publisher counted.
type outcome struct {
	sc     plan.Scenario
	srv    *Server
	groups []*group
	pub    *publisher
	config wire.Config // fourway's GET /api/config, what its page clients read
	outage *outage     // the link's silence, with -outage; nil without
	storm  *storm      // every connection cut, with -storm; nil without

	connectSeconds     float64
	rssBefore, rssIdle int64 // the server's memory before any subscriber, and all connected
	rssOK              bool
	drain              time.Duration
	drained            bool // every subscriber had every message before the drain's deadline
	windowStart        readings
	finish             readings // at the window's end
}

// readings are the counters read at one end of the measured window: the
// bytes fourway counted, the server's CPU (each process's, and their
// sum), this process's, the machine's, and at the end the server's memory.
type readings struct {
	counts    map[string]serverCounts // fourway's own, by transport; nil for other servers
	countsErr error
	cpu       float64   // the server's CPU seconds
	parts     []float64 // each of its processes'
	procs     int       // how many processes were read
	cpuOK     bool
	self      float64 // this process's, the load generator's
	busy      float64 // the whole machine's busy CPU seconds
	machineOK bool
	rss       int64 // the server's resident memory, read at the end only
}

// read reads the counters of srv at the window's start or end. What fourway
// counted is read over HTTP outside the CPU's span: before it at the
// start, after it at the end.
func read(ctx context.Context, c *http.Client, srv *Server, atStart bool) readings {
	var r readings
	if atStart {
		r.counts, r.countsErr = nodeCounts(ctx, c, srv.Nodes) // serverbytes.go: what fourway counts of its bytes
	}
	r.cpu, r.parts, r.procs, r.cpuOK = srv.partsCPU()
	if !atStart {
		r.counts, r.countsErr = nodeCounts(ctx, c, srv.Nodes)
	}
	r.self = selfCPU()
	r.busy, _, r.machineOK = machineCPU()
	if !atStart {
		r.rss, _ = srv.rss()
	}
	return r
}

// results are the scenario's rows, one per transport. The server's cost
// is the whole server's, divided by every delivery of the scenario.
func (o *outcome) results() []record.Result {
	var results []record.Result
	var windowDeliveries int64
	for _, g := range o.groups {
		res := o.groupResult(g)
		windowDeliveries += res.WindowDeliveries
		results = append(results, res)
	}
	cost := o.serverCost(windowDeliveries)
	if o.sc.Storm == "restart" {
		cost = nil // the window's CPU is of two processes, one killed in it
	}
	procs := o.procCosts(cost, windowDeliveries)
	machineSecs, otherSecs, note := o.machineLoad(cost)
	for i := range results {
		if cost != nil {
			c := *cost
			results[i].Server = &c
			results[i].Procs = append([]record.ProcCost(nil), procs...)
		} else if o.srv.Parts == nil {
			results[i].ServerNote = record.NotMeasuredExternal
		}
		results[i].MachineCPUSeconds, results[i].OtherCPUSeconds = machineSecs, otherSecs
		if note != "" {
			results[i].Notes = append(results[i].Notes, note)
		}
	}
	return results
}

// groupResult is the row of one transport's subscribers.
func (o *outcome) groupResult(g *group) record.Result {
	pub, a, b := o.pub, o.windowStart, o.finish
	res := record.Result{Scenario: o.sc}
	res.Transport = g.transport
	res.ConnectSeconds = o.connectSeconds
	res.Published = pub.acked.Load()
	res.PublishRTT = LatencyOf(pub.rtt.Merged())
	res.PublishErrors = pub.errors.Load()
	res.PublishLate = pub.late.Load()
	if e := pub.firstErr.Load(); e != nil {
		res.Notes = append(res.Notes, "first publish error: "+*e)
	}
	if !o.drained {
		res.Notes = append(res.Notes, fmt.Sprintf("drain deadline (%s) passed before every subscriber had every message", o.drain))
	}
	collect(&res, g.subs, pub, g.hists, o.storm.killedAt())
	if a.countsErr == nil && b.countsErr == nil && a.counts != nil {
		k := statsTransport(g.transport)
		res.Wire.ServerHeadersPerMsg, res.Wire.ServerFramesPerMsg = serverSplit(a.counts[k], b.counts[k], res.WindowDeliveries)
		res.Wire.ServerFramingPerMsg, res.Wire.ServerHeartbeatsPerMsg = serverStreamParts(a.counts[k], b.counts[k], res.WindowDeliveries)
	}
	res.BenchCPUSeconds = b.self - a.self
	if o.outage != nil {
		rows := o.outage.rows(g.subs, outageRule(o.sc.Target, g.transport, o.config), pub)
		if len(rows) > 0 {
			res.SilentLink = &rows[0]
		}
		if o.outage.every > 0 {
			res.SilentLinks = rows
		}
	}
	if o.storm != nil {
		res.ReconnectStorm = o.storm.row(g.subs, o.sc.Herd)
	}
	return res
}

// serverCost is the server's CPU in the window and its memory, or nil
// when they could not be read (a server the bench did not start).
func (o *outcome) serverCost(windowDeliveries int64) *record.ServerCost {
	a, b := o.windowStart, o.finish
	if !a.cpuOK || !b.cpuOK || len(a.parts) != len(b.parts) {
		return nil
	}
	cost := &record.ServerCost{
		CPUSeconds:      b.cpu - a.cpu,
		CPUErrorSeconds: record.CPUError(max(a.procs, b.procs)),
		WindowSecs:      time.Duration(o.sc.Duration).Seconds(),
		RSSBeforeMiB:    mib(o.rssBefore),
		RSSIdleMiB:      mib(o.rssIdle),
		RSSEndMiB:       mib(b.rss),
	}
	if o.rssOK && o.sc.Subs > 0 {
		cost.MemPerConnKiB = float64(o.rssIdle-o.rssBefore) / float64(o.sc.TotalSubs()) / 1024
	}
	if windowDeliveries > 0 {
		cost.CPUPerMsgMicros = cost.CPUSeconds / float64(windowDeliveries) * 1e6
	}
	cost.CPUPercent = cost.CPUSeconds / cost.WindowSecs * 100
	return cost
}

// procCosts are each process's share, when the server is several (a
// cluster, or the -pids of an external one), and on every -cluster setup.
func (o *outcome) procCosts(cost *record.ServerCost, windowDeliveries int64) []record.ProcCost {
	a, b := o.windowStart, o.finish
	names := o.srv.partNames()
	if cost == nil || (len(names) <= 1 && o.sc.Setup == "") || len(names) != len(b.parts) {
		return nil
	}
	var procs []record.ProcCost
	for i, n := range names {
		pc := record.ProcCost{Name: n, CPUSeconds: b.parts[i] - a.parts[i]}
		if windowDeliveries > 0 {
			pc.CPUPerMsgMicros = pc.CPUSeconds / float64(windowDeliveries) * 1e6
		}
		procs = append(procs, pc)
	}
	return procs
}

// machineLoad is the whole machine's busy CPU seconds in the window and
// what other processes took of them, and a note when the machine was
// saturated or disturbed: a latency measured on a saturated machine
// includes waiting for a core, so the note says so next to the number,
// and says who else was busy.
func (o *outcome) machineLoad(cost *record.ServerCost) (machineSecs, otherSecs float64, note string) {
	a, b := o.windowStart, o.finish
	self := b.self - a.self
	ours := self
	if cost != nil {
		ours += cost.CPUSeconds
	}
	capacity := time.Duration(o.sc.Duration).Seconds() * float64(runtime.NumCPU())
	if a.machineOK && b.machineOK {
		machineSecs = b.busy - a.busy
		otherSecs = max(0, machineSecs-ours)
	}
	if share := max(ours, machineSecs) / capacity; share > 0.7 {
		note = fmt.Sprintf("CPU-bound machine: %.0f%% of %d cores busy in the window (server %.2f s, load generator %.2f s, other processes %.2f s); latency includes waiting for a core",
			share*100, runtime.NumCPU(), ours-self, self, otherSecs)
	} else if otherSecs > 0.2*capacity {
		note = fmt.Sprintf("other processes used %.2f CPU seconds of the window's %.0f: the numbers are disturbed", otherSecs, capacity)
	}
	if note != "" && o.sc.Storm == "restart" {
		note += "; the server, killed and started again in the window, is counted with the other processes"
	}
	return machineSecs, otherSecs, note
}
