package transports_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"fourway/feed"
	"fourway/transports"
	"fourway/transports/transportstest"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const idleConns = 5000

// TestServerProcess is the server side of the memory benchmark; it does
// nothing in a normal test run.
func TestServerProcess(t *testing.T) {
	if os.Getenv("FOURWAY_TEST_SERVER") != "1" {
		t.Skip("the server process of BenchmarkIdleConnectionMemory")
	}
	gc := make(chan os.Signal, 1)
	signal.Notify(gc, syscall.SIGUSR1)
	go func() {
		for range gc { // collect and return memory to the OS, then say so
			// Twice: what a sync.Pool holds outlives one collection (in
			// its victim cache), not two; it is no connection's.
			debug.FreeOSMemory()
			debug.FreeOSMemory()
			if f := os.Getenv("FOURWAY_HEAP_PROFILE"); f != "" {
				if out, err := os.Create(f); err == nil {
					pprof.Lookup("heap").WriteTo(out, 0)
					out.Close()
				}
			}
			fmt.Println("gc done")
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// The server as main starts it, the ticker off.
	cfg := transports.DefaultConfig()
	cfg.Ticker = 0
	if w := os.Getenv(transportstest.SSEWriterEnv); w != "" {
		cfg.SSEWriter = w
	}
	if w := os.Getenv(transportstest.LongPollWriterEnv); w != "" {
		cfg.LongPollWriter = w
	}
	cfg.Compress = transportstest.Compressing()
	srv, err := transports.New(feed.NewMemory(cfg.History), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("listening url=http://%s\n", ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil {
		t.Fatal(err)
	}
}

type serverProcess struct {
	cmd   *exec.Cmd
	url   string
	lines chan string
}

// startServerProcess starts the server in a process of its own, its SSE
// streams written by sseWriter and its long polls held by lpWriter, with
// --compress when compress is true.
func startServerProcess(b *testing.B, sseWriter, lpWriter string, compress bool) *serverProcess {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "FOURWAY_TEST_SERVER=1", transportstest.SSEWriterEnv+"="+sseWriter,
		transportstest.LongPollWriterEnv+"="+lpWriter, transportstest.CompressEnv+"=")
	if compress {
		cmd.Env = append(cmd.Env, transportstest.CompressEnv+"=1")
	}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	re := regexp.MustCompile(`url=(http://\S+)`)
	for line := range p.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			p.url = m[1]
			return p
		}
	}
	b.Fatal("server process exited before listening")
	return nil
}

func (p *serverProcess) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
}

