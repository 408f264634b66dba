package feed

// How a JetStream feed opens when NATS is not ready yet: started as
// docker compose or Kubernetes start things, all at once, a node may come
// up before NATS listens, or while its JetStream cluster is still electing
// a leader. The node waits for it, says why (Pending, pending.go), and
// tries again with backoff until its context ends (--nats-wait).
//
// Each request to JetStream waits at most RequestTimeout, and one that
// goes unanswered is sent again: it was most likely dropped. A cluster
// that has just started has no meta leader for a moment (0.6 s, measured
// with three embedded servers; Debian's 2.9 the same). Until it has one, a
// server that is not the leader drops a stream request without a word
// (nats-server's jsStreamCreateRequest and jsStreamInfoRequest return
// without an answer unless they are the meta leader); it only answers
// "JetStream cluster not available" once the cluster has been without a
// leader for lostQuorumInterval, 10 s after its start. The leader elected
// a moment later never sees the request, and the client library sends a
// request once and waits for its context. Under one 10 s context for the
// whole start, as before, a node that asked during the election waited all
// of it for an answer that was never coming, and exited, although the
// leader was there after half a second.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The backoff between two attempts to open the feed: full jitter, a random
// wait from 0 to a ceiling that doubles from retryFirst up to retryMax, so
// that nodes started together do not ask together.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 2 * time.Second
)

// OpenJetStream opens the feed cfg describes, as NewJetStream does, but
// waits for NATS and its JetStream: while they are not ready it tries
// again, with backoff, until ctx ends, and returns the last reason then.
// Only a stream configured otherwise than cfg asks is an error at once: no
// wait mends it. Each step, in words, goes to p (when not nil), and each
// failed attempt to log at info (when not nil); once open, the feed is
// handed to p (Pending.Set) and returned.
//
// Every URL it prints, in its errors and reasons, has its user info hidden
// (Redact).
func OpenJetStream(ctx context.Context, cfg JetStreamConfig, p *Pending, log *slog.Logger) (*JetStream, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &opener{cfg: cfg, url: Redact(cfg.URL), pending: p, log: log}
	started := time.Now()
	b := backoff{first: retryFirst, max: retryMax}
	for attempt := 1; ; attempt++ {
		f, err := o.attempt(ctx)
		if err == nil {
			if p != nil {
				p.Set(f)
			}
			return f, nil
		}
		reason := Redact(err.Error())
		gaveUp := func() error {
			o.close()
			return fmt.Errorf("--nats %s: not ready after %v and %d attempts: %s", o.url, time.Since(started).Round(time.Millisecond), attempt, reason)
		}
		var fe final
		if errors.As(err, &fe) {
			o.close()
			return nil, redacted(err)
		}
		if ctx.Err() != nil {
			return nil, gaveUp()
		}
		wait := b.next()
		o.step(reason)
		log.Info("the feed is not ready: trying again", "attempt", attempt, "reason", reason, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, gaveUp()
		}
	}
}

// opener is one opening of the feed: its connection, kept from one
// attempt to the next (the client reconnects it by itself), and where it
// reports its steps.
type opener struct {
	cfg     JetStreamConfig
	url     string // cfg.URL, redacted: the one to print
	pending *Pending
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
}

// step says what the opening waits for now (in the log at debug).
func (o *opener) step(reason string) {
	o.log.Debug("opening the feed", "step", reason)
	if o.pending != nil {
		o.pending.starting(reason)
	}
}

// close closes the connection of an opening given up.
func (o *opener) close() {
	if o.nc != nil {
		o.nc.Close()
	}
}

