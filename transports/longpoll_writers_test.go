package transports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// longPollSpec names every test that holds long polls: the long-poll and
// poll specifications, and the ones that hold all transports to the same
// promise.
const longPollSpec = `^(TestLongPoll.*|TestPoll.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestStuckSubscriberIsDroppedWithoutDelayingOthers|TestABurstDropsNoHealthySubscriber|TestDropThenResumeLosesNothing|` +
	`TestStatsCountBytesOnTheSocket|TestAPIAnswersCarryOnlyTheHeadersAnAPINeeds|TestANodeCutFromItsBrokerSendsItsClientsElsewhere|` +
	`TestTheNodeIsNamedWhenSeveralServeTheFeed|TestInspector.*|TestLongPollWriterIsTheOneAsked|TestAShutdownEndsALongPollConnectionIdleAfterItsAnswer)$`

// TestLongPollSpecOnTheDirectWriter runs the long-poll specification a
// second time, on --longpoll-writer direct (package direct), so both
// writers keep every promise of the contract.
func TestLongPollSpecOnTheDirectWriter(t *testing.T) {
	if os.Getenv(transportstest.LongPollWriterEnv) != "" {
		t.Skip("this is the second pass itself")
	}
	secondPass(t, "on --longpoll-writer direct", transportstest.LongPollWriterEnv+"=direct", longPollSpec, 20)
}

// TestLongPollWriterIsTheOneAsked checks that a pass runs on the writer
// it means to.
func TestLongPollWriterIsTheOneAsked(t *testing.T) {
	want := os.Getenv(transportstest.LongPollWriterEnv)
	if want == "" {
		want = "nethttp"
	}
	ts := transportstest.Start(t, nil)
	if got := ts.Config.LongPollWriter; got != want {
		t.Fatalf("the server holds its long polls with %q, want %q", got, want)
	}
	_, body, _ := ts.Get(t, "/api/config")
	var c wire.Config
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.LongPoll.Writer != want {
		t.Fatalf("GET /api/config names the long-poll writer %q (%v), want %q: %s", c.LongPoll.Writer, err, want, body)
	}
	if transportstest.OverTLS() {
		return // the direct writer serves HTTP/1.1 in the clear only
	}
	// A held poll, then another request on its connection: the direct
	// writer held the one and handed the connection back for the other.
	conn, br := heldThenAnswered(t, ts)
	defer conn.Close()
	fmt.Fprint(conn, "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/config after a held poll: %v %v", resp, err)
	}
	_, metrics, _ := ts.Get(t, "/metrics")
	got := regexp.MustCompile(`(?m)^fourway_longpoll_direct_total\{what="(\w+)"\} (\d+)$`).FindAllStringSubmatch(metrics, -1)
	counts := map[string]string{}
	for _, m := range got {
		counts[m[1]] = m[2]
	}
	wantCounts := map[string]string{"held": "1", "taken": "1", "handed_back": "1"}
	if want == "nethttp" {
		wantCounts = map[string]string{}
	}
	if !maps.Equal(counts, wantCounts) {
		t.Fatalf("fourway_longpoll_direct_total %v, want %v", counts, wantCounts)
	}
}

// TestALargeAnswerNotReadIsNotCopiedPerConnection: with --longpoll-writer
// direct, a client that is sent a large answer and never reads it pins
// its socket's buffer and a reference to the answer, which every poll that
// asks the same shares, not a copy of its own. 32 such clients, each with
// an answer of a mebibyte on its way, must grow the server's heap by far
// less than a mebibyte each (a copy per connection grew it by one or two).
// Both ways an answer goes out: a held poll's, written by the dispatcher
// that learns of the publish, and the answer to a poll the client sent
// behind a held one (pipelined), served by the connection's goroutine.
func TestALargeAnswerNotReadIsNotCopiedPerConnection(t *testing.T) {
	transportstest.SkipOverTLS(t, "holds direct long polls, which need HTTP/1.1 in the clear,")
	const (
		clients = 32
		size    = 1 << 20 // bytes of the answer, about: one message
	)
	big := `"` + strings.Repeat("x", size-2) + `"`
	for _, how := range []struct {
		name    string
		writing string // the function that waits for the socket, in the goroutine blocked on it
		shared  int64  // what is not per connection: the one answer they all share, and (held) the message, published while the test measures
	}{
		{"held", "fanout.(*Pusher).run", 2 * size},
		{"pipelined", "direct.(*directConn).respond", size},
	} {
		t.Run(how.name, func(t *testing.T) {
			ts := transportstest.Start(t, func(c *transports.Config) {
				c.LongPollWriter = "direct"
				c.MaxMessage = 2 * size
				c.SendBuffer = 4 << 10
				c.WriteTimeout = 2 * time.Minute // the answers stay on their way while the test measures
			})
			since := uint64(0)
			if how.name == "pipelined" {
				since = ts.Publish(t, big) // the pipelined poll asks for it, from 0
			}
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range clients {
				c, err := transportstest.DialSmallReadBuffer(context.Background(), "tcp", ts.Addr())
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "GET /api/longpoll?since=%d&timeout=120 HTTP/1.1\r\nHost: %s\r\n\r\n", since, ts.Addr())
			}
			transportstest.Await(t, "every poll to be held", func() bool { return ts.Stats(t).Transports["longpoll"].Clients == clients })
			if how.name == "pipelined" {
				for _, c := range conns {
					fmt.Fprintf(c, "GET /api/longpoll?since=0 HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Addr())
				}
			}
			before := heapAfterGC()
			if how.name == "held" {
				ts.Publish(t, big) // every held poll's answer
			} else {
				ts.Publish(t, `"wake"`) // a small answer to the held polls, then the large one to the polls behind them
			}
			transportstest.Await(t, fmt.Sprintf("%d answers to be on their way, blocked on full sockets", clients), func() bool {
				return blockedWriting(how.writing) >= clients
			})
			grown := heapAfterGC() - before
			perConn := (grown - how.shared) / clients
			t.Logf("heap grew %.1f MiB with %d answers of %d KiB on their way: %.0f KiB per connection", float64(grown)/(1<<20), clients, size>>10, float64(perConn)/1024)
			if perConn > size/8 {
				t.Fatalf("each connection with an answer of %d KiB on its way holds %d KiB of heap, want under %d: the answer is copied per connection", size>>10, perConn>>10, size/8>>10)
			}
		})
	}
}

// heapAfterGC is the heap's live bytes once the garbage is collected
// (twice: sync.Pool keeps what it held through one collection).
func heapAfterGC() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// blockedWriting counts the goroutines blocked on a socket (IO wait) with
// the function fn on their stack.
func blockedWriting(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[IO wait") && strings.Contains(g, fn+"(") {
			count++
		}
	}
	return count
}
