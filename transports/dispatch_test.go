package transports_test

// Slow subscribers (CONTRACT.md, "Slow subscribers"): one whose socket takes
// no bytes is dropped, to resume; one that is only behind is not.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// readsInOrder reads messages with next in a goroutine, each of which must
// have the id after the one before, from 1. It returns the last id read so
// far, and a channel that gets the error that stopped the reading.
func readsInOrder(next func() ([]byte, error)) (*atomic.Uint64, <-chan error) {
	var last atomic.Uint64
	failed := make(chan error, 1)
	go func() {
		for {
			b, err := next()
			if err != nil {
				failed <- err
				return
			}
			var m struct{ ID uint64 }
			if json.Unmarshal(b, &m) != nil || m.ID != last.Load()+1 {
				failed <- fmt.Errorf("got %.60q after message %d, want message %d", b, last.Load(), last.Load()+1)
				return
			}
			last.Store(m.ID)
		}
	}()
	return &last, failed
}

// stuckReaderIsDropped publishes messages of 30 KB, one after another,
// until the server counts the one subscriber of transport that stopped
// reading as dropped and gone, the healthy one still there. That must come
// within a few --send-timeouts of the first publish, because its socket
// took no bytes: a write that missed the deadline of --write-timeout (10 s)
// would come later. The healthy one, read by readsInOrder, must then get
// every message published, on the same connection. It returns the number
// of messages published.
func stuckReaderIsDropped(t testing.TB, ts *transportstest.Server, transport string, healthy *atomic.Uint64, failed <-chan error) uint64 {
	t.Helper()
	big := `"` + strings.Repeat("x", 30<<10) + `"`
	start := time.Now()
	var last uint64
	for {
		// The healthy reader is never let fall half the default history
		// behind, however busy the machine: being behind is not what
		// this tests (TestABurstDropsNoHealthySubscriber does).
		transportstest.Await(t, "the healthy reader to keep up", func() bool { return healthy.Load()+500 >= last })
		last = ts.Publish(t, big)
		st := ts.Stats(t).Transports[transport]
		if st.Dropped == 1 && st.Clients == 1 {
			break
		}
		if st.Dropped > 1 || time.Since(start) > 8*time.Second {
			t.Fatalf("%v after the first of %d publishes: %s clients %d, dropped %d; want the stuck reader dropped, the healthy one kept",
				time.Since(start).Round(time.Millisecond), last, transport, st.Clients, st.Dropped)
		}
	}
	transportstest.Await(t, "the healthy reader to get every message", func() bool {
		select {
		case err := <-failed:
			t.Fatalf("healthy reader, after message %d of %d: %v", healthy.Load(), last, err)
		default:
		}
		return healthy.Load() == last
	})
	if st := ts.Stats(t).Transports[transport]; st.Dropped != 1 || st.Clients != 1 {
		t.Fatalf("%s clients %d, dropped %d; want the healthy reader still there, and only the stuck one dropped", transport, st.Clients, st.Dropped)
	}
	return last
}

// TestStuckSubscriberIsDroppedWithoutDelayingOthers opens, on each
// streaming transport, a subscriber that never reads while another reads
// normally, and publishes far more than the socket buffers hold. The
// reader gets everything, never reconnecting, and is never held up: the
// longest wait between two of its messages is under a second longer than
// the longest between two publishes (which a busy machine stretches for
// both). The stuck one is cut once its socket has taken no bytes for
// --send-timeout, or a write to it misses --write-timeout, whichever comes
// first.
func TestStuckSubscriberIsDroppedWithoutDelayingOthers(t *testing.T) {
	transportstest.SkipOverTLS(t, "opens a subscriber that never reads")
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) { stuckSubscriberDelaysNoOne(t, transport) })
	}
}

