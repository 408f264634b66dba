package load

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// These tests play a server that goes silent without closing anything,
// as a link in a tunnel does, and check that each client gives its
// connection up by the page's rule, and no sooner, then comes back.

// TestBackoffFullJitterAndTheHerd: the n-th retry in a row waits below
// min(20 s, 500 ms·2ⁿ), drawn at random (the page's full jitter); under
// -herd it waits exactly that ceiling, every client alike; a stream that
// was healthy for 5 s starts over at the smallest wait.
func TestBackoffFullJitterAndTheHerd(t *testing.T) {
	var r rules
	for n, ceiling := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 20 * time.Second, 20 * time.Second} {
		if d := r.backoff(); d < 0 || d > ceiling {
			t.Errorf("retry %d waits %s, want 0 to %s", n, d, ceiling)
		}
	}
	herd := rules{herd: true}
	for n, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
		if d := herd.backoff(); d != want {
			t.Errorf("-herd: retry %d waits %s, want %s", n, d, want)
		}
	}
	herd.openedAt = Mono() - int64(healthyAfter) // a stream up for 5 s just ended
	if d := herd.retryWait(); d != backoffBase {
		t.Errorf("after a healthy stream the retry waits %s, want %s", d, backoffBase)
	}
	herd.openedAt = Mono() // one that ended at once
	if d := herd.retryWait(); d != 2*backoffBase {
		t.Errorf("after a stream that failed at once the retry waits %s, want %s", d, 2*backoffBase)
	}
}

// TestWSHeartbeatFindsASilentConnection: a server that says hello with a
// heartbeat of 40 ms, then sends nothing and answers no ping, is given up
// by the client's watchdog (two periods without a frame, no sooner), and
// the client connects again.
func TestWSHeartbeatFindsASilentConnection(t *testing.T) {
	t.Parallel()
	const period = 40 * time.Millisecond
	up := websocket.Upgrader{}
	pings := make(chan string, 16)
	hello := make(chan int64, 2)
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		hello <- Mono()
		wsSend(t, conn, step, fmt.Sprintf(`{"type":"hello","next":1,"epoch":"E","heartbeat_ms":%d}`, period.Milliseconds()))
		for { // read the client's pings; never answer
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			select {
			case pings <- string(b):
			default:
			}
		}
	})
	s := testSub(srv.URL, time.Hour)
	s.win.outageStart.Store(Mono()) // the silence began now
	runSub(t, s, fourwayWS, waitFor(func() bool { return srv.requests() == 2 }))
	first := <-hello
	at, how := s.rules.noticed.Load(), s.rules.noticeHow.Load()
	if at == 0 || how == nil || *how != "watchdog" {
		t.Fatalf("the client did not give the connection up by its watchdog (noticed at %d)", at)
	}
	if d := time.Duration(at - first); d < 2*period {
		t.Errorf("gave up %s after the hello, before two periods (%s) without a frame", d, 2*period)
	}
	if p := <-pings; p != `{"type":"ping"}` {
		t.Errorf("the client's heartbeat sent %q, want {\"type\":\"ping\"}", p)
	}
	if srv.requests() < 2 || s.reconnects < 1 {
		t.Errorf("%d connections, %d reconnects: the client did not come back", srv.requests(), s.reconnects)
	}
}