// metric reads one value from the server's /metrics.
func (p *serverProcess) metric(b *testing.B, name string) float64 {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		b.Fatalf("no %s in /metrics", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// settle waits until the server runs at most max goroutines: connections
// that just wrote (a WebSocket writer whose socket was full has a goroutine
// until it drains) are idle then.
func (p *serverProcess) settle(b *testing.B, max float64) {
	deadline := time.Now().Add(30 * time.Second)
	for p.metric(b, "go_goroutines") > max {
		if time.Now().After(deadline) {
			b.Fatalf("server still runs %v goroutines, want at most %v", p.metric(b, "go_goroutines"), max)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// await waits until the metric has grown to at least want.
func (p *serverProcess) await(b *testing.B, metric string, want float64) {
	deadline := time.Now().Add(60 * time.Second)
	for p.metric(b, regexp.QuoteMeta(metric)) < want {
		if time.Now().After(deadline) {
			b.Fatalf("%s is %v, want %v", metric, p.metric(b, regexp.QuoteMeta(metric)), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// memory collects garbage in the server, then returns its resident memory
// and its Go heap plus stacks, in bytes.
func (p *serverProcess) memory(b *testing.B) (rss, goMem float64) {
	p.cmd.Process.Signal(syscall.SIGUSR1)
	for line := range p.lines {
		if line == "gc done" {
			break
		}
	}
	return p.metric(b, "process_resident_memory_bytes"),
		p.metric(b, "go_memstats_heap_inuse_bytes") + p.metric(b, "go_memstats_stack_inuse_bytes")
}

// BenchmarkIdleConnectionMemory opens 5,000 idle connections of each
// kind (a long poll is one waiting for news) to a server process of its
// own, and reports what each one costs it. The -gzip and -deflate kinds
// are the same connections with compression negotiated (--compress on,
// the client offering it); the -after32k kinds have each taken one 32 KiB
// message of text before they sit idle, for what a stream keeps after a
// large event.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	kinds := []struct {
		name, transport, sseWriter, lpWriter string
		compress                             bool
		event                                int // bytes of text every connection reads before it is measured, 0: none
		// Goroutines of one idle connection: the WebSocket read pump; for
		// SSE, the handler and net/http's background reader, and the
		// library's stream and context watcher, or the direct writer's
		// reader alone; a long poll's handler and background reader, or
		// the direct writer's reader alone.
		goroutines float64
		// Goroutines started once, with the first connection: the direct
		// long-poll writer's http.Server for the connections it hands
		// back, and its shutdown's sweep.
		once float64
	}{
		{"ws", "ws", "r3labs", "nethttp", false, 0, 1, 0},
		{"ws-deflate", "ws", "r3labs", "nethttp", true, 0, 1, 0},
		{"sse", "sse", "r3labs", "nethttp", false, 0, 4, 0},
		{"sse-gzip", "sse", "r3labs", "nethttp", true, 0, 4, 0},
		{"sse-after32k", "sse", "r3labs", "nethttp", false, 32 << 10, 4, 0},
		{"sse-gzip-after32k", "sse", "r3labs", "nethttp", true, 32 << 10, 4, 0},
		{"sse-direct", "sse", "direct", "nethttp", false, 0, 1, 0},
		{"longpoll", "longpoll", "r3labs", "nethttp", false, 0, 2, 0},
		{"longpoll-gzip", "longpoll", "r3labs", "nethttp", true, 0, 2, 0},
		{"longpoll-direct", "longpoll", "r3labs", "direct", false, 0, 1, 2},
	}
	dispatchers := float64(runtime.GOMAXPROCS(0)) // once, one per core
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			p := startServerProcess(b, k.sseWriter, k.lpWriter, k.compress)
			defer p.stop()
			base := p.metric(b, "go_goroutines")
			// Warm up: a few connections first, so one-time costs
			// (pools, first stream) are not charged to the others.
			warm := openIdle(b, p, k.transport, k.compress, 10)
			defer warm.close()
			p.settle(b, base+dispatchers+k.once+10*k.goroutines)
			rss0, go0 := p.memory(b)
			more := openIdle(b, p, k.transport, k.compress, idleConns)
			defer more.close()
			if k.event > 0 {
				p.publish(b, "text/plain", text(k.event))
				warm.next(b, p)
				more.next(b, p)
			}
			p.settle(b, base+dispatchers+k.once+(10+idleConns)*k.goroutines)
			rss1, go1 := p.memory(b)
			b.ReportMetric((rss1-rss0)/idleConns/1024, "KiB-rss/conn")
			b.ReportMetric((go1-go0)/idleConns/1024, "KiB-heap+stack/conn")
			if os.Getenv("FOURWAY_MEM_DETAIL") != "" {
				b.Logf("heap %.2f KiB/conn, stacks %.2f KiB/conn", p.metric(b, "go_memstats_heap_inuse_bytes")/idleConns/1024, p.metric(b, "go_memstats_stack_inuse_bytes")/idleConns/1024)
			}
			if k.transport == "longpoll" { // its answer says whether it was compressed: one more message, 4 KiB of text
				p.publish(b, "text/plain", text(4<<10))
				warm.next(b, p)
				more.next(b, p)
			}
		})
	}
}

// text is size bytes of words, which compress as text does.
func text(size int) string {
	words := strings.Fields("the a feed message stream server client reads writes each every one of to and in is on at what when")
	r := rand.New(rand.NewPCG(1, 2))
	var t strings.Builder
	for t.Len() < size {
		t.WriteString(words[r.IntN(len(words))] + " ")
	}
	return t.String()[:size]
}

// publish publishes body to the server process.
func (p *serverProcess) publish(b *testing.B, contentType, body string) {
	resp, err := http.Post(p.url+"/api/messages", contentType, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("publish: %s", resp.Status)
	}
}

// idleSet is connections opened by openIdle.
type idleSet struct {
	transport string
	closers   []func()
	readers   []func() error // each reads the connection's next message, its whole answer for a long poll
}

// next reads the next message on every connection.
func (s *idleSet) next(b *testing.B, p *serverProcess) {
	for i, read := range s.readers {
		if err := read(); err != nil {
			dropped := p.metric(b, regexp.QuoteMeta(`fourway_dropped_total{transport="`+s.transport+`"}`))
			b.Fatalf("connection %d, its next message: %v (the server dropped %v as too slow)", i, err, dropped)
		}
	}
}

func (s *idleSet) close() {
	for _, c := range s.closers {
		c()
	}
}

// openIdle opens n connections of transport that then sit idle, each with
// compression negotiated when compress is true, and never otherwise: a
// connection that did not get what it asked for fails the benchmark (a
// long poll's answer says it, when it comes: idleSet.next).
func openIdle(b *testing.B, p *serverProcess, transport string, compress bool, n int) *idleSet {
	base := p.url
	set := &idleSet{transport: transport}
	const waitingMetric = `fourway_clients{transport="longpoll"}`
	var waiting float64
	if transport == "longpoll" {
		waiting = p.metric(b, regexp.QuoteMeta(waitingMetric))
	}
	ws := "ws" + strings.TrimPrefix(base, "http")
	// The client offers gzip itself, and decodes it itself, when compress:
	// net/http's own offer would hide what the server answered.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true, DisableCompression: true}}
	for i := 0; i < n; i++ {
		switch transport {
		case "ws":
			dialer := websocket.Dialer{EnableCompression: compress}
			c, resp, err := dialer.Dial(ws+"/api/ws", nil)
			if err != nil {
				b.Fatalf("connection %d: %v", i, err)
			}
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.Contains(ext, "permessage-deflate") != compress {
				b.Fatalf("connection %d: Sec-WebSocket-Extensions %q, compression wanted: %v", i, ext, compress)
			}
			c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, _, err := c.ReadMessage(); err != nil { // hello: the server side is set up
				b.Fatal(err)
			}
			set.closers = append(set.closers, func() { c.Close() })
			set.readers = append(set.readers, func() error {
				c.SetReadDeadline(time.Now().Add(time.Minute))
				_, _, err := c.ReadMessage()
				return err
			})
		case "sse":
			req, _ := http.NewRequest(http.MethodGet, base+"/api/sse", nil)
			if compress {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatalf("connection %d: %v", i, err)
			}
			var body io.Reader = resp.Body
			if enc := resp.Header.Get("Content-Encoding"); (enc == "gzip") != compress {
				b.Fatalf("connection %d: Content-Encoding %q, compression wanted: %v", i, enc, compress)
			} else if compress {
				if body, err = gzip.NewReader(resp.Body); err != nil {
					b.Fatalf("connection %d: %v", i, err)
				}
			}
			br := bufio.NewReader(body)
			event := func() error { // reads up to the end of an event with data, past keepalives
				data := false
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return err
					}
					data = data || strings.HasPrefix(line, "data:")
					if line == "\n" && data {
						return nil
					}
				}
			}
			if err := event(); err != nil { // the hello
				b.Fatal(err)
			}
			set.closers = append(set.closers, func() { resp.Body.Close() })
			set.readers = append(set.readers, event)
		case "longpoll":
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				b.Fatalf("connection %d: %v", i, err)
			}
			offer := ""
			if compress {
				offer = "Accept-Encoding: gzip\r\n"
			}
			// Waiting from the newest id on, for longer than the benchmark.
			fmt.Fprintf(c, "GET /api/longpoll?timeout=120 HTTP/1.1\r\nHost: %s\r\n%s\r\n", strings.TrimPrefix(base, "http://"), offer)
			set.closers = append(set.closers, func() { c.Close() })
			set.readers = append(set.readers, func() error {
				c.SetReadDeadline(time.Now().Add(time.Minute))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if enc := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || (enc == "gzip") != compress {
					return fmt.Errorf("%s, Content-Encoding %q, compression wanted: %v", resp.Status, enc, compress)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				return err
			})
		}
	}
	if transport == "longpoll" { // each one waiting, as the server counts them
		p.await(b, waitingMetric, waiting+float64(n))
	}
	return set
}

// BenchmarkLongPollDelivery measures what fourway's own code (echo, the
// middleware, the handler, the shared answer) costs per long-poll
// delivery, without net/http's request cycle or a socket: waiters call
// the handler directly, each asking again from its answer's next, and one
// op is one publish delivered to every waiter. The bench (bench/) measures
// the whole of it over the wire.
func BenchmarkLongPollDelivery(b *testing.B) {
	const waiters = 200
	cfg := transports.DefaultConfig()
	cfg.Ticker = 0
	f := &watchedFeed{Memory: feed.NewMemory(cfg.History)}
	srv, err := transports.New(f, cfg)
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	got := make(chan struct{}, waiters)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &discardWriter{header: http.Header{}}
			next := f.LastID()
			for ctx.Err() == nil {
				r := (&http.Request{Method: http.MethodGet, Host: "127.0.0.1:8080", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
					URL:    &url.URL{Path: "/api/longpoll", RawQuery: "since=" + strconv.FormatUint(next, 10)},
					Header: http.Header{}, RemoteAddr: "127.0.0.1:1"}).WithContext(ctx)
				clear(w.header)
				w.body = w.body[:0]
				serveAborting(h, w, r)
				i := bytes.LastIndex(w.body, []byte(`"next":`))
				if i < 0 {
					continue // cancelled
				}
				n, _ := strconv.ParseUint(string(bytes.TrimRight(w.body[i+7:], "}")), 10, 64)
				if n != next {
					next = n
					got <- struct{}{}
				}
			}
		}()
	}
	rounds := int64(1)
	waitWaiting := func() { // every waiter is held again
		for f.waits.Load() < rounds*waiters {
			runtime.Gosched()
		}
		rounds++
	}
	waitWaiting()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Publish([]byte(`{"pad":"0123456789012345678901234567890123456789"}`)); err != nil {
			b.Fatal(err)
		}
		for range waiters {
			<-got
		}
		waitWaiting()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	deliveries := float64(b.N * waiters)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/deliveries, "B/delivery")
}

