package targets

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/deploy/node"
)

// The fourway server under test runs as a child process of the bench, so
// that its CPU time and memory can be read from /proc apart from the load
// generator's. The child is the real fourway binary, built once per run
// from the module the bench runs in (or given with -fourway), started
// with its own flags and the ticker off, as package node runs a node.

// BuildFourway builds the fourway binary from the module found from the
// working directory upwards, into dir, and returns its path.
func BuildFourway(ctx context.Context, dir string) (string, error) {
	bin, err := node.Build(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("%w (or give a built binary with -fourway)", err)
	}
	return bin, nil
}

// childConfig is how the bench starts its fourway server child.
type childConfig struct {
	Binary  string // the fourway binary
	History int    // fourway's --history
	Profile string // where the child writes its CPU profile (--cpu-profile); "" for none
	Procs   int    // the child's GOMAXPROCS; 0 for Go's default
	// Writers are fourway's writer flags (plan.WriterRows), by flag name:
	// "sse-writer" "r3labs" (the library, and the default when absent) or
	// "direct"; "longpoll-writer" "nethttp" (the default) or "direct".
	Writers map[string]string
	Files   uint64 // open files the child must be able to hold; 0: its default
	// Proto is -proto: "h1" (or empty) plain HTTP/1.1; "h1tls" HTTPS
	// with HTTP/2 off; "h2" HTTPS offering HTTP/2 and HTTP/1.1; "h2c"
	// cleartext HTTP/2 beside HTTP/1.1. Under TLS the child makes a
	// self-signed certificate for 127.0.0.1 at start.
	Proto string
	// NATS, when set, puts the child's feed on JetStream (fourway's
	// --nats): the stream Stream with Replicas copies, the node named Node
	// (--node). Empty: the in-memory feed.
	NATS     string
	Stream   string
	Replicas int
	Node     string
	// Addr is where the child listens; "" for a port of loopback the
	// kernel picks (a restarted child listens where the first one did).
	Addr string
	// Compress starts the child with --compress, for a row whose
	// subscribers offer compression (-compress).
	Compress bool
}

// partName is the child as one process of a server in the report.
func (cc childConfig) partName() string {
	if cc.Node != "" {
		return "fourway " + cc.Node
	}
	return "fourway"
}

// args are the child's command line: fourway's own flags, on a port of
// loopback the kernel picks, with the built-in publisher off.
func (cc childConfig) args() ([]string, error) {
	addr := cmp.Or(cc.Addr, "127.0.0.1:0")
	args := []string{"--addr", addr, "--ticker", "0", "--history", strconv.Itoa(cc.History)}
	for _, w := range plan.WriterRows {
		if v := cc.Writers[w.Flag]; v != "" {
			args = append(args, "--"+w.Flag, v)
		}
	}
	switch cc.Proto {
	case "", "h1":
	case "h1tls":
		args = append(args, "--tls-self-signed", "--http2=false")
	case "h2":
		args = append(args, "--tls-self-signed", "--http2=true")
	case "h2c":
		args = append(args, "--h2c")
	default:
		return nil, fmt.Errorf("unknown protocol %q (want h1, h1tls, h2 or h2c)", cc.Proto)
	}
	if cc.NATS != "" {
		args = append(args, "--nats", cc.NATS, "--nats-stream", cc.Stream, "--nats-replicas", strconv.Itoa(max(1, cc.Replicas)), "--node", cc.Node)
	}
	if cc.Profile != "" {
		args = append(args, "--cpu-profile", cc.Profile)
	}
	if cc.Compress {
		args = append(args, "--compress")
	}
	return args, nil
}

// env is the child's environment: the bench's, less fourway's own
// variables (FOURWAY_*, which would set the flags the bench does not
// give), and GOMAXPROCS when the bench sets it.
func (cc childConfig) env() []string {
	if cc.Procs > 0 {
		return node.Env("GOMAXPROCS=" + strconv.Itoa(cc.Procs))
	}
	return node.Env()
}

// startFourwayChild starts the server child and waits until it listens
// and its GET /healthz answers 200: a node on JetStream listens before
// its feed is ready, and answers 503 until it is.
func startFourwayChild(ctx context.Context, cc childConfig) (*load.Server, error) {
	args, err := cc.args()
	if err != nil {
		return nil, fmt.Errorf("server child: %w", err)
	}
	// The child inherits the bench's open-file limit: raised here, the
	// hard one too if need be, it is the child's from its first instant.
	if cc.Files > 0 {
		if err := load.RaiseFileLimit(cc.Files, "the fourway server child", "its scenario's connections"); err != nil {
			return nil, fmt.Errorf("server child: %w", err)
		}
	}
	child, err := node.Start(cc.Binary, args, cc.env())
	if err != nil {
		return nil, fmt.Errorf("start server child: %w", err)
	}
	base, err := waitReady(ctx, child, cc.Proto, 30*time.Second)
	if err != nil {
		_ = child.Stop()
		return nil, fmt.Errorf("server child: %w", err)
	}
	var mu sync.Mutex // guards child, which a restart replaces
	current := func() *node.Node { mu.Lock(); defer mu.Unlock(); return child }
	return &load.Server{
		Base: base,
		Parts: func() []load.ProcPart {
			pid := current().Pid()
			return []load.ProcPart{{Name: cc.partName(), CPU: []int{pid}, RSS: []int{pid}}}
		},
		Stop: func() error {
			if err := current().Stop(); err != nil {
				return fmt.Errorf("server child: %w", err)
			}
			return nil
		},
		Restart: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			// Killed, as a crash or an OOM kill ends it: no goodbye to anyone.
			_ = syscall.Kill(child.Pid(), syscall.SIGKILL)
			<-child.Exited()
			again := cc
			again.Addr = strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
			args, err := again.args()
			if err != nil {
				return err
			}
			if child, err = node.Start(cc.Binary, args, cc.env()); err != nil {
				return fmt.Errorf("restart server child: %w", err)
			}
			if _, err := waitReady(ctx, child, cc.Proto, 30*time.Second); err != nil {
				return fmt.Errorf("restarted server child: %w", err)
			}
			return nil
		},
		Nodes: []string{base},
	}, nil
}

// waitReady waits, within the time given, for the child's "fourway
// listening" line, then until its GET /healthz answers 200 over proto,
// and returns its base URL.
func waitReady(ctx context.Context, child *node.Node, proto string, within time.Duration) (string, error) {
	started := time.Now()
	base, err := child.WaitListening(ctx, within)
	if err != nil {
		return "", err
	}
	client := load.PublisherClient(proto, 1)
	defer client.CloseIdleConnections()
	return base, child.WaitHealthy(ctx, client, base, within-time.Since(started))
}