// TestSSEWatchdogFindsASilentStream: a stream that says hello, then
// brings nothing while GET /api/stats says the feed holds a newer message
// at two checks in a row, is given up by the watchdog and opened again
// with Last-Event-ID; a quiet feed (stats at the client's cursor) never
// is. Through a silent link the check gets no answer either: after
// sseUnanswered such checks, asked one after the other once the stream
// was silent a watch, the stream is given up, and no sooner; but a check
// without an answer while an event came meanwhile is no sign.
func TestSSEWatchdogFindsASilentStream(t *testing.T) {
	t.Parallel()
	const watch = 30 * time.Millisecond
	for _, c := range []struct {
		name   string
		lastID int  // the feed's last id in the stats' answers
		hang   bool // the stats never answer
		event  bool // an event comes on the stream while each check waits
		cut    bool // the stream must be given up
	}{
		{"a message the stream never brings", 9, false, false, true},
		{"a quiet feed", 1, false, false, false},
		{"a silent link: no answer and no event", 0, true, false, true},
		{"no answer but an event meanwhile", 0, true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checks := make(chan struct{}, 64)
			streams := make(chan string, 4)
			hello := make(chan int64, 4)
			asked := make(chan struct{}, 64) // a check came, for the stream to answer with an event
			srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/stats" {
					checks <- struct{}{}
					if c.hang {
						asked <- struct{}{}
						<-r.Context().Done() // no answer: the client's deadline ends it
						return
					}
					fmt.Fprintf(w, `{"feed":{"last_id":%d}}`, c.lastID)
					return
				}
				streams <- r.Header.Get("Last-Event-ID")
				hello <- Mono()
				sseFake(w, r, "id: E:1\nevent: hello\ndata: {\"next\":1,\"epoch\":\"E\"}\n\n", false)
				sseEventOnCheck(w, r, c.event, asked)
			})
			s := testSub(srv.URL, time.Hour)
			s.rules.watch = watch
			s.win.outageStart.Store(Mono())
			// A client that must not give up is watched for ten checks.
			stop := waitFor(func() bool { return len(streams) >= 2 || len(checks) >= 10 })
			runSub(t, s, fourwaySSE, stop)
			<-streams // the first stream
			at := s.rules.noticed.Load()
			if !c.cut {
				if at != 0 || len(streams) != 0 {
					t.Errorf("the stream was given up after %d checks (noticed at %d, %d streams more)", len(checks), at, len(streams))
				}
				return
			}
			if at == 0 || *s.rules.noticeHow.Load() != "watchdog" {
				t.Fatal("the watchdog did not give the silent stream up")
			}
			if len(checks) < 2 {
				t.Errorf("given up after %d stats checks, want 2 at least", len(checks))
			}
			if last := <-streams; last != "E:1" {
				t.Errorf("the stream was opened again with Last-Event-ID %q, want E:1", last)
			}
			if d, least := time.Duration(at-<-hello), watch+sseUnanswered*watch; c.hang && d < least {
				t.Errorf("given up %s after the hello, before a watch of silence and %d checks' deadlines (%s)", d, sseUnanswered, least)
			}
		})
	}
}

// sseEventOnCheck holds a fake stream open; with event, it sends a
// message each time a check comes (asked), as a stream that is alive
// while the stats are slow.
func sseEventOnCheck(w http.ResponseWriter, r *http.Request, event bool, asked <-chan struct{}) {
	for id := 2; ; id++ {
		select {
		case <-r.Context().Done():
			return
		case <-asked:
		}
		if event {
			fmt.Fprintf(w, "id: E:%d\ndata: %s\n\n", id, testMsg(int64(id), int64(id)))
			w.(http.Flusher).Flush()
		}
	}
}

// TestPollDeadlineGivesARequestUp: a poll the server never answers is
// given up at the page's deadline, and noticed as such.
func TestPollDeadlineGivesARequestUp(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // silent
	})
	s := testSub(srv.URL, 10*time.Millisecond)
	s.rules.deadline = 50 * time.Millisecond
	s.win.outageStart.Store(Mono())
	runSub(t, s, fourwayPoll, waitFor(func() bool { return srv.requests() >= 2 }))
	if how := s.rules.noticeHow.Load(); how == nil || *how != "deadline" {
		t.Fatal("the poll's deadline did not give the request up")
	}
}