// attempt tries once to open the feed: connect (unless connected), find or
// create the stream, follow it and catch up with what it holds. Its error
// says at which step it stopped.
func (o *opener) attempt(ctx context.Context) (*JetStream, error) {
	cfg := o.cfg
	if o.nc == nil {
		o.step("waiting for NATS at " + o.url)
		nc, err := nats.Connect(cfg.URL, append([]nats.Option{
			nats.Name("fourway " + cfg.Node),
			nats.Timeout(cfg.RequestTimeout),
			nats.MaxReconnects(-1), // a node keeps trying; Health says it is cut
			nats.ReconnectWait(250 * time.Millisecond),
			nats.ReconnectBufSize(-1), // no buffered publishes: an unacknowledged publish fails instead
		}, cfg.Options...)...)
		if err != nil {
			return nil, fmt.Errorf("waiting for NATS at %s: %w", o.url, err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, final{fmt.Errorf("--nats %s: %w", o.url, err)}
		}
		o.nc, o.js = nc, js
	}
	if !o.nc.IsConnected() {
		return nil, fmt.Errorf("waiting for NATS at %s: %s", o.url, o.nc.Status())
	}
	f := &JetStream{
		cfg:     cfg,
		subject: Subject(cfg.Stream),
		nc:      o.nc,
		js:      o.js,
		poke:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	info, err := f.openStream(ctx, o.url, o.step)
	if err == nil {
		o.step(fmt.Sprintf("catching up with the stream %s (%d messages)", cfg.Stream, info.State.Msgs))
		err = f.begin(ctx, info)
	}
	if err == nil {
		err = f.catchUp(ctx, info.State.LastSeq)
	}
	if err != nil {
		f.stopConsumer()
		return nil, err
	}
	f.check = checkResult{at: time.Now(), info: info}
	go f.watch()
	return f, nil
}

// final is an error no wait mends, such as a stream configured otherwise:
// OpenJetStream returns it at once.
type final struct{ error }

func (e final) Unwrap() error { return e.error }

// ask makes one request to JetStream, bounded by d within ctx. A request
// that d passes without an answer was most likely dropped (see the top of
// this file): the caller sends it again, and ask says so in words.
func ask[T any](ctx context.Context, d time.Duration, request func(context.Context) (T, error)) (T, error) {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := request(rctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("no answer within %v", d)
	}
	return v, err
}

// backoff is full jitter, capped: the n-th wait is a random time from 0 to
// min(max, first·2ⁿ).
type backoff struct {
	first, max time.Duration
	n          int
}

func (b *backoff) next() time.Duration {
	ceiling := b.max
	if b.n < 20 { // past it, first·2ⁿ is above any max
		ceiling = min(b.max, b.first<<b.n)
	}
	b.n++
	return rand.N(ceiling)
}

// userInfo matches what stands between a URL's "://" and its "@": a user
// and password, or NATS's token. It runs to the last "@" before a slash,
// a space or a quote, so a password with an "@" left unescaped is hidden
// whole.
var userInfo = regexp.MustCompile(`://[^/\s"']*@`)

// Redact hides the user info of every URL in s: a password becomes xxxxx,
// as url.URL.Redacted writes it (nats://fourway:xxxxx@host), and a user
// name alone, which NATS takes as a token, becomes xxxxx too. It works on
// any text, not only on a URL that parses, since the URL that does not
// parse is the one the parser's error quotes, and on --nats's
// comma-separated lists.
func Redact(s string) string {
	return userInfo.ReplaceAllStringFunc(s, func(m string) string {
		info := m[len("://") : len(m)-1]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return "://" + user + ":xxxxx@"
		}
		return "://xxxxx@"
	})
}

// checkURLs checks that each of --nats's comma-separated URLs parses, as
// the NATS client will parse it (nats:// when it names no scheme), so that
// one that cannot is refused at start, not tried again for --nats-wait.
// The parser's words are left out for a URL with user info: they may
// quote a piece of a password that is not escaped ("invalid port \":p4\"").
func checkURLs(list string) error {
	if strings.TrimSpace(list) == "" {
		return errors.New("--nats: no URL")
	}
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		if _, err := url.Parse(u); err != nil {
			if userInfo.MatchString(u) {
				return fmt.Errorf("--nats %s: not a URL (in its user info, escape # / ? %% @ and spaces as %%23 %%2F %%3F %%25 %%40 %%20)", Redact(u))
			}
			return fmt.Errorf("--nats %s: %v", u, err)
		}
	}
	return nil
}

// redactedError is err with the user info of every URL in its text
// hidden; errors.Is and errors.As still see err.
type redactedError struct{ err error }

func (e redactedError) Error() string { return Redact(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

func redacted(err error) error { return redactedError{err} }