func stuckSubscriberDelaysNoOne(t *testing.T, transport string) {
	const messages = 600 // of 32 KB: some 19 MB, beyond loopback's buffers
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendTimeout = time.Second
		c.WriteTimeout = 2 * time.Second
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	stuck, err := transportstest.DialSmallReadBuffer(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	switch transport { // a request, and not one byte read after it
	case "ws":
		fmt.Fprintf(stuck, "GET /api/ws?since=0 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	case "sse":
		fmt.Fprintf(stuck, "GET /api/sse?since=0 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// As many healthy readers as there are dispatchers (fanout/dispatch.go), so
	// one shares the stuck one's, whose writes it must not wait behind.
	readers := runtime.GOMAXPROCS(0)
	healthy := make(chan *follower, readers)
	for range readers {
		go func() { healthy <- follow(ctx, transport, ts.URL, "", 0, messages) }()
	}
	transportstest.WaitFor(t, "every subscriber", 10*time.Second, func() bool { return ts.Stats(t).Transports[transport].Clients == int64(readers+1) })

	pad := strings.Repeat("x", 32<<10)
	published := make([]time.Time, 0, messages)
	for i := range messages {
		if code, body := ts.Post(t, "text/plain", fmt.Sprint(i, pad)); code != 201 {
			t.Fatalf("publish: %d %s", code, body)
		}
		published = append(published, time.Now())
	}
	for range readers {
		f := <-healthy
		if err := f.check(1, messages); err != nil {
			t.Fatal(err)
		}
		if f.resumes != 0 {
			t.Fatalf("a healthy reader had to reconnect %d times", f.resumes)
		}
		if got, publishing := largestGap(f.at), largestGap(published); got > publishing+time.Second {
			t.Fatalf("a healthy reader waited %v between two messages while the other was stuck; the publishes were at most %v apart", got, publishing)
		}
	}
	transportstest.WaitFor(t, "the stuck subscriber to be dropped", 30*time.Second, func() bool {
		s := ts.Stats(t).Transports[transport]
		return s.Clients == 0 && s.Dropped == 1 // the healthy one left when done
	})
}

// TestSlowSubscriberIsClosedWith4001 makes a WebSocket client stop reading
// while the feed goes on. Being behind is no fault; a socket that takes no
// bytes for --send-timeout is: the server counts the client dropped. The
// client, reading again at once, gets the messages already on their way,
// then close 4001, and resuming from its cursor and epoch loses nothing.
func TestSlowSubscriberIsClosedWith4001(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.History = 2000
		c.SendBuffer = 4096
		c.SendTimeout = 500 * time.Millisecond
		c.WriteTimeout = 10 * time.Second
	})
	// The client's receive buffer stays as the kernel makes it: one far
	// under loopback's 64 KB segments would make TCP wait on its persist
	// timer (200 ms, doubling) before it takes bytes again, longer than the
	// second the close frame is given once the client reads again.
	conn, _, err := transportstest.WSDialer.Dial(ts.WS()+"/api/ws?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
	var hello wire.Frame
	if _, b, err := conn.ReadMessage(); err != nil || json.Unmarshal(b, &hello) != nil || hello.Type != "hello" || hello.Epoch == "" {
		t.Fatalf("hello: %s %v", b, err)
	}

	// The client reads nothing while messages far larger than its socket's
	// buffers are published, until the server says it dropped it.
	stop, published := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var last uint64
		defer func() { published <- last }()
		pad := strings.Repeat("z", 32<<10)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Post(ts.URL+"/api/messages", "text/plain", strings.NewReader(fmt.Sprint(i, pad)))
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
			var ack struct{ ID uint64 }
			err = json.NewDecoder(resp.Body).Decode(&ack)
			resp.Body.Close()
			if resp.StatusCode != 201 || err != nil {
				t.Errorf("publish %d: %d %v", i, resp.StatusCode, err)
				return
			}
			last = ack.ID
		}
	}()
	transportstest.Await(t, "the client that stopped reading to be dropped", func() bool { return ts.Stats(t).Transports["ws"].Dropped == 1 })
	close(stop)
	total := <-published

	// Reading again within a second of the drop: what was on its way, then 4001.
	var last uint64
	for {
		conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
		_, data, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 4001 {
				t.Fatalf("closed with %d %q after id %d, want 4001", ce.Code, ce.Text, last)
			}
			break
		}
		if err != nil {
			t.Fatalf("read: %v (last id %d), want close 4001", err, last)
		}
		var m struct{ ID uint64 }
		json.Unmarshal(data, &m)
		if m.ID != last+1 {
			t.Fatalf("frame %.60q after id %d, want message %d", data, last, last+1)
		}
		last = m.ID
	}
	if last >= total {
		t.Fatalf("got all %d messages before the 4001: the reader was not behind", last)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := follow(ctx, "ws", ts.URL, hello.Epoch, last, total)
	if err := f.check(last+1, total); err != nil {
		t.Fatal(err)
	}
	if d := ts.Stats(t).Transports["ws"].Dropped; d != 1 {
		t.Fatalf("dropped %d, want 1", d)
	}
}

// TestAStalledReaderOnAQuietFeedIsDroppedAtTheSendTimeout: subscribers
// that stop reading during a burst, after which the feed goes quiet, are
// dropped once their sockets have taken no bytes for --send-timeout (and
// the dispatchers' sweep has come round, a quarter of it at most), not at
// --write-timeout: no publish comes to find them.
func TestAStalledReaderOnAQuietFeedIsDroppedAtTheSendTimeout(t *testing.T) {
	transportstest.SkipOverTLS(t, "opens subscribers that never read")
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) {
			const (
				stuck       = 4 // as many as to share every dispatcher, on a machine of up to four cores
				sendTimeout = time.Second
			)
			ts := transportstest.Start(t, func(c *transports.Config) {
				c.SendBuffer = 4 << 10
				c.SendTimeout = sendTimeout
				c.WriteTimeout = 20 * time.Second
			})
			for range stuck {
				c, err := transportstest.DialSmallReadBuffer(context.Background(), "tcp", ts.Addr())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				switch transport { // a request, and not one byte read after it
				case "ws":
					fmt.Fprintf(c, "GET /api/ws?since=0 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
						"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", ts.Addr())
				case "sse":
					fmt.Fprintf(c, "GET /api/sse?since=0 HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Addr())
				}
			}
			transportstest.Await(t, "every subscriber", func() bool { return ts.Stats(t).Transports[transport].Clients == stuck })
			// A burst far beyond their buffers, in one write, then nothing.
			var burst strings.Builder
			body := `"` + strings.Repeat("x", 62_000) + `"`
			for range 17 {
				fmt.Fprintf(&burst, "POST /api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", ts.Addr(), len(body), body)
			}
			pub := rawDial(t, ts)
			pub.send(t, burst.String())
			go io.Copy(io.Discard, pub) // the acks
			transportstest.Await(t, "the burst to be published", func() bool { return ts.Stats(t).Feed.LastID == 17 })
			quiet := time.Now()
			// Well before the write timeout: a write that waited for it is
			// what drops a stalled reader that no sweep looks for.
			transportstest.WaitFor(t, "every stalled reader to be dropped and gone", ts.Config.WriteTimeout/2, func() bool {
				st := ts.Stats(t).Transports[transport]
				return st.Dropped == stuck && st.Clients == 0
			})
			t.Logf("%d stalled %s readers dropped and gone %v after the feed went quiet (--send-timeout %v)", stuck, transport, time.Since(quiet).Round(time.Millisecond), sendTimeout)
		})
	}
}