// serveAborting serves r as net/http does a handler that aborts: the
// long polls end so once the benchmark cancels them.
func serveAborting(h http.Handler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			panic(p)
		}
	}()
	h.ServeHTTP(w, r)
}

// watchedFeed counts the waits the long polls begin: nothing else asks
// Changed while no stream is open.
type watchedFeed struct {
	*feed.Memory
	waits atomic.Int64
}

func (f *watchedFeed) Changed(cursor uint64) <-chan struct{} {
	f.waits.Add(1)
	return f.Memory.Changed(cursor)
}

// discardWriter is the least a ResponseWriter can be: it keeps the body
// so the waiter reads its next cursor, and costs no socket.
type discardWriter struct {
	header http.Header
	body   []byte
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

// SetWriteDeadline and SetReadDeadline are there as net/http's are:
// http.ResponseController makes an error for a writer without them.
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }
func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }

// BenchmarkLongPollWireDelivery measures what a long-poll delivery costs
// the server over real sockets, on each writer: 100 clients, each on one
// kept-alive connection, ask again from each answer's next; one op is one
// publish delivered to every client. The server runs in a process of its
// own, so its /metrics count its allocations alone (the publishes' share
// included, as in the bench); its CPU is /proc's, in 10 ms ticks.
func BenchmarkLongPollWireDelivery(b *testing.B) {
	const pollers = 100
	for _, writer := range []string{"nethttp", "direct"} {
		b.Run(writer, func(b *testing.B) {
			p := startServerProcess(b, "r3labs", writer, transportstest.Compressing())
			defer p.stop()
			addr := strings.TrimPrefix(p.url, "http://")
			got := make(chan error, pollers)
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range pollers {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c)
				go longPoller(c, addr, got)
			}
			const held = `fourway_clients{transport="longpoll"}`
			p.await(b, held, pollers)
			measureDeliveries(b, p, pollers, got)
		})
	}
}

