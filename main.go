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
	"strings"
	"syscall"
	"time"

	"fourway/feed"
	"fourway/public"
	"fourway/transports"
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
	history := fs.Int("history", 1000, "messages retained for resume")
	maxMessage := fs.Int("max-message", def.MaxMessage, "bytes of encoded data per message")
	ticker := fs.Duration("ticker", def.Ticker, "built-in publisher period; 0 turns it off")
	heartbeat := fs.Duration("heartbeat", def.Heartbeat, "WebSocket ping period")
	sseKeepalive := fs.Duration("sse-keepalive", def.SSEKeepalive, "SSE comment period")
	longpollTimeout := fs.Duration("longpoll-timeout", def.LongPollTimeout, "hold time when a long poll names none")
	allowedOrigins := fs.String("allowed-origins", "", "comma-separated extra origins allowed to open WebSockets (such as http://localhost:3000)")
	publishToken := fs.String("publish-token", "", "require Authorization: Bearer <token> to publish")
	adminToken := fs.String("admin-token", "", "require Authorization: Bearer <token> for the demo controls")
	maxClients := fs.Int("max-clients", 0, "streaming connections beyond it are refused (0: no limit)")
	publishRate := fs.Float64("publish-rate", 0, "publishes per second allowed per client address (0: no limit)")
	sendQueue := fs.Int("send-queue", 0, "messages a streaming subscriber may fall behind before it is dropped to resume (default: history/4, at most 256)")
	writeTimeout := fs.Duration("write-timeout", def.WriteTimeout, "a streaming client that takes longer to accept one write is cut")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
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

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))

	switch {
	case *history < 1:
		return errors.New("--history must be at least 1")
	case *maxMessage < 1:
		return errors.New("--max-message must be at least 1")
	case *maxClients < 0:
		return errors.New("--max-clients must be 0 (no limit) or more")
	case *publishRate < 0:
		return errors.New("--publish-rate must be 0 (no limit) or more")
	case *sendQueue < 0 || *sendQueue >= *history && *sendQueue > 0:
		return errors.New("--send-queue must be under --history, so a dropped subscriber can resume without loss")
	}
	for name, d := range map[string]time.Duration{"ticker": *ticker, "heartbeat": *heartbeat, "sse-keepalive": *sseKeepalive, "longpoll-timeout": *longpollTimeout, "write-timeout": *writeTimeout} {
		if d < 0 || (d == 0 && name != "ticker") {
			return fmt.Errorf("--%s must be a positive duration", name)
		}
	}
	var origins []string
	for _, o := range strings.Split(*allowedOrigins, ",") {
		if o = strings.TrimSpace(o); o == "*" {
			return errors.New("--allowed-origins: * would let any page open WebSockets as your users; list the origins")
		} else if o != "" {
			origins = append(origins, o)
		}
	}
	queue := *sendQueue
	if queue == 0 {
		queue = max(1, min(256, *history/4))
	}

	f := feed.NewMemory(*history)
	srv := transports.New(f, transports.Config{
		MaxMessage:      *maxMessage,
		Heartbeat:       *heartbeat,
		SSEKeepalive:    *sseKeepalive,
		LongPollTimeout: *longpollTimeout,
		AllowedOrigins:  origins,
		PublishToken:    *publishToken,
		AdminToken:      *adminToken,
		MaxClients:      *maxClients,
		PublishRate:     *publishRate,
		Ticker:          *ticker,
		SendQueue:       queue,
		WriteTimeout:    *writeTimeout,
		Static:          public.Files,
		Logger:          log,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("fourway listening", "url", "http://"+ln.Addr().String(), "history", *history, "ticker", ticker.String())
	return srv.Serve(ctx, ln)
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
