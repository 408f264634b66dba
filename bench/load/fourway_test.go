package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// These tests play the server's side of the wire contract by hand, so that
// each step (an epoch, a reset, "more", an answer that cannot decode) is
// sent exactly once, in order, whatever the machine's speed. Every wait is
// on an event, bounded by a generous deadline that only a broken client
// reaches.

// testMsg is message id as fourway sends it, carrying the publisher's seq.
func testMsg(id, seq int64) string {
	return fmt.Sprintf(`{"id":%d,"time":1763773323456.789,"data":%s}`, id, stampData(seq, 1, 40))
}

// fakeServer serves handler and counts its requests; step is the number
// of requests that came before this one.
type fakeServer struct {
	mu    sync.Mutex
	steps int
	*httptest.Server
}

func newFakeServer(t *testing.T, handler func(step int, w http.ResponseWriter, r *http.Request)) *fakeServer {
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		step := fs.steps
		fs.steps++
		fs.mu.Unlock()
		handler(step, w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) requests() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.steps
}

// testSub is a subscriber of base starting after id 1, polling every
// interval from now.
func testSub(base string, interval time.Duration) *sub {
	s := newSub(0)
	s.base, s.cursor, s.win = base, "1", &window{}
	s.interval, s.phase = interval, time.Now()
	return s
}

// runSub runs a subscriber until stop says so (then cancels it) or until
// it returns by itself, and fails the test if it does neither in time.
func runSub(t *testing.T, s *sub, run func(context.Context, *sub), stop <-chan struct{}) (returnedByItself bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); run(ctx, s) }()
	select {
	case <-done:
		return true
	case <-stop:
	case <-time.After(20 * time.Second):
		t.Error("the subscriber neither finished its steps nor gave up in 20 s")
	}
	cancel()
	<-done
	return false
}

// waitFor closes the returned channel once cond holds (polled), or after
// 20 s.
func waitFor(cond func() bool) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for end := time.Now().Add(20 * time.Second); !cond() && time.Now().Before(end); {
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return ch
}

func checkQuery(t *testing.T, step int, r *http.Request, want string) {
	t.Helper()
	q := r.URL.Query()
	got := "since=" + q.Get("since")
	if q.Has("epoch") {
		got += "&epoch=" + q.Get("epoch")
	}
	if got != want {
		t.Errorf("request %d asks %s, want %s (%s)", step, got, want, r.URL)
	}
}

// TestFourwayPollFollowsMoreAndEpoch: a short poller sends back the epoch
// of each answer, asks again at once on "more":true, takes a reset's new
// epoch and cursor, and does not ask again after a full page without
// "more".
func TestFourwayPollFollowsMoreAndEpoch(t *testing.T) {
	t.Parallel()
	full := make([]string, pollLimit)
	for i := range full {
		full[i] = testMsg(int64(i+2), int64(i+3))
	}
	third := make(chan struct{})
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		switch step {
		case 0:
			checkQuery(t, step, r, "since=1")
			fmt.Fprintf(w, `{"epoch":"E1","messages":[%s,%s],"next":3,"more":true}`, testMsg(2, 0), testMsg(3, 1))
		case 1:
			checkQuery(t, step, r, "since=3&epoch=E1")
			fmt.Fprintf(w, `{"epoch":"E2","messages":[%s],"next":1,"reset":true,"more":true}`, testMsg(1, 2))
		case 2:
			checkQuery(t, step, r, "since=1&epoch=E2")
			fmt.Fprintf(w, `{"epoch":"E2","messages":[%s],"next":%d}`, strings.Join(full, ","), pollLimit+1)
			close(third)
		default:
			t.Errorf("request %d (%s): asked again after an answer without \"more\", before the next tick", step, r.URL)
			fmt.Fprintf(w, `{"epoch":"E2","messages":[],"next":%d}`, pollLimit+1)
		}
	})
	s := testSub(srv.URL, time.Hour)
	// After the third answer, a poller that took a full page for "more"
	// would ask again at once; give it the time to.
	stop := waitFor(func() bool {
		select {
		case <-third:
			time.Sleep(200 * time.Millisecond)
			return true
		default:
			return false
		}
	})
	if runSub(t, s, fourwayPoll, stop) {
		t.Fatalf("the poller stopped by itself: %s", s.gaveUp)
	}
	if n := srv.requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if s.msgs != pollLimit+3 || s.dups != 0 || s.anomalies != 1 || s.errors != 0 || s.feedEpoch != "E2" {
		t.Errorf("got %d messages (%d duplicated), %d anomalies, %d errors, epoch %q; want %d, 0, 1 (the reset), 0, E2",
			s.msgs, s.dups, s.anomalies, s.errors, s.feedEpoch, pollLimit+3)
	}
}

