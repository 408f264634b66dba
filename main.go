// Command fourway serves one message feed over short polling, long polling,
// Server-Sent Events and WebSocket at the same time, with a page that shows
// the four side by side. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"fourway/feed"
	"fourway/public"
	"fourway/transports"
	"fourway/transports/links"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fourway:", err)
		os.Exit(1)
	}
}

// run starts the server and serves until ctx is done. Every flag can also be
// set with an environment variable FOURWAY_<NAME> (FOURWAY_HISTORY=5000);
// a flag on the command line wins.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	def := transports.DefaultConfig()
	fs := flag.NewFlagSet("fourway", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	history := fs.Int("history", def.History, "messages retained for resume")
	maxMessage := fs.Int("max-message", def.MaxMessage, "bytes of encoded data per message")
	ticker := fs.Duration("ticker", def.Ticker, "built-in publisher period; 0 turns it off")
	heartbeat := fs.Duration("heartbeat", def.Heartbeat, "WebSocket ping period")
	sseKeepalive := fs.Duration("sse-keepalive", def.SSEKeepalive, "SSE comment period")
	sseWriter := fs.String("sse-writer", def.SSEWriter, `what writes SSE streams: "r3labs" (the library) or "direct" (fourway's own writer, to measure the protocol without the library)`)
	longpollWriter := fs.String("longpoll-writer", def.LongPollWriter, `what serves held long polls: "nethttp" (net/http, as every request) or "direct" (fourway's own HTTP/1.1 path, to measure what net/http's request cycle costs)`)
	compress := fs.Bool("compress", def.Compress, "compress for the clients that ask: permessage-deflate on WebSockets, gzip on SSE and poll answers (not with the direct writers)")
	longpollTimeout := fs.Duration("longpoll-timeout", def.LongPollTimeout, "hold time when a long poll names none")
	allowedOrigins := fs.String("allowed-origins", "", "comma-separated extra origins allowed to open WebSockets and send POSTs (such as http://localhost:3000)")
	allowedHosts := fs.String("allowed-hosts", "", "comma-separated host names a request may name in Host, beside IP addresses and localhost")
	publishToken := fs.String("publish-token", "", "require this token to publish (Authorization: Bearer, or ?token= on a WebSocket)")
	adminToken := fs.String("admin-token", "", "require Authorization: Bearer <token> for the demo controls")
	maxClients := fs.Int("max-clients", 0, "streaming connections beyond it are refused (0: no limit)")
	publishRate := fs.Float64("publish-rate", 0, "publishes per second allowed per client address (0: no limit)")
	sendTimeout := fs.Duration("send-timeout", def.SendTimeout, "a streaming subscriber whose socket takes no bytes for this long is dropped, to resume")
	sendBuffer := fs.Int("send-buffer", def.SendBuffer, "bytes the kernel may queue for one client (the socket send buffer)")
	writeTimeout := fs.Duration("write-timeout", def.WriteTimeout, "a client that takes longer to accept one write is cut")
	readTimeout := fs.Duration("read-timeout", def.ReadTimeout, "time a client has to send a request body")
	headerTimeout := fs.Duration("header-timeout", def.HeaderTimeout, "time a client has to finish its TLS handshake and send a request's line and headers (over HTTP/2, its header block)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM), with --tls-key")
	tlsKey := fs.String("tls-key", "", "the key of --tls-cert (PEM)")
	tlsSelfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a certificate made at start for localhost, 127.0.0.1 and ::1 (demos; its fingerprint is logged)")
	http2 := fs.Bool("http2", def.HTTP2, "with TLS, offer HTTP/2 beside HTTP/1.1; false serves HTTP/1.1 only, to compare")
	h2c := fs.Bool("h2c", false, "without TLS, also serve cleartext HTTP/2 to clients that start with it (prior knowledge; for the bench)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	natsURL := fs.String("nats", "", "NATS server URL(s), comma-separated: the feed lives in a JetStream stream, shared with every node on it (none: in memory, this process only)")
	natsStream := fs.String("nats-stream", "FOURWAY", "the JetStream stream of the feed, created if absent")
	natsReplicas := fs.Int("nats-replicas", 1, "copies of the stream kept by a NATS cluster (3 for a 3-node cluster)")
	natsWait := fs.Duration("nats-wait", time.Minute, "how long a node waits for NATS and its JetStream at start, serving /healthz 503 meanwhile, before it exits (0: forever)")
	node := fs.String("node", "", "this node's name, shown in /api/config and the stats (default with --nats: the host name)")
	linksFlag := fs.String("links", "", "emulated network links to open in front of the server, each on its own 127.0.0.1 port: all, or names from "+strings.Join(links.Names(), ", ")+" (none by default)")
	linksPort := fs.Int("links-port", 0, "the port of the first link of the table (loopback), the next one's + 1, and so on (0: the server's port + 1)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the whole run to this file, for go tool pprof (the bench's -server-profile)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))

	origins, err := list("allowed-origins", *allowedOrigins)
	if err != nil {
		return err
	}
	hosts, err := list("allowed-hosts", *allowedHosts)
	if err != nil {
		return err
	}

	cfg := def
	cfg.MaxMessage, cfg.History, cfg.Ticker = *maxMessage, *history, *ticker
	cfg.Heartbeat, cfg.SSEKeepalive, cfg.LongPollTimeout = *heartbeat, *sseKeepalive, *longpollTimeout
	cfg.SSEWriter, cfg.LongPollWriter, cfg.Compress = *sseWriter, *longpollWriter, *compress
	cfg.AllowedOrigins, cfg.AllowedHosts = origins, hosts
	cfg.PublishToken, cfg.AdminToken = *publishToken, *adminToken
	cfg.MaxClients, cfg.PublishRate = *maxClients, *publishRate
	cfg.SendTimeout, cfg.SendBuffer = *sendTimeout, *sendBuffer
	cfg.WriteTimeout, cfg.ReadTimeout, cfg.HeaderTimeout = *writeTimeout, *readTimeout, *headerTimeout
	// Long enough for a stuck client's last write to time out.
	cfg.ShutdownTimeout = max(def.ShutdownTimeout, *writeTimeout+5*time.Second)
	cfg.Static, cfg.Logger = public.Files, log
	cfg.Node = *node
	cfg.HTTP2, cfg.H2C = *http2, *h2c
	scheme := "http"
	switch {
	case *tlsSelfSigned && (*tlsCert != "" || *tlsKey != ""):
		return errors.New("--tls-self-signed makes its own certificate: give it, or --tls-cert and --tls-key, not both")
	case *tlsSelfSigned:
		var fingerprint string
		if cfg.TLS, fingerprint, err = transports.SelfSignedTLS(); err != nil {
			return fmt.Errorf("--tls-self-signed: %w", err)
		}
		log.Info("self-signed certificate for localhost, 127.0.0.1 and ::1", "sha256", fingerprint)
		scheme = "https"
	case *tlsCert != "" || *tlsKey != "":
		if cfg.TLS, err = transports.LoadTLS(*tlsCert, *tlsKey); err != nil {
			return err
		}
		scheme = "https"
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	profiles, err := links.Parse(*linksFlag)
	if err != nil {
		return fmt.Errorf("--links: %w", err)
	}
	if *linksPort < 0 || *linksPort+len(links.Profiles) > 65536 {
		return fmt.Errorf("--links-port must be from 1 to %d, or 0 (the server's port + 1), not %d", 65536-len(links.Profiles), *linksPort)
	}
	var f transports.Feed = feed.NewMemory(*history)
	var nats *natsFeed
	if *natsURL != "" {
		if cfg.Node == "" {
			cfg.Node, _ = os.Hostname()
		}
		if *natsWait < 0 {
			return fmt.Errorf("--nats-wait must be 0 (forever) or more, not %v", *natsWait)
		}
		jcfg := feed.JetStreamConfig{URL: *natsURL, Stream: *natsStream, History: *history, Replicas: *natsReplicas, Node: cfg.Node}
		if err := jcfg.Validate(); err != nil {
			return err
		}
		nats = &natsFeed{cfg: jcfg, wait: *natsWait, pending: feed.NewPending(jcfg), done: make(chan struct{})}
		f = nats.pending // the server listens at once, and says it is starting until the feed is open
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	opened, err := openLinks(profiles, *linksPort, ln.Addr())
	defer func() {
		for _, l := range opened {
			l.Close()
		}
	}()
	if err != nil {
		ln.Close()
		return err
	}
	for _, l := range opened {
		cfg.Links = append(cfg.Links, linkOf(l, scheme))
		log.Info("link", "name", l.Name, "url", scheme+"://"+l.Addr()+"/", "emulates", l.Profile.String())
	}
	srv, err := transports.New(f, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	attrs := []any{"url", scheme + "://" + ln.Addr().String(), "history", *history, "ticker", ticker.String()}
	if cfg.Node != "" {
		attrs = append(attrs, "node", cfg.Node)
	}
	log.Info("fourway listening", attrs...)
	if nats == nil {
		return srv.Serve(ctx, ln)
	}
	serving, stop := context.WithCancel(ctx)
	defer stop()
	go nats.open(serving, stop, log)
	err = srv.Serve(serving, ln)
	stop()
	if openErr := nats.disconnect(); openErr != nil && ctx.Err() == nil {
		return openErr // the wait ran out, or the stream is not the one asked for
	}
	return err
}

// openLinks starts the links of profiles in front of the server listening
// on addr. Each listens on 127.0.0.1 at a port of its own: first + its
// place in links.Profiles, first being --links-port, or the server's port
// + 1, so that a link keeps its address whichever others are on (3g is
// 8084 beside a server on 8080). A server on port 0 (any free one) gets
// links on any free ports. On an error it returns the links it opened.
func openLinks(profiles []links.Profile, first int, addr net.Addr) ([]*links.Link, error) {
	tcp, _ := addr.(*net.TCPAddr)
	if first == 0 && tcp != nil && tcp.Port != 0 {
		first = tcp.Port + 1
	}
	var opened []*links.Link
	for _, p := range profiles {
		port := 0
		if first > 0 {
			port = first + links.Place(p.Name)
		}
		l, err := links.Start(p, net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), links.Upstream(addr))
		if err != nil {
			return opened, fmt.Errorf("--links: %w (--links-port chooses other ports)", err)
		}
		opened = append(opened, l)
	}
	return opened, nil
}

// linkOf is what the server says of l in GET /api/config.
func linkOf(l *links.Link, scheme string) transports.Link {
	kbps := func(v int) int {
		if v == links.Unlimited {
			return 0 // not limited: the field is left out
		}
		return v
	}
	return transports.Link{Name: l.Name, URL: scheme + "://" + l.Addr() + "/",
		RTTMS: l.RTT.Milliseconds(), JitterMS: l.Jitter.Milliseconds(), DownKbps: kbps(l.DownKbps), UpKbps: kbps(l.UpKbps),
		OutageEveryMS: l.OutageEvery.Milliseconds(), OutageMS: l.OutageFor.Milliseconds(), Tunnel: l.Tunnel}
}

// natsFeed is the feed of a node with --nats: it opens in the background
// (feed.OpenJetStream) while the server already answers, through pending.
type natsFeed struct {
	cfg     feed.JetStreamConfig
	wait    time.Duration // --nats-wait; 0: forever
	pending *feed.Pending

	done chan struct{} // closed when open has returned
	js   *feed.JetStream
	err  error
}

// open opens the feed, trying for the wait, within ctx; on failure it ends
// the serving (stop) and keeps why.
func (n *natsFeed) open(ctx context.Context, stop context.CancelFunc, log *slog.Logger) {
	defer close(n.done)
	if n.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.wait)
		defer cancel()
	}
	n.js, n.err = feed.OpenJetStream(ctx, n.cfg, n.pending, log)
	if n.err != nil {
		if n.wait > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			n.err = fmt.Errorf("%w (--nats-wait %v)", n.err, n.wait)
		}
		stop()
		return
	}
	log.Info("feed on JetStream", "nats", feed.Redact(n.cfg.URL), "stream", n.cfg.Stream, "replicas", n.cfg.Replicas, "epoch", n.js.Epoch(), "last_id", n.js.LastID())
}

// disconnect waits for open to return, disconnects the feed if it was
// opened, and returns open's error. Call it once the server has stopped:
// its shutdown still delivers what the stream acknowledged.
func (n *natsFeed) disconnect() error {
	<-n.done
	if n.js != nil {
		n.js.Disconnect()
	}
	return n.err
}

// list splits a comma-separated flag; * is refused, since it would let
// any page act as your users.
func list(name, v string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(v, ",") {
		if o = strings.TrimSpace(o); o == "*" {
			return nil, fmt.Errorf("--%s: * would let any page act as your users; list them", name)
		} else if o != "" {
			out = append(out, o)
		}
	}
	return out, nil
}

// applyEnv sets every flag not given on the command line from its
// environment variable, FOURWAY_ and the flag's name in capitals with _ for -.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "FOURWAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}