// TestNchanWSHeartbeat: Nchan's WebSocket client sends the text "ping"
// every period, which the peer's nginx.conf makes Nchan answer "pong";
// a connection that answers is kept (a pong is heard, and is no
// message), one that stays silent two periods is given up by the
// watchdog and dialled again.
func TestNchanWSHeartbeat(t *testing.T) {
	t.Parallel()
	const period = 40 * time.Millisecond
	for _, answer := range []bool{true, false} {
		t.Run(fmt.Sprintf("answers %v", answer), func(t *testing.T) {
			t.Parallel()
			up := websocket.Upgrader{Subprotocols: []string{"ws+meta.nchan"}}
			pings := make(chan string, 64)
			srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
				conn, err := up.Upgrade(w, r, nil)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				for {
					_, b, err := conn.ReadMessage()
					if err != nil {
						return
					}
					pings <- string(b)
					if answer {
						wsSend(t, conn, step, "pong")
					}
				}
			})
			s := testSub(srv.URL, time.Hour)
			s.cursor, s.rules.heartbeat = "100:1", period
			s.win.outageStart.Store(Mono())
			runSub(t, s, nchanWS, waitFor(func() bool { return srv.requests() == 2 || len(pings) >= 6 }))
			select {
			case p := <-pings:
				if p != "ping" {
					t.Errorf("the client's heartbeat sent %q, want ping", p)
				}
			default:
				t.Error("the client sent no heartbeat")
			}
			how := s.rules.noticeHow.Load()
			switch {
			case answer && (how != nil || srv.requests() != 1 || s.anomalies != 0):
				t.Errorf("a connection that answered pong was given up (%v) or counted %d anomalies over %d connections", how, s.anomalies, srv.requests())
			case !answer && (how == nil || *how != "watchdog" || srv.requests() != 2):
				t.Errorf("a silent connection was not given up by the watchdog and dialled again (%d connections)", srv.requests())
			}
		})
	}
}

// TestNchanSSEWatchdog: Nchan's SSE client asks the channel's info for
// its last id when the stream brings no event; a message the channel had
// at two checks in a row that never came gives the stream up, and it is
// opened again from the last id; a quiet channel never does. Its ": ping"
// comments are not heard.
func TestNchanSSEWatchdog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, lastID string
		cut          bool
	}{{"a message the stream never brings", "100:9", true}, {"a quiet channel", "100:1", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checks := make(chan struct{}, 64)
			streams := make(chan string, 4)
			srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/pub" {
					fmt.Fprintf(w, `{"messages":2,"last_message_id":%q}`, c.lastID)
					checks <- struct{}{}
					return
				}
				streams <- r.Header.Get("Last-Event-ID")
				sseFake(w, r, ": hi\n\n: ping\n\n", true)
			})
			s := testSub(srv.URL, time.Hour)
			s.cursor, s.rules.watch = "100:1", 30*time.Millisecond
			s.win.outageStart.Store(Mono())
			runSub(t, s, nchanSSE, waitFor(func() bool { return len(streams) >= 2 || len(checks) >= 10 }))
			<-streams // the first stream
			at := s.rules.noticed.Load()
			if !c.cut {
				if at != 0 || len(streams) != 0 {
					t.Errorf("a quiet channel's stream was given up (noticed at %d, %d streams more)", at, len(streams))
				}
				return
			}
			if at == 0 || *s.rules.noticeHow.Load() != "watchdog" {
				t.Fatal("the watchdog did not give the silent stream up")
			}
			if last := <-streams; last != "100:1" {
				t.Errorf("the stream was opened again with Last-Event-ID %q, want 100:1", last)
			}
		})
	}
}

// TestNchanPollDeadlines: Nchan's interval poll and long poll give a
// request the server never answers up at the page's deadline, and say
// so.
func TestNchanPollDeadlines(t *testing.T) {
	t.Parallel()
	for name, run := range map[string]func(context.Context, *sub){"poll": nchanPoll, "longpoll": nchanLongPoll} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done() // silent
			})
			s := testSub(srv.URL, 10*time.Millisecond)
			s.cursor, s.rules.deadline = "100:1", 50*time.Millisecond
			s.win.outageStart.Store(Mono())
			if name == "longpoll" {
				s.rules.hold = 1 // then 1 s + longPollGrace
			}
			runSub(t, s, run, waitFor(func() bool { return srv.requests() >= 2 }))
			if how := s.rules.noticeHow.Load(); how == nil || *how != "deadline" {
				t.Fatal("the deadline did not give the request up")
			}
		})
	}
}
