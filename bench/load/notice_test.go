package load

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fourway/public"
)

// How the bench's clients notice a link gone silent is the page's rule,
// with the page's numbers: these tests read the numbers from the page's
// own files, and hold each poller to its deadline (the heartbeat and the
// SSE watchdog are timed in watchdog_test.go).

// TestRulesAreThePages: each timing the bench's clients follow (rules.go)
// is the one the page's files say, so a change on either side fails here
// until the other follows.
func TestRulesAreThePages(t *testing.T) {
	for _, c := range []struct {
		file, pattern string
		bench         time.Duration
		unit          time.Duration // of the number in the page's file
	}{
		{"sse.js", `(?m)^const WATCH_MS = ([0-9_]+);`, sseWatch, time.Millisecond},
		{"sse.js", `(?m)^const UNANSWERED = ([0-9]+);`, sseUnanswered, 1}, // a count: unit 1
		{"poll.js", `(?m)^const TIMEOUT_MS = ([0-9_]+);`, pollDeadline, time.Millisecond},
		{"longpoll.js", `(?m)^const GRACE_MS = ([0-9_]+);`, longPollGrace, time.Millisecond},
		{"longpoll.js", `const timeout = first \? ([0-9]+) : this\.timeout;`, longPollFirst * time.Second, time.Second},
		{"network.js", `(?m)^export const HEALTHY_MS = ([0-9_]+);`, healthyAfter, time.Millisecond},
		{"network.js", `constructor\(base = ([0-9_]+), cap = [0-9_]+\)`, backoffBase, time.Millisecond},
		{"network.js", `constructor\(base = [0-9_]+, cap = ([0-9_]+)\)`, backoffCap, time.Millisecond},
	} {
		src, err := public.Files.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(c.pattern).FindSubmatch(src)
		if m == nil {
			t.Errorf("%s: no %s", c.file, c.pattern)
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(string(m[1]), "_", ""))
		if err != nil {
			t.Fatal(err)
		}
		if page := time.Duration(n) * c.unit; page != c.bench {
			if c.unit == 1 { // a count, not a duration
				t.Errorf("%s says %d (%s), the bench's rules %d", c.file, page, c.pattern, c.bench)
				continue
			}
			t.Errorf("%s says %s (%s), the bench's rules %s", c.file, page, c.pattern, c.bench)
		}
	}
}

// TestPollersGiveUpAtTheirDeadline: a request the server never answers
// is given up at the page's deadline, and no sooner, noticed as a
// deadline, and asked again: a short poll's deadline (shortened here), a
// long poll's hold and grace (the page's own 5 s: this subtest takes 7 s).
// The long poll asks the server's hold once an answer came (2 s here),
// and 1 s on the first request after a failure.
func TestPollersGiveUpAtTheirDeadline(t *testing.T) {
	t.Parallel()
	// The request left the client before the server saw it: on loopback
	// by less than this.
	const sent = 10 * time.Millisecond
	t.Run("poll", func(t *testing.T) {
		t.Parallel()
		var held atomic.Int64 // Mono when the unanswered request came
		srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
			if step == 0 {
				held.Store(Mono())
				<-r.Context().Done()
			}
			fmt.Fprint(w, `{"epoch":"E","messages":[],"next":1}`)
		})
		s := testSub(srv.URL, 10*time.Millisecond)
		s.rules.deadline = 200 * time.Millisecond
		s.win.outageStart.Store(Mono())
		runSub(t, s, fourwayPoll, waitFor(func() bool { return srv.requests() >= 2 }))
		checkDeadline(t, s, held.Load(), s.rules.deadline-sent)
	})
	t.Run("longpoll", func(t *testing.T) {
		t.Parallel()
		const hold = 2
		var held atomic.Int64
		srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
			want := map[int]string{0: "1", 1: strconv.Itoa(hold), 2: "1"}[step]
			if got := r.URL.Query().Get("timeout"); want != "" && got != want {
				t.Errorf("request %d asks a hold of %q s, want %s", step, got, want)
			}
			if step == 1 {
				held.Store(Mono())
				<-r.Context().Done()
			}
			fmt.Fprint(w, `{"epoch":"E","messages":[],"next":1}`)
		})
		s := testSub(srv.URL, time.Hour)
		s.rules.hold = hold
		s.win.outageStart.Store(Mono())
		runSub(t, s, fourwayLongPoll, waitFor(func() bool { return srv.requests() >= 3 }))
		checkDeadline(t, s, held.Load(), hold*time.Second+longPollGrace-sent)
	})
}

// checkDeadline checks that s gave a request up, noticed as a deadline,
// at least least after the server began to hold it (at held, Mono), and
// within a few seconds more.
func checkDeadline(t *testing.T, s *sub, held int64, least time.Duration) {
	t.Helper()
	at, how := s.rules.noticed.Load(), s.rules.noticeHow.Load()
	if held == 0 || at == 0 || how == nil || *how != "deadline" {
		t.Fatalf("the unanswered request was not given up by its deadline (held at %d, noticed at %d)", held, at)
	}
	d := time.Duration(at - held)
	if d < least || d > least+5*time.Second {
		t.Errorf("given up %s after the server began to hold it, want %s or a little more", d, least)
	}
	t.Logf("given up %s after the server began to hold it (at least %s)", d, least)
}
