package targets

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/bench/record"
)

// Env is what the servers of one run share: the fourway binary, built
// once, and with -cluster the NATS cluster and deploy/nginx.conf.
type Env struct {
	cfg     plan.Config
	binary  string
	built   string      // the directory of a binary built for the run, removed by Close
	cluster *clusterEnv // with -cluster
	stop    func()      // stops the cluster
}

// Open prepares a run's servers: it checks a -url first, builds the
// fourway binary when the run starts one and -fourway names none, and
// starts the NATS cluster of -cluster. Close undoes it.
func Open(ctx context.Context, cfg plan.Config, prog *load.Progress) (_ *Env, err error) {
	e := &Env{cfg: cfg, binary: cfg.Fourway}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if cfg.URL != "" {
		if err := checkFourwayURL(ctx, strings.TrimSuffix(cfg.URL, "/"), cfg.Protos[0]); err != nil {
			return nil, err
		}
	}
	if e.binary == "" && cfg.URL == "" && (slices.Contains(cfg.Targets, "fourway") || cfg.Cluster) {
		if e.built, err = os.MkdirTemp("", "fourway-bench-bin-"); err != nil {
			return nil, err
		}
		prog.Set("fourway", "building the server (go build)", 0)
		if e.binary, err = BuildFourway(ctx, e.built); err != nil {
			return nil, err
		}
	}
	if cfg.Cluster {
		if e.cluster, e.stop, err = startClusterEnv(ctx, cfg, prog); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Close stops the cluster and removes the binary built for the run.
func (e *Env) Close() {
	if e.stop != nil {
		e.stop()
	}
	if e.built != "" {
		os.RemoveAll(e.built)
	}
}

// MeasureAcks measures JetStream's publish-to-ack latency on the
// cluster, R1 and R3, when -cluster and -acks ask for it.
func (e *Env) MeasureAcks(ctx context.Context, prog *load.Progress) ([]record.AckLatency, error) {
	if e.cluster == nil || e.cfg.Acks <= 0 {
		return nil, nil
	}
	prog.Set("JetStream publish-to-ack", fmt.Sprintf("%d publishes each to R1 and R3", e.cfg.Acks), 0)
	acks, err := measureAcks(ctx, e.cluster.nats, e.cfg.Acks, e.cfg.Payloads[0])
	if err != nil {
		return nil, fmt.Errorf("JetStream publish-to-ack: %w", err)
	}
	return acks, nil
}

// Start returns how to start the server of a scenario: a fourway child
// (on the cluster's setup, with -cluster), checked to run the writers
// its rows are named after; nginx + Nchan; or the -url server, checked
// likewise.
func (e *Env) Start(sc plan.Scenario) func(context.Context) (*load.Server, error) {
	switch {
	case e.cluster == nil && sc.Target == "nchan":
		return func(ctx context.Context) (*load.Server, error) {
			return startNchan(ctx, e.cfg.Nginx, nchanConnections(sc), sc.Proto, sc.Compress)
		}
	case e.cluster == nil && e.cfg.URL != "":
		return e.external(sc)
	}
	return func(ctx context.Context) (*load.Server, error) {
		cc, err := e.child(sc)
		if err != nil {
			return nil, err
		}
		var srv *load.Server
		if e.cluster != nil {
			srv, err = e.cluster.startSetup(ctx, sc, cc)
		} else {
			srv, err = startFourwayChild(ctx, cc)
		}
		if err != nil {
			return nil, err
		}
		if err := checkWriters(ctx, srv.Base, sc); err != nil {
			srv.Stop()
			return nil, err
		}
		return srv, nil
	}
}

// child is how a scenario's fourway child runs: its flags, its open
// files, and where it writes its CPU profile with -server-profile.
func (e *Env) child(sc plan.Scenario) (childConfig, error) {
	cc := childConfig{Binary: e.binary, History: e.cfg.History, Procs: e.cfg.ServerProcs, Writers: writersFor(sc), Files: plan.FilesNeeded(sc), Proto: sc.Proto}
	// A row whose subscribers offer compression gets a server that
	// compresses, but on a direct writer, which does not (fourway refuses
	// --compress with one): that row says "none", as it was measured.
	cc.Compress = sc.Compress && !slices.Contains(slices.Collect(maps.Values(cc.Writers)), plan.DirectWriter)
	if e.cfg.ServerProfile != "" {
		if err := os.MkdirAll(e.cfg.ServerProfile, 0o755); err != nil {
			return cc, err
		}
		cc.Profile, _ = filepath.Abs(filepath.Join(e.cfg.ServerProfile, fmt.Sprintf("%s-%d-%g-%d.pprof", sc.Name(), sc.Subs, sc.Rate, sc.Payload)))
	}
	return cc, nil
}

// external is the -url server: checked to run the writers the scenario's
// rows are named after, its processes those of -pids.
func (e *Env) external(sc plan.Scenario) func(context.Context) (*load.Server, error) {
	base := strings.TrimSuffix(e.cfg.URL, "/")
	return func(ctx context.Context) (*load.Server, error) {
		if err := checkWriters(ctx, base, sc); err != nil {
			return nil, fmt.Errorf("%s: %w: measure %s against a `fourway %s`", base, err, sc.Name(), writerFlags(sc))
		}
		return &load.Server{Base: base, Parts: pidParts(e.cfg.PIDs), Stop: func() error { return nil }}, nil
	}
}