// measureDeliveries publishes b.N messages, each once every one of the
// clients said on got that it has it, and reports what the deliveries
// cost the server process p: its allocations, bytes allocated and CPU,
// the publishes' share included.
func measureDeliveries(b *testing.B, p *serverProcess, clients int, got <-chan error) {
	m0, a0, c0 := p.metric(b, "go_memstats_mallocs_total"), p.metric(b, "go_memstats_alloc_bytes_total"), p.metric(b, "process_cpu_seconds_total")
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/api/messages", strings.NewReader(`{"pad":"0123456789012345678901234567890123456789"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for range clients {
			if err := <-got; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	m1, a1, c1 := p.metric(b, "go_memstats_mallocs_total"), p.metric(b, "go_memstats_alloc_bytes_total"), p.metric(b, "process_cpu_seconds_total")
	deliveries := float64(b.N * clients)
	b.ReportMetric((m1-m0)/deliveries, "server-allocs/delivery")
	b.ReportMetric((a1-a0)/deliveries, "server-B/delivery")
	b.ReportMetric((c1-c0)*1e6/deliveries, "server-µs/delivery")
}

// longPoller long-polls on c from the newest message on, asking again
// from each answer's next, and says on got each time the cursor moves,
// until c is closed.
func longPoller(c net.Conn, host string, got chan<- error) {
	br := bufio.NewReader(c)
	next := ""
	for {
		q := "timeout=60"
		if next != "" {
			q += "&since=" + next
		}
		if _, err := fmt.Fprintf(c, "GET /api/longpoll?%s HTTP/1.1\r\nHost: %s\r\n\r\n", q, host); err != nil {
			return
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return // closed at the end
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			got <- fmt.Errorf("long poll: %d %q %v", resp.StatusCode, body, err)
			return
		}
		i := bytes.LastIndex(body, []byte(`"next":`))
		if i < 0 {
			got <- fmt.Errorf("long poll: no next in %q", body)
			return
		}
		n := string(bytes.TrimRight(bytes.TrimSpace(body[i+7:]), "}"))
		if n != next { // news (the first answer too: it waited from the newest message)
			got <- nil
		}
		next = n
	}
}

// BenchmarkWebSocketWireDelivery is BenchmarkLongPollWireDelivery's
// measure for WebSocket: 100 clients read every message; one op is one
// publish delivered to every client, written by the dispatchers. With
// FOURWAY_TEST_COMPRESS=1 the server runs with --compress and the clients
// offer permessage-deflate.
func BenchmarkWebSocketWireDelivery(b *testing.B) {
	const clients = 100
	p := startServerProcess(b, "r3labs", "nethttp", transportstest.Compressing())
	defer p.stop()
	ws := "ws" + strings.TrimPrefix(p.url, "http") + "/api/ws"
	got := make(chan error, clients)
	dialer := *websocket.DefaultDialer
	dialer.EnableCompression = transportstest.Compressing()
	for range clients {
		c, _, err := dialer.Dial(ws, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, _, err := c.ReadMessage(); err != nil { // the hello
			b.Fatal(err)
		}
		go func() {
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					return // closed at the end
				}
				if bytes.Contains(m, []byte(`"id":`)) {
					got <- nil
				}
			}
		}()
	}
	measureDeliveries(b, p, clients, got)
}
