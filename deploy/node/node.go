// Package node builds the fourway binary and runs it as a child process:
// one node, as deploy/cluster.sh runs it. The bench (bench/targets) starts
// the server it measures so, and the deploy tests the nodes they put
// behind nginx and on NATS.
//
// A node is started with its own flags and none of the FOURWAY_*
// variables of the environment it is started from (they would set flags
// its starter did not give); it is ready when it has said where it listens
// and its GET /healthz answers 200 (a node on NATS listens before its feed
// is open, and answers 503 until it is); it is stopped by SIGTERM, as
// fourway stops gracefully, and by its parent's death should the parent
// die first.
package node

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
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build builds the fourway binary from the module found from the working
// directory upwards, into dir, with the go build flags given (-race, say),
// and returns its path.
func Build(ctx context.Context, dir string, flags ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building fourway: %w: install Go", err)
	}
	bin := filepath.Join(dir, "fourway")
	args := append(append([]string{"build"}, flags...), "-o", bin, ".")
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building fourway (go %s in %s): %w\n%s", strings.Join(args, " "), root, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// Once builds the fourway binary the first time it is asked for, into a
// directory of its own, for the tests of one package: each test that
// needs a binary asks, and TestMain removes it when they are over.
type Once struct {
	Flags []string // go build flags, such as -race

	once     sync.Once
	dir, bin string
	err      error
}

// Binary builds the binary, the first time, and returns its path.
func (o *Once) Binary() (string, error) {
	o.once.Do(func() {
		if o.dir, o.err = os.MkdirTemp("", "fourway-test-"); o.err == nil {
			o.bin, o.err = Build(context.Background(), o.dir, o.Flags...)
		}
	})
	return o.bin, o.err
}

// Remove removes the binary, if it was built.
func (o *Once) Remove() {
	if o.dir != "" {
		os.RemoveAll(o.dir)
	}
}

// ModuleRoot is the directory of the fourway module: the working
// directory or one of its parents (go run ./bench from the repository, go
// test from a package's directory).
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
			return "", fmt.Errorf("the fourway module is not the working directory or one of its parents: run from the fourway repository (working directory %s)", wd)
		}
	}
}

// Env is the environment of a node: this process's, less fourway's own
// variables (FOURWAY_*), and then extra ("GOMAXPROCS=2", say).
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FOURWAY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Node is a running fourway process.
type Node struct {
	cmd    *exec.Cmd
	out    *output
	exited chan struct{} // closed when the process has exited; err is then its exit
	err    error
}

// Start starts the fourway binary bin with args and the environment env
// (see Env), and returns at once: WaitListening waits until it listens.
// The node is in a process group of its own, so that a Ctrl-C at the
// terminal reaches its starter alone, which stops it; and it is sent
// SIGTERM should its starter die.
func Start(bin string, args, env []string) (*Node, error) {
	out := newOutput()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	n := &Node{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { n.err = cmd.Wait(); close(n.exited) }()
	return n, nil
}

// Pid is the node's process id.
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (n *Node) Exited() <-chan struct{} { return n.exited }

// Err is how the process exited (nil for status 0), once Exited is closed.
func (n *Node) Err() error { return n.err }

// Output is what the node wrote on stdout (its log) and stderr (why it
// exits, if it does: "fourway: <the reason>"), in the order it came, the
// last MiB of it.
func (n *Node) Output() string {
	n.out.mu.Lock()
	defer n.out.mu.Unlock()
	return string(n.out.kept)
}

// LastWords is how the node ended and the end of what it wrote: fourway
// says on stderr why it could not serve.
func (n *Node) LastWords() string {
	why := tail(n.Output(), 800)
	if why == "" {
		why = "exited without a word"
	}
	return fmt.Sprintf("%s (%v)", why, n.err)
}

// WaitListening waits for the node's "fourway listening" line and returns
// the URL it names. A node that exits first is said with its last words.
func (n *Node) WaitListening(ctx context.Context, within time.Duration) (string, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	select {
	case url := <-n.out.listening:
		return url, nil
	case <-n.exited:
		return "", errors.New(n.LastWords())
	case <-deadline.C:
		return "", fmt.Errorf("did not listen within %s: %s", within, tail(n.Output(), 800))
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// WaitHealthy waits until GET base/healthz, asked with client, answers
// 200. A node that exits first is said with its last words; one still
// not healthy after within, with its last answer.
func (n *Node) WaitHealthy(ctx context.Context, client *http.Client, base string, within time.Duration) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var last string
	for {
		status, body, err := get(ctx, client, base+"/healthz")
		if err == nil && status == http.StatusOK {
			return nil
		}
		last = fmt.Sprint(status, " ", body, err)
		select {
		case <-n.exited:
			return errors.New(n.LastWords())
		case <-deadline.C:
			return fmt.Errorf("%s not healthy within %s (GET /healthz: %s)", base, within, last)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling for readiness, bounded by the deadline
		}
	}
}

// get is the status and the body (its first KiB) of a GET of url.
func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, string(b), err
}

// StopWait bounds a node's graceful stop: past it, the node is killed.
const StopWait = 15 * time.Second

// Stop ends the node with SIGTERM, as fourway stops gracefully, and kills
// it if it has not ended within StopWait. A node that did not end well
// says why; one that had already exited says how.
func (n *Node) Stop() error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(StopWait):
		_ = n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("did not stop in %s; killed", StopWait)
	}
	if n.err != nil {
		return errors.New(n.LastWords())
	}
	return nil
}

// output is what the node writes on stdout and stderr: the last outputKept
// bytes are kept, and the address of its "fourway listening" line is sent
// on listening once.
type output struct {
	mu        sync.Mutex
	kept      []byte // the end of the output
	line      []byte // the line being written
	listening chan string
	found     bool
}

// outputKept is how much of a node's output is kept.
const outputKept = 1 << 20

func newOutput() *output { return &output{listening: make(chan string, 1)} }

// Write keeps the end of p and looks for the "fourway listening" line.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kept = append(o.kept, p...)
	if len(o.kept) > outputKept {
		o.kept = append(o.kept[:0], o.kept[len(o.kept)-outputKept:]...)
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

// tail is the last n bytes of s, trimmed.
func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
