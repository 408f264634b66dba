package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/gorilla/websocket"

	"fourway/transports/wire"
)

// fourway speaks fourway's wire contract (see the repository's API
// description): POST /api/messages, and the four subscriber endpoints with
// a decimal cursor and, once the server has named it, the cursor's epoch.
type fourway struct{}

func (fourway) name() string { return "fourway" }

func (fourway) publish(ctx context.Context, c *http.Client, base string, data []byte) error {
	status, body, err := postJSON(ctx, c, base+"/api/messages", data)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("publish: %d: %s", status, bytes.TrimSpace(body))
	}
	return nil
}

// primer publishes a message before the subscribers start and returns its
// id: every subscriber starts from it, so none can miss the first message
// of the run however late its first request reaches the server.
func (f fourway) primer(ctx context.Context, c *http.Client, base string) (string, error) {
	status, body, err := postJSON(ctx, c, base+"/api/messages", []byte(`{"primer":true}`))
	if err != nil {
		return "", fmt.Errorf("primer: %w", err)
	}
	var ack wire.Ack
	if err := json.Unmarshal(body, &ack); err != nil || status != http.StatusCreated {
		return "", fmt.Errorf("primer: %d %s %v", status, bytes.TrimSpace(body), err)
	}
	return strconv.FormatUint(ack.ID, 10), nil
}

// postJSON POSTs a JSON body to url and returns the answer's status and body.
func postJSON(ctx context.Context, c *http.Client, url string, data []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// subscriber is a row's client: a writer row's is its base's (the two rows
// differ in the server's writer, not on the wire).
func (fourway) subscriber(transport string) func(context.Context, *sub) {
	switch baseTransport(transport) {
	case "poll":
		return fourwayPoll
	case "longpoll":
		return fourwayLongPoll
	case "sse":
		return fourwaySSE
	case "ws":
		return fourwayWS
	}
	return nil
}

const pollLimit = 1000 // the contract's largest page

// permanentError is an answer that asking again cannot change: a page that
// does not decode, or a request the server refuses as malformed. The
// subscriber stops and says why, instead of repeating the same request for
// the rest of the run.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// statusError is a non-200 answer: a 4xx (but a timeout or a "too many")
// is the same for the same request, so it is permanent; a 5xx (at the
// connection limit, shutting down) is worth asking again.
func statusError(what, status string, code int, body []byte) error {
	err := fmt.Errorf("%s: %s: %s", what, status, bytes.TrimSpace(body))
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return permanentError{err}
	}
	return err
}

func fourwayGetPage(ctx context.Context, s *sub, c *http.Client, target string, onWritten func()) (wire.Page, error) {
	var p wire.Page
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return p, permanentError{err}
	}
	resp, err := s.do(ctx, c, req, onWritten)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return p, err
	}
	if resp.StatusCode != http.StatusOK {
		return p, statusError("poll", resp.Status, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, permanentError{fmt.Errorf("poll: the answer does not decode (%d bytes): %w", len(body), err)}
	}
	if p.More && len(p.Messages) == 0 {
		// Asking again at once would get the same answer: no progress.
		return p, fmt.Errorf(`poll: "more":true with no message (next %d)`, p.Next)
	}
	return p, nil
}

// pollCursor is where a reader stands: the next cursor and its epoch, as
// the server last gave them.
type pollCursor struct {
	next  uint64
	epoch string
}

// query is the read's position: ?since=N, and &epoch=E once the server
// has named the epoch of N.
func (cur pollCursor) query() string { return wire.Query(cur.next, cur.epoch) }

// startCursor is where a subscriber starts: after the primer.
func startCursor(s *sub) (pollCursor, error) {
	n, err := strconv.ParseUint(s.cursor, 10, 64)
	if err != nil {
		return pollCursor{}, permanentError{fmt.Errorf("the primer's id %q is not a cursor: %w", s.cursor, err)}
	}
	return pollCursor{next: n}, nil
}