// TestFourwayLongPollSendsTheEpoch: a long poller sends back the epoch of
// each answer with its cursor.
func TestFourwayLongPollSendsTheEpoch(t *testing.T) {
	t.Parallel()
	held := make(chan struct{})
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		switch step {
		case 0:
			checkQuery(t, step, r, "since=1")
			fmt.Fprintf(w, `{"epoch":"k3x9AbCd","messages":[%s],"next":2}`, testMsg(2, 0))
		case 1:
			checkQuery(t, step, r, "since=2&epoch=k3x9AbCd")
			close(held)
			<-r.Context().Done() // held until the client goes
		default:
			t.Errorf("request %d: %s", step, r.URL)
		}
	})
	s := testSub(srv.URL, time.Hour)
	if runSub(t, s, fourwayLongPoll, held) {
		t.Fatalf("the long poller stopped by itself: %s", s.gaveUp)
	}
	if s.msgs != 1 || s.anomalies != 0 || s.feedEpoch != "k3x9AbCd" {
		t.Errorf("got %d messages, %d anomalies, epoch %q; want 1, 0, k3x9AbCd", s.msgs, s.anomalies, s.feedEpoch)
	}
}

// TestFourwayPollersGiveUpOnAnAnswerThatCannotChange: a page that does not
// decode (here nested deeper than encoding/json goes), or a request
// refused as malformed, ends the poller with the error reported, after one
// request: asking the same again would get the same answer for ever.
func TestFourwayPollersGiveUpOnAnAnswerThatCannotChange(t *testing.T) {
	t.Parallel()
	deep := `{"epoch":"E1","messages":[{"id":2,"time":1,"data":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}],"next":2}`
	answers := map[string]func(http.ResponseWriter){
		"undecodable": func(w http.ResponseWriter) { fmt.Fprint(w, deep) },
		"400": func(w http.ResponseWriter) {
			http.Error(w, `{"error":"epoch must be an epoch as the server sent it"}`, http.StatusBadRequest)
		},
	}
	for name, answer := range answers {
		for tr, run := range map[string]func(context.Context, *sub){"poll": fourwayPoll, "longpoll": fourwayLongPoll} {
			t.Run(name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				srv := newFakeServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { answer(w) })
				s := testSub(srv.URL, 10*time.Millisecond)
				if !runSub(t, s, run, nil) {
					t.Fatal("the poller did not give up")
				}
				if n := srv.requests(); n != 1 || s.gaveUp == "" || s.errors != 1 || !s.hasStopped() {
					t.Errorf("%d requests, gave up %q, %d errors; want 1 request, a reason, 1 error", n, s.gaveUp, s.errors)
				}
			})
		}
	}
	t.Run("503IsAskedAgain", func(t *testing.T) {
		t.Parallel()
		srv := newFakeServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"at the connection limit"}`, http.StatusServiceUnavailable)
		})
		s := testSub(srv.URL, time.Hour)
		if runSub(t, s, fourwayLongPoll, waitFor(func() bool { return srv.requests() >= 2 })) {
			t.Fatalf("the long poller gave up on a 503: %s", s.gaveUp)
		}
	})
}

// sseFake writes a stream of raw events and ends it, or holds it open
// when hold is true.
func sseFake(w http.ResponseWriter, r *http.Request, events string, hold bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, events)
	w.(http.Flusher).Flush()
	if hold {
		<-r.Context().Done()
	}
}

// TestFourwaySSEEpochIDs: the SSE client resumes with the whole
// "EPOCH:ID" of the last event, takes a reset's new epoch, counts the
// reset, and checks each event id against its message's own id.
func TestFourwaySSEEpochIDs(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		last := r.Header.Get("Last-Event-ID")
		want := []string{"", "E1:2", "E2:1"}
		if step < len(want) && last != want[step] {
			t.Errorf("connection %d: Last-Event-ID %q, want %q", step, last, want[step])
		}
		switch step {
		case 0:
			checkQuery(t, step, r, "since=1")
			sseFake(w, r, "id: E1:1\nevent: hello\nretry: 2000\ndata: {\"next\":1,\"epoch\":\"E1\"}\n\n"+
				"id: E1:2\ndata: "+testMsg(2, 0)+"\n\n", false)
		case 1:
			sseFake(w, r, "id: E1:2\nevent: hello\ndata: {\"next\":2,\"epoch\":\"E1\"}\n\n"+
				"id: E2:0\nevent: reset\ndata: {\"reset\":true,\"epoch\":\"E2\"}\n\n"+
				"id: E2:1\ndata: "+testMsg(1, 1)+"\n\n", false)
		case 2:
			sseFake(w, r, "id: E2:1\nevent: hello\ndata: {\"next\":1,\"epoch\":\"E2\"}\n\n"+
				": ping\n\n"+
				"id: E2:7\ndata: "+testMsg(2, 2)+"\n\n", true) // an id that is not its message's
		default:
			t.Errorf("connection %d: reconnected again", step)
		}
	})
	s := testSub(srv.URL, time.Hour)
	if runSub(t, s, fourwaySSE, waitFor(func() bool { return s.distinct.Load() == 3 })) {
		t.Fatalf("the SSE client stopped by itself: %s", s.gaveUp)
	}
	if s.msgs != 3 || s.dups != 0 || s.reconnects != 2 || s.anomalies != 2 || s.feedEpoch != "E2" {
		t.Errorf("got %d messages (%d duplicated), %d reconnects, %d anomalies, epoch %q; want 3 (0), 2, 2 (the reset, the wrong id), E2",
			s.msgs, s.dups, s.reconnects, s.anomalies, s.feedEpoch)
	}
	if !sseIDMatches("E2:10", "E2", []byte(testMsg(10, 0))) || sseIDMatches("E2:1", "E2", []byte(testMsg(10, 0))) ||
		sseIDMatches("E1:10", "E2", []byte(testMsg(10, 0))) || sseIDMatches("10", "E2", []byte(testMsg(10, 0))) {
		t.Error("sseIDMatches does not tell EPOCH:ID of its message from other ids")
	}
}

// wsHello is the hello frame of a WebSocket at next, in epoch.
func wsHello(next int, epoch string) string {
	return fmt.Sprintf(`{"type":"hello","next":%d,"epoch":"%s","heartbeat_ms":25000}`, next, epoch)
}

// wsSend writes frames on the step-th connection, as text messages.
func wsSend(t *testing.T, conn *websocket.Conn, step int, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			t.Errorf("connection %d: %v", step, err)
		}
	}
}

// TestFourwayWSEpoch: the WebSocket client reconnects with ?since=N&epoch=E,
// goes on from 0 of the new epoch after a reset, and counts reset and
// missed as anomalies.
func TestFourwayWSEpoch(t *testing.T) {
	t.Parallel()
	up := websocket.Upgrader{}
	fourth := make(chan struct{})
	srv := newFakeServer(t, func(step int, w http.ResponseWriter, r *http.Request) {
		want := []string{"since=1", "since=2&epoch=E1", "since=0&epoch=E2", "since=4&epoch=E2"}
		if step < len(want) {
			checkQuery(t, step, r, want[step])
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("connection %d: %v", step, err)
			return
		}
		defer conn.Close()
		send := func(frames ...string) { wsSend(t, conn, step, frames...) }
		switch step {
		case 0:
			send(wsHello(1, "E1"), testMsg(2, 0))
		case 1:
			send(wsHello(2, "E1"), `{"type":"reset","epoch":"E2"}`)
		case 2:
			send(wsHello(0, "E2"), `{"type":"missed","missed":3}`, testMsg(4, 1))
		case 3:
			send(wsHello(4, "E2"))
			close(fourth)
			_, _, _ = conn.ReadMessage() // until the client goes
			return
		default:
			t.Errorf("connection %d: reconnected again", step)
			return
		}
		// End the connection once the client has read it all: closing at
		// once could lose the frames in a reset.
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "too slow"))
		_, _, _ = conn.ReadMessage()
	})
	s := testSub(srv.URL, time.Hour)
	stop := waitFor(func() bool {
		select {
		case <-fourth:
			return s.distinct.Load() == 2
		default:
			return false
		}
	})
	if runSub(t, s, fourwayWS, stop) {
		t.Fatalf("the WebSocket client stopped by itself: %s", s.gaveUp)
	}
	if s.msgs != 2 || s.dups != 0 || s.reconnects != 3 || s.anomalies != 2 || s.feedEpoch != "E2" {
		t.Errorf("got %d messages (%d duplicated), %d reconnects, %d anomalies, epoch %q; want 2 (0), 3, 2 (reset, missed), E2",
			s.msgs, s.dups, s.reconnects, s.anomalies, s.feedEpoch)
	}
}

// TestFourwayStreamsGiveUpOnARefusal: a 400 to a stream's request is the
// same every time: the SSE and WebSocket clients stop with the error.
func TestFourwayStreamsGiveUpOnARefusal(t *testing.T) {
	t.Parallel()
	for tr, run := range map[string]func(context.Context, *sub){"sse": fourwaySSE, "ws": fourwayWS} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"error":"since must be a message id"}`, http.StatusBadRequest)
			})
			s := testSub(srv.URL, time.Hour)
			if !runSub(t, s, run, nil) {
				t.Fatal("the client did not give up")
			}
			if n := srv.requests(); n != 1 || !strings.Contains(s.gaveUp, "400") {
				t.Errorf("%d requests, gave up %q; want 1 request and the 400", n, s.gaveUp)
			}
		})
	}
}
