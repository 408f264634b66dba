package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed"
	"fourway/transports"
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
	var ack struct{ ID uint64 }
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

func (fourway) subscriber(transport string) func(context.Context, *sub) {
	switch transport {
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

// page is a poll or long-poll answer:
//
//	{"epoch":"E","messages":[...],"next":44}
//
// plus "missed":K, "reset":true and "more":true when they apply.
type page struct {
	Epoch    string            `json:"epoch"`
	Messages []json.RawMessage `json:"messages"`
	Next     uint64            `json:"next"`
	Missed   uint64            `json:"missed"`
	Reset    bool              `json:"reset"`
	More     bool              `json:"more"`
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

// fourwayQuery is a read's position: ?since=N, and &epoch=E once the
// server has named the epoch of N.
func fourwayQuery(since, feedEpoch string) string {
	q := "since=" + since
	if feedEpoch != "" {
		q += "&epoch=" + url.QueryEscape(feedEpoch)
	}
	return q
}

func fourwayGetPage(ctx context.Context, s *sub, c *http.Client, target string, onWritten func()) (page, error) {
	var p page
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

// pollCursor is where a poller stands: the next cursor and its epoch, as
// the last answer gave them.
type pollCursor struct {
	next, epoch string
}

func (s *sub) takePage(cur *pollCursor, p page) {
	if p.Missed > 0 || p.Reset {
		s.anomalies++
	}
	if p.Epoch == "" {
		s.anomalies++ // the contract says always; keep the epoch we had
	} else {
		cur.epoch = p.Epoch
		s.feedEpoch = p.Epoch
	}
	cur.next = strconv.FormatUint(p.Next, 10)
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
	c := s.w.httpClient()
	defer c.CloseIdleConnections()
	cur := pollCursor{next: s.cursor}
	var k int64
	for s.waitTick(ctx, &k) {
		for {
			before := s.snapshot()
			p, err := fourwayGetPage(ctx, s, c, s.base+"/api/poll?"+fourwayQuery(cur.next, cur.epoch)+"&limit="+strconv.Itoa(pollLimit), nil)
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
	c := s.w.httpClient()
	defer c.CloseIdleConnections()
	cur := pollCursor{next: s.cursor}
	for ctx.Err() == nil {
		before := s.snapshot()
		p, err := fourwayGetPage(ctx, s, c, s.base+"/api/longpoll?"+fourwayQuery(cur.next, cur.epoch)+"&limit="+strconv.Itoa(pollLimit)+"&timeout=30", s.markReady)
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
	c := s.w.httpClient()
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
		err = readSSE(resp.Body, func(ev sseEvent) {
			switch ev.event {
			case "hello": // data {"next":N,"epoch":"E"}, id E:N
				s.connected(before)
				s.markReady()
				var h struct {
					Next  *uint64 `json:"next"`
					Epoch string  `json:"epoch"`
				}
				if json.Unmarshal(ev.data, &h) != nil || h.Epoch == "" || h.Next == nil || ev.id != h.Epoch+":"+strconv.FormatUint(*h.Next, 10) {
					s.anomalies++
				} else {
					feedEpoch = h.Epoch
				}
			case "":
				s.got(ev.data)
				s.unit()
				if !sseIDMatches(ev.id, feedEpoch, ev.data) {
					s.anomalies++
				}
			case "reset": // data {"reset":true,"epoch":"NEW"}: ids continue from 0 of NEW
				s.anomalies++
				var r struct {
					Epoch string `json:"epoch"`
				}
				if json.Unmarshal(ev.data, &r) == nil && r.Epoch != "" {
					feedEpoch = r.Epoch
				}
			default: // missed
				s.anomalies++
			}
			if ev.id != "" {
				lastID = ev.id
			}
		})
		resp.Body.Close()
		s.feedEpoch = feedEpoch
		s.retryPause(ctx, err)
	}
}

// sseIDMatches reports whether a message event's id is "EPOCH:ID" with the
// stream's epoch and the id of the message it carries.
func sseIDMatches(id, feedEpoch string, msg []byte) bool {
	n := len(feedEpoch)
	if feedEpoch == "" || len(id) < n+2 || id[:n] != feedEpoch || id[n] != ':' {
		return false
	}
	digits := id[n+1:]
	rest, ok := bytes.CutPrefix(msg, []byte(`{"id":`))
	return ok && len(rest) > len(digits) && string(rest[:len(digits)]) == digits && (rest[len(digits)] < '0' || rest[len(digits)] > '9')
}

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	id, event string
	data      []byte
}

// readSSE parses an event stream and calls on for each event, until the
// stream ends. Comments and retry lines are skipped.
func readSSE(r io.Reader, on func(sseEvent)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var ev sseEvent
	var data []byte // reused: on must not keep ev.data
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if ev.data != nil || ev.event != "" {
				on(ev)
			}
			ev = sseEvent{}
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("id:")):
			ev.id = string(bytes.TrimPrefix(line[3:], []byte(" ")))
		case bytes.HasPrefix(line, []byte("event:")):
			ev.event = string(bytes.TrimPrefix(line[6:], []byte(" ")))
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimPrefix(line[5:], []byte(" "))
			if ev.data != nil {
				ev.data = append(append(ev.data, '\n'), d...)
			} else {
				ev.data = append(data[:0], d...)
			}
			data = ev.data
		}
	}
}

// fourwayWS reads one text frame per message, and reconnects with
// ?since=N&epoch=E, its last id and that id's epoch, when the connection
// ends (4001: it fell behind).
func fourwayWS(ctx context.Context, s *sub) {
	d := websocket.Dialer{NetDialContext: s.w.dial, HandshakeTimeout: 10 * time.Second}
	wsBase := "ws" + strings.TrimPrefix(s.base, "http")
	cur := pollCursor{next: s.cursor}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		s.w.requests.Add(1)
		conn, resp, err := d.DialContext(ctx, wsBase+"/api/ws?"+fourwayQuery(cur.next, cur.epoch), s.headers)
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
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		var buf bytes.Buffer // one buffer for every frame: the load generator must stay light
		for {
			b, err := readFrame(conn, &buf)
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			if bytes.HasPrefix(b, []byte(`{"id":`)) {
				s.got(b)
				s.unit()
				if id, _, ok := parseInt(b[len(`{"id":`):]); ok {
					cur.next = strconv.FormatInt(id, 10)
				}
				continue
			}
			var f struct {
				Type  string  `json:"type"`
				Next  *uint64 `json:"next"`
				Epoch string  `json:"epoch"`
			}
			_ = json.Unmarshal(b, &f)
			switch f.Type {
			case "hello": // {"type":"hello","next":N,"epoch":"E",...}
				s.connected(before)
				s.markReady()
				if f.Epoch == "" || f.Next == nil || strconv.FormatUint(*f.Next, 10) != cur.next {
					s.anomalies++
				}
				if f.Epoch != "" {
					cur.epoch = f.Epoch
				}
			case "reset": // {"type":"reset","epoch":"NEW"}: the cursor goes on from 0 of NEW
				s.anomalies++
				if f.Epoch != "" {
					cur.next, cur.epoch = "0", f.Epoch
				}
			default: // missed, error, or not a frame of the contract
				s.anomalies++
			}
		}
		stop()
		conn.Close()
		s.feedEpoch = cur.epoch
	}
}

// readFrame reads the next data frame into buf and returns its bytes,
// valid until the next call.
func readFrame(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The fourway server under test runs as a child process of the bench, so
// that its CPU time and memory can be read from /proc apart from the load
// generator's. The child is this same binary, started again with childEnv
// set; it serves the in-repository server code with the ticker off.

const childEnv = "FOURWAY_BENCH_SERVE"

// serveChildIfAsked runs the fourway server and exits, when this process
// was started as the bench's server child. It serves until its stdin closes
// (the bench ended or died) or it gets SIGTERM.
func serveChildIfAsked() {
	if os.Getenv(childEnv) == "" {
		return
	}
	serveChild()
	os.Exit(0)
}

func serveChild() {
	history, _ := strconv.Atoi(os.Getenv(childEnv + "_HISTORY"))
	if history <= 0 {
		history = 1000
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { // stdin closes when the parent goes away
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	ln, err := listenLoopback()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	if path := os.Getenv(childEnv + "_PROFILE"); path != "" {
		if pf, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(pf) == nil {
				defer func() { pprof.StopCPUProfile(); pf.Close() }()
			}
		}
	}
	f := feed.NewMemory(history)
	// The server's own defaults (send bounds, heartbeats, limits), as
	// `fourway --ticker 0` runs them; only the built-in publisher is off.
	cfg := transports.DefaultConfig()
	cfg.Ticker, cfg.History = 0, history
	srv, err := transports.New(f, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
	}
}

// startFourwayChild starts the server child and waits until it listens.
// profile, if not empty, is where the child writes its CPU profile.
// procs, if above 0, is the child's GOMAXPROCS.
func startFourwayChild(ctx context.Context, history int, profile string, procs int) (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", childEnv+"_HISTORY="+strconv.Itoa(history), childEnv+"_PROFILE="+profile)
	if procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server child: %w", err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	waited := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(waited) }()
	stopChild := func() error {
		stdin.Close()
		select {
		case <-waited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
			return errors.New("server child did not stop in 15 s; killed")
		}
		return nil
	}
	select {
	case line, ok := <-lines:
		base, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			stopChild()
			return nil, fmt.Errorf("server child did not start: %q", line)
		}
		pid := cmd.Process.Pid
		return &server{
			base:  base,
			procs: func() ([]int, int) { return []int{pid}, pid },
			stop:  stopChild,
		}, nil
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	stopChild()
	return nil, errors.New("server child did not listen within 30 s")
}