func TestABurstDropsNoHealthySubscriber(t *testing.T) {
	transportstest.SkipOverTLS(t, "pipelines its publishes")
	for _, c := range []struct {
		name    string
		set     func(*transports.Config)
		publish int
	}{
		{"a burst of the whole history", func(c *transports.Config) { c.History = 50 }, 50},
		{"1,000 at once with the defaults", nil, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := transportstest.Start(t, c.set)
			var streams []*transportstest.SSEStream
			var sockets []*transportstest.WSClient
			for range 10 {
				ws, _ := ts.DialWSHello(t, "since=0")
				sockets = append(sockets, ws)
				sse := ts.OpenSSE(t, nil, "/api/sse?since=0")
				sse.NextEvent(t) // hello
				streams = append(streams, sse)
			}
			// One write of every publish, pipelined: the head moves as fast
			// as the server can take them, before any writer runs.
			var burst strings.Builder
			for i := range c.publish {
				body := strconv.Itoa(i)
				fmt.Fprintf(&burst, "POST /api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", ts.Addr(), len(body), body)
			}
			pub := rawDial(t, ts)
			pub.send(t, burst.String())
			go io.Copy(io.Discard, pub) // the acks
			for i, ws := range sockets {
				for want := uint64(1); want <= uint64(c.publish); want++ {
					if _, m := ws.Message(t); m.ID != want {
						t.Fatalf("ws %d: id %d, want %d", i, m.ID, want)
					}
				}
			}
			for i, s := range streams {
				for want := uint64(1); want <= uint64(c.publish); want++ {
					if _, m := s.NextMessage(t); m.ID != want {
						t.Fatalf("sse %d: id %d, want %d", i, m.ID, want)
					}
				}
			}
			st := ts.Stats(t).Transports
			if st["ws"].Dropped+st["sse"].Dropped != 0 || st["ws"].Clients != 10 || st["sse"].Clients != 10 {
				t.Fatalf("after the burst: ws %+v, sse %+v; want 10 each, none dropped", st["ws"], st["sse"])
			}
		})
	}
}
