package feed

// Opening the JetStream feed while NATS is not ready: a cluster still
// electing its leader, no NATS yet, and the stand-in (Pending) that serves
// meanwhile. Every wait is on an event with a deadline.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"fourway/feed/natstest"
)

// TestJetStreamOpensWhileTheClusterElectsItsLeader: the node asks for its
// stream while the cluster has no meta leader (one server of three runs:
// no quorum), and the servers drop the request without an answer. The
// other two start once the request was seen; the cluster elects a leader
// within seconds. The node asks again and opens, well within its bound.
// (Under one context for the whole start, the node waited all of it for
// the answer to its first request, and failed: "context deadline
// exceeded".)
func TestJetStreamOpensWhileTheClusterElectsItsLeader(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	c.Restart(0)
	watcher, err := nats.Connect(c.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	asked := make(chan struct{}, 1)
	sub, err := watcher.Subscribe("$JS.API.STREAM.INFO.ELECTION", func(*nats.Msg) {
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}

	type result struct {
		f   *JetStream
		err error
	}
	opened := make(chan result, 1)
	go func() {
		f, err := NewJetStream(JetStreamConfig{URL: c.URL(0), Stream: "ELECTION", History: 10, Replicas: 3, Node: "a", StartTimeout: wait})
		opened <- result{f, err}
	}()
	select {
	case <-asked:
	case r := <-opened:
		t.Fatalf("opened before the cluster had a leader: %v", r.err)
	case <-time.After(wait):
		t.Fatal("the node never asked for its stream")
	}
	c.Restart(1)
	c.Restart(2)
	r := <-opened // within StartTimeout, wait
	if r.err != nil {
		t.Fatalf("NewJetStream with the leader elected meanwhile: %v", r.err)
	}
	defer r.f.Disconnect()
	if m := publishJS(t, r.f, 1); m[0].ID != 1 {
		t.Fatalf("first id %d, want 1", m[0].ID)
	}
}

// TestOpenJetStreamWaitsForNATSAndSaysWhy: with no NATS yet, OpenJetStream
// tries again; the stand-in says what it waits for, in Health and Stats,
// and its Changed is the channel Set closes. Once a server listens there,
// the feed opens and the stand-in becomes it.
func TestOpenJetStreamWaitsForNATSAndSaysWhy(t *testing.T) {
	port := natstest.FreePort(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	cfg := JetStreamConfig{URL: url, Stream: "LATE", History: 10, Replicas: 1, Node: "a"}
	p := NewPending(cfg)
	var se *StartingError
	if err := p.Health(); !errors.As(err, &se) || se.Reason != "waiting for NATS at "+url {
		t.Fatalf("Health before the open: %v, want starting: waiting for NATS at %s", err, url)
	}
	changed := p.Changed(0)
	if _, err := p.Publish([]byte(`"early"`)); !errors.As(err, &se) {
		t.Fatalf("Publish before the open: %v, want a StartingError", err)
	}
	if st := p.Stats(); st.JetStream == nil || st.JetStream.Stream != "LATE" || !strings.HasPrefix(st.JetStream.Error, "starting: waiting for NATS") {
		t.Fatalf("Stats before the open: %+v", st.JetStream)
	}

	log := &logLines{}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	opened := make(chan error, 1)
	var f *JetStream
	go func() {
		var err error
		f, err = OpenJetStream(ctx, cfg, p, log.logger())
		opened <- err
	}()
	deadline := time.After(wait)
	for !strings.Contains(log.String(), "waiting for NATS at "+url+": nats: no servers available for connection") {
		select {
		case err := <-opened:
			t.Fatalf("OpenJetStream returned %v with no NATS", err)
		case <-deadline:
			t.Fatalf("no attempt logged in %v:\n%s", wait, log)
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case <-changed:
		t.Fatal("Changed fired before the feed was open")
	default:
	}

	if err := p.Health(); !errors.As(err, &se) || !strings.HasPrefix(se.Reason, "waiting for NATS at "+url) {
		t.Fatalf("Health while it tries again: %v", err)
	}
	natstest.Start(t, func(o *server.Options) { o.Port = port })
	if err := <-opened; err != nil {
		t.Fatalf("OpenJetStream once NATS listens: %v", err)
	}
	defer f.Disconnect()
	select {
	case <-changed:
	default:
		t.Fatal("Changed from before the open is not closed once it is open")
	}
	if err := p.Health(); err != nil {
		t.Fatalf("Health once open: %v", err)
	}
	m, err := p.Publish([]byte(`"now"`))
	if err != nil || m.ID != 1 || p.LastID() != 1 || p.Epoch() != f.Epoch() {
		t.Fatalf("Publish through the stand-in: %+v %v; last %d, epoch %q (feed's %q)", m, err, p.LastID(), p.Epoch(), f.Epoch())
	}
}

// TestPendingClosedBeforeItsFeedClosesTheFeed: a server shut down while its
// feed was opening closed the stand-in; the feed that arrives after
// refuses publishes, as a closed feed does.
func TestPendingClosedBeforeItsFeedClosesTheFeed(t *testing.T) {
	srv := natstest.Start(t)
	p := NewPending(JetStreamConfig{URL: srv.ClientURL(), Stream: "CLOSED", History: 10, Replicas: 1})
	p.Close()
	f := newJS(t, srv.ClientURL(), 10)
	p.Set(f)
	if _, err := p.Publish([]byte(`"late"`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close, then Set: %v, want ErrClosed", err)
	}
}

// TestOpenJetStreamGivesUpWithTheLastReason: when ctx ends, OpenJetStream
// returns what it waited for, naming the URL, redacted.
func TestOpenJetStreamGivesUpWithTheLastReason(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := OpenJetStream(ctx, JetStreamConfig{URL: "nats://fourway:hunter2@127.0.0.1:1", History: 10, Replicas: 1}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "waiting for NATS at nats://fourway:xxxxx@127.0.0.1:1: nats: no servers available for connection") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("OpenJetStream with no NATS: %v, want the last reason with the URL redacted", err)
	}
}

// TestOpenJetStreamRefusesAnotherStreamAtOnce: a stream configured
// otherwise is no reason to wait.
func TestOpenJetStreamRefusesAnotherStreamAtOnce(t *testing.T) {
	srv := natstest.Start(t)
	newJS(t, srv.ClientURL(), 10).Disconnect() // creates TEST with a history of 10
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err := OpenJetStream(ctx, JetStreamConfig{URL: srv.ClientURL(), Stream: "TEST", History: 20, Replicas: 1}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "--history is 20") {
		t.Fatalf("OpenJetStream on a stream of another history: %v, want an error naming --history", err)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nats://fourway:s3cret@nats:4222", "nats://fourway:xxxxx@nats:4222"},
		{"nats://a:1@h1:4222,nats://h2:4222,nats://b:2@h3:4222", "nats://a:xxxxx@h1:4222,nats://h2:4222,nats://b:xxxxx@h3:4222"},
		{"nats://t0ken@nats:4222", "nats://xxxxx@nats:4222"},
		{"nats://u:p@ss@nats:4222", "nats://u:xxxxx@nats:4222"},
		{`parse "nats://u:s3cret@nats:x": invalid port ":x" after host`, `parse "nats://u:xxxxx@nats:x": invalid port ":x" after host`},
		{"nats://nats:4222", "nats://nats:4222"},
		{"no URL at all: a@b", "no URL at all: a@b"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCheckURLs: a --nats URL that does not parse is refused at start; when
// it has user info, the parser's words (which may quote a piece of the
// password) are left out.
func TestCheckURLs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nats://a:1@h1:4222, h2:4222,nats://t0ken@h3", ""},
		{"", "--nats: no URL"},
		{"nats://h1:4222,nats://h2:port", `--nats nats://h2:port: parse "nats://h2:port": invalid port ":port" after host`},
		{"nats://fourway:p4#ss@h1:4222", "--nats nats://fourway:xxxxx@h1:4222: not a URL (in its user info, escape # / ? % @ and spaces as %23 %2F %3F %25 %40 %20)"},
	}
	for _, c := range cases {
		err := checkURLs(c.in)
		if got := fmt.Sprint(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("checkURLs(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestBackoffIsFullJitterCapped(t *testing.T) {
	b := backoff{first: 100 * time.Millisecond, max: 2 * time.Second}
	for n := range 100 {
		ceiling := min(2*time.Second, 100*time.Millisecond<<min(n, 20))
		if d := b.next(); d < 0 || d >= ceiling {
			t.Fatalf("wait %d: %v, want in [0, %v)", n, d, ceiling)
		}
	}
}

// logLines collects a logger's lines.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