func (s *sub) takePage(cur *pollCursor, p wire.Page) {
	if p.Missed > 0 || p.Reset {
		s.anomalies++
	}
	if p.Epoch == "" {
		s.anomalies++ // the contract says always; keep the epoch we had
	} else {
		cur.epoch = p.Epoch
		s.feedEpoch = p.Epoch
	}
	cur.next = p.Next
	for _, m := range p.Messages {
		s.got(m)
	}
	if len(p.Messages) > 0 {
		s.unit()
	}
}

// fourwayPoll polls on its timetable; an answer with "more":true is
// followed at once by the next request, as the contract asks.
func fourwayPoll(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	var k int64
	for s.waitTick(ctx, &k) {
		for {
			before := s.snapshot()
			p, err := fourwayGetPage(ctx, s, c, s.base+"/api/poll?"+cur.query()+"&limit="+strconv.Itoa(pollLimit), nil)
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			s.markReady()
			s.takePage(&cur, p)
			s.exchange(before)
			if !p.More {
				break
			}
		}
	}
}

// fourwayLongPoll asks again the moment an answer arrives. It is ready once
// its first request is on the wire: the server holds it from then on.
func fourwayLongPoll(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	for ctx.Err() == nil {
		before := s.snapshot()
		p, err := fourwayGetPage(ctx, s, c, s.base+"/api/longpoll?"+cur.query()+"&limit="+strconv.Itoa(pollLimit)+"&timeout=30", s.markReady)
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		s.takePage(&cur, p)
		s.exchange(before)
	}
}

// fourwaySSE reads the event stream as an EventSource would, and reconnects
// with Last-Event-ID (the last event's whole id, "EPOCH:ID") when it
// breaks. Deliveries are checked by the message JSON, as on every
// transport; the event ids are checked against it too.
func fourwaySSE(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	lastID := s.cursor // a bare id is accepted, with no epoch check
	var feedEpoch string
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/sse?since="+s.cursor, nil)
		if err != nil {
			s.giveUp(ctx, err)
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		if attempt > 0 {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := s.do(ctx, c, req, nil)
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
			err := statusError("sse", resp.Status, resp.StatusCode, body)
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			s.retryPause(ctx, err)
			continue
		}
		err = readFourwaySSE(s, before, resp.Body, &feedEpoch, &lastID)
		resp.Body.Close()
		s.feedEpoch = feedEpoch
		s.retryPause(ctx, err)
	}
}

// readFourwaySSE reads one stream until it ends, keeping the stream's
// epoch and the last event id, which the next connection sends back.
func readFourwaySSE(s *sub, before counts, body io.Reader, feedEpoch, lastID *string) error {
	r := wire.NewSSEReader(body)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return io.ErrUnexpectedEOF // a stream of the contract never ends by itself
		}
		if err != nil {
			return err
		}
		if ev.IsComment() {
			continue
		}
		switch ev.Event {
		case "hello": // data {"next":N,"epoch":"E",...}, id E:N
			s.connected(before)
			s.markReady()
			if h, err := wire.DecodeSSEHello(ev); err != nil {
				s.anomalies++
			} else {
				*feedEpoch = h.Epoch
			}
		case "":
			s.got(ev.Data)
			s.unit()
			if !sseIDMatches(ev.ID, *feedEpoch, ev.Data) {
				s.anomalies++
			}
		case "reset": // data {"reset":true,"epoch":"NEW"}: ids continue from 0 of NEW
			s.anomalies++
			var r wire.Reset
			if json.Unmarshal(ev.Data, &r) == nil && r.Epoch != "" {
				*feedEpoch = r.Epoch
			}
		default: // missed
			s.anomalies++
		}
		if ev.ID != "" {
			*lastID = ev.ID
		}
	}
}

// sseIDMatches reports whether a message event's id is "EPOCH:ID" with the
// stream's epoch and the id of the message it carries.
func sseIDMatches(id, feedEpoch string, msg []byte) bool {
	epoch, cursor, err := wire.ParseEventID(id)
	msgID, ok := wire.MessageID(msg)
	return err == nil && ok && feedEpoch != "" && epoch == feedEpoch && cursor == msgID
}

