package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fourway/bench/load"
	"fourway/bench/plan"
)

// The fourway server under test runs as a child process of the bench, so
// that its CPU time and memory can be read from /proc apart from the load
// generator's. The child is the real fourway binary, built once per run
// from the module the bench runs in (or given with -fourway), started
// with its own flags and the ticker off.

// BuildFourway builds the fourway binary from the module found from the
// working directory upwards, into dir, and returns its path.
func BuildFourway(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building fourway: %w: install Go, or give a built binary with -fourway", err)
	}
	bin := filepath.Join(dir, "fourway")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building fourway (go build -o %s . in %s): %w\n%s", bin, root, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// ModuleRoot is the directory of the fourway module: the working
// directory or one of its parents (go run ./bench from the repository, go
// test from bench/).
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(mod), "module fourway\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("the fourway module is not the working directory or one of its parents: run the bench from the fourway repository (working directory %s)", wd)
		}
	}
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
	args := []string{"--addr", "127.0.0.1:0", "--ticker", "0", "--history", strconv.Itoa(cc.History)}
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
	return args, nil
}

// env is the child's environment: the bench's, less fourway's own
// variables (FOURWAY_*, which would set the flags the bench does not
// give), and GOMAXPROCS when the bench sets it.
func (cc childConfig) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FOURWAY_") {
			env = append(env, kv)
		}
	}
	if cc.Procs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(cc.Procs))
	}
	return env
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
	out := newChildOutput()
	cmd := exec.Command(cc.Binary, args...)
	cmd.Env = cc.env()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a Ctrl-C at the terminal reaches the
	// bench, which stops the child itself; and SIGTERM should the bench die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server child: %w", err)
	}
	child := &runningChild{cmd: cmd, out: out, waited: make(chan struct{})}
	go func() { child.err = cmd.Wait(); close(child.waited) }()
	base, err := child.waitReady(ctx, cc.Proto, 30*time.Second)
	if err != nil {
		child.stop()
		return nil, err
	}
	pid := cmd.Process.Pid
	return &load.Server{
		Base: base,
		Parts: func() []load.ProcPart {
			return []load.ProcPart{{Name: cc.partName(), CPU: []int{pid}, RSS: []int{pid}}}
		},
		Stop:  child.stop,
		Nodes: []string{base},
	}, nil
}

// runningChild is a started server child.
type runningChild struct {
	cmd    *exec.Cmd
	out    *childOutput
	waited chan struct{} // closed when the child has exited; err is then its exit
	err    error
}

// waitReady waits for the child's "fourway listening" line, then until
// its GET /healthz answers 200, and returns its base URL. A child that
// exits first is said with its last words.
func (c *runningChild) waitReady(ctx context.Context, proto string, within time.Duration) (string, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var base string
	select {
	case base = <-c.out.listening:
	case <-c.waited:
		return "", fmt.Errorf("server child: %s", c.lastWords())
	case <-deadline.C:
		return "", fmt.Errorf("server child did not listen within %s: %s", within, c.out.tail())
	case <-ctx.Done():
		return "", ctx.Err()
	}
	client := load.PublisherClient(proto, 1)
	defer client.CloseIdleConnections()
	var last string
	for {
		status, err := getStatus(ctx, client, base+"/healthz")
		if err == nil && status == http.StatusOK {
			return base, nil
		}
		last = fmt.Sprint(status, err)
		select {
		case <-c.waited:
			return "", fmt.Errorf("server child: %s", c.lastWords())
		case <-deadline.C:
			return "", fmt.Errorf("server child at %s not healthy within %s (GET /healthz: %s)", base, within, last)
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling for readiness, bounded by the deadline
		}
	}
}

// getStatus is the status of a GET of url.
func getStatus(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// lastWords is how the child ended and the end of what it wrote: fourway
// says on stderr why it could not serve.
func (c *runningChild) lastWords() string {
	why := c.out.tail()
	if why == "" {
		why = "exited without a word"
	}
	return fmt.Sprintf("%s (%v)", why, c.err)
}

// stop ends the child with SIGTERM, as fourway stops gracefully, and
// kills it if it has not ended in 15 s. A child that did not end well
// says why.
func (c *runningChild) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.waited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.waited
		return errors.New("server child did not stop in 15 s; killed")
	}
	if c.err != nil {
		return fmt.Errorf("server child: %s", c.lastWords())
	}
	return nil
}

// childOutput is what the child writes on stdout (its log) and stderr:
// the last few KiB are kept, for an error, and the address of its
// "fourway listening" line is sent on listening once.
type childOutput struct {
	mu        sync.Mutex
	last      []byte // the end of the output
	line      []byte // the line being written
	listening chan string
	found     bool
}

// childOutputKept is how much of the child's output is kept.
const childOutputKept = 4 << 10

// newChildOutput makes a childOutput to give the child's stdout and stderr.
func newChildOutput() *childOutput { return &childOutput{listening: make(chan string, 1)} }

// Write keeps the end of p and looks for the "fourway listening" line.
func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = append(o.last, p...)
	if len(o.last) > childOutputKept {
		o.last = o.last[len(o.last)-childOutputKept:]
	}
	if o.found {
		return len(p), nil
	}
	o.line = append(o.line, p...)
	for {
		line, rest, ok := bytes.Cut(o.line, []byte("\n"))
		if !ok {
			break
		}
		o.line = rest
		if url, ok := listeningURL(string(line)); ok {
			o.found, o.line = true, nil
			o.listening <- url
			break
		}
	}
	return len(p), nil
}

// tail is the end of what the child wrote.
func (o *childOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return tail(o.last, 800)
}

// listeningURL finds the url= of fourway's log line saying it listens:
// time=... level=INFO msg="fourway listening" url=http://127.0.0.1:41545 ...
func listeningURL(line string) (string, bool) {
	if !strings.Contains(line, `msg="fourway listening"`) {
		return "", false
	}
	for _, f := range strings.Fields(line) {
		if url, ok := strings.CutPrefix(f, "url="); ok {
			return url, true
		}
	}
	return "", false
}