// fourwayWS reads one text frame per message, and reconnects with
// ?since=N&epoch=E, its last id and that id's epoch, when the connection
// ends (4001: it fell behind).
func fourwayWS(ctx context.Context, s *sub) {
	d := wsDialer(s)
	wsBase := "ws" + strings.TrimPrefix(s.base, "http")
	cur, err := startCursor(s)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		s.w.requests.Add(1)
		conn, resp, err := d.DialContext(ctx, wsBase+"/api/ws?"+cur.query(), s.headers)
		var body []byte
		if resp != nil && resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
		}
		if err != nil {
			if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
				err = statusError("ws", resp.Status, resp.StatusCode, body)
			}
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			s.retryPause(ctx, err)
			continue
		}
		if err := checkWSProto(s, conn, resp); err != nil {
			conn.Close()
			s.giveUp(ctx, err)
			return
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		err = readFourwayWS(s, before, conn, &cur)
		s.retryPause(ctx, err)
		stop()
		conn.Close()
		s.feedEpoch = cur.epoch
	}
}

// readFourwayWS reads one connection until it ends, keeping the cursor
// and its epoch, which the next connection sends back.
func readFourwayWS(s *sub, before counts, conn *websocket.Conn, cur *pollCursor) error {
	var buf bytes.Buffer // one buffer for every frame: the load generator must stay light
	for {
		b, err := wire.ReadFrame(conn, &buf)
		if err != nil {
			return err
		}
		if id, ok := wire.MessageID(b); ok {
			s.got(b)
			s.unit()
			cur.next = id
			continue
		}
		f, _ := wire.DecodeFrame(b)
		switch f.Type {
		case "hello": // {"type":"hello","next":N,"epoch":"E",...}
			s.connected(before)
			s.markReady()
			if _, err := wire.DecodeHello(b); err != nil || f.Next != cur.next {
				s.anomalies++
			}
			if f.Epoch != "" {
				cur.epoch = f.Epoch
			}
		case "reset": // {"type":"reset","epoch":"NEW"}: the cursor goes on from 0 of NEW
			s.anomalies++
			if f.Epoch != "" {
				cur.next, cur.epoch = 0, f.Epoch
			}
		default: // missed, error, or not a frame of the contract
			s.anomalies++
		}
	}
}

// The fourway server under test runs as a child process of the bench, so
// that its CPU time and memory can be read from /proc apart from the load
// generator's. The child is the real fourway binary, built once per run
// from the module the bench runs in (or given with -fourway), started
// with its own flags and the ticker off.

// buildFourway builds the fourway binary from the module found from the
// working directory upwards, into dir, and returns its path.
func buildFourway(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
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

// childConfig is how the bench starts its fourway server child.
type childConfig struct {
	Binary  string // the fourway binary
	History int    // fourway's --history
	Profile string // where the child writes its CPU profile (--cpu-profile); "" for none
	Procs   int    // the child's GOMAXPROCS; 0 for Go's default
	// Writers are fourway's writer flags (writerRows), by flag name:
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
	for _, w := range writerRows {
		if v := cc.Writers[w.flag]; v != "" {
			args = append(args, "--"+w.flag, v)
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
func startFourwayChild(ctx context.Context, cc childConfig) (*server, error) {
	args, err := cc.args()
	if err != nil {
		return nil, fmt.Errorf("server child: %w", err)
	}
	// The child inherits the bench's open-file limit: raised here, the
	// hard one too if need be, it is the child's from its first instant.
	if cc.Files > 0 {
		if err := raiseFileLimit(processFiles, cc.Files, "the fourway server child", "its scenario's connections"); err != nil {
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
	return &server{
		base:  base,
		parts: func() []procPart { return []procPart{{Name: cc.partName(), CPU: []int{pid}, RSS: []int{pid}}} },
		stop:  child.stop,
		nodes: []string{base},
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
	client := publisherClient(proto, 1)
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

func newChildOutput() *childOutput { return &childOutput{listening: make(chan string, 1)} }

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
