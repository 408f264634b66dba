package transports_test

// The WebSocket contract (CONTRACT.md, "WebSocket"), over real HTTP on
// loopback, and the gorilla/websocket traps pinned where they bite.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

func TestWSHelloIsTheFirstFrame(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.Heartbeat = 1500 * time.Millisecond })
	ts.PublishN(t, 3)
	epoch := ts.Epoch(t)
	// The hello's epoch is the start position's: the client's own when it
	// named one (a reset follows when it is not the server's), else the
	// server's.
	for _, tc := range []struct{ query, want string }{
		{"", `{"type":"hello","next":3,"epoch":"` + epoch + `","heartbeat_ms":1500}`},
		{"since=1", `{"type":"hello","next":1,"epoch":"` + epoch + `","heartbeat_ms":1500}`},
		{"since=2&epoch=" + epoch, `{"type":"hello","next":2,"epoch":"` + epoch + `","heartbeat_ms":1500}`},
		{"since=2&epoch=0ld-Epoch_", `{"type":"hello","next":2,"epoch":"0ld-Epoch_","heartbeat_ms":1500}`},
	} {
		c := ts.DialWS(t, tc.query)
		if got := c.ReadText(t); string(got) != tc.want {
			t.Errorf("?%s: first frame %s, want %s", tc.query, got, tc.want)
		}
	}
}

func TestWSCursor(t *testing.T) {
	// The feed holds 1..5 when each client connects; each then gets the
	// messages after its cursor, and after them message 6, published once
	// the client is connected.
	cases := []struct {
		name     string
		query    string
		next     uint64
		firstIDs []uint64
	}{
		{"absent starts now", "", 5, nil},
		{"0 is everything retained", "since=0", 0, []uint64{1, 2, 3, 4, 5}},
		{"N is everything after N", "since=3", 3, []uint64{4, 5}},
		{"the last id gets only what is new", "since=5", 5, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := transportstest.Start(t, nil)
			ts.PublishN(t, 5)
			c, hello := ts.DialWSHello(t, tc.query)
			if hello.Next != tc.next || hello.Epoch != ts.Epoch(t) {
				t.Errorf("hello %+v, want next %d and the server's epoch", hello, tc.next)
			}
			for _, id := range tc.firstIDs {
				if _, m := c.Message(t); m.ID != id {
					t.Fatalf("got message %d, want %d", m.ID, id)
				}
			}
			ts.Publish(t, `"six"`)
			if _, m := c.Message(t); m.ID != 6 {
				t.Fatalf("after the backlog got message %d, want 6", m.ID)
			}
		})
	}
}

func TestWSMissedAndReset(t *testing.T) {
	// History 5 after 12 publishes: 8..12 are retained. {E} is the
	// server's epoch. A reset reads as from 0 of it, so it comes with
	// what is gone since, after the reset.
	ts := transportstest.Start(t, func(c *transports.Config) { c.History = 5 })
	ts.PublishN(t, 12)
	epoch := ts.Epoch(t)
	reset := `{"type":"reset","epoch":"` + epoch + `"}`
	cases := []struct {
		name       string
		query      string
		helloNext  uint64
		helloEpoch string
		edges      []string // the frames before the messages
		first      uint64
	}{
		{"cursor older than the history", "since=3", 3, epoch, []string{`{"type":"missed","missed":4}`}, 8},
		{"cursor just before the oldest retained", "since=7", 7, epoch, nil, 8},
		{"cursor 0 is told what is gone", "since=0", 0, epoch, []string{`{"type":"missed","missed":7}`}, 8},
		{"cursor ahead of the feed", "since=100", 100, epoch, []string{reset, `{"type":"missed","missed":7}`}, 8},
		{"cursor just ahead of the feed", "since=13", 13, epoch, []string{reset, `{"type":"missed","missed":7}`}, 8},
		{"cursor of this epoch", "since=10&epoch=" + epoch, 10, epoch, nil, 11},
		{"cursor of another epoch", "since=10&epoch=other", 10, "other", []string{reset, `{"type":"missed","missed":7}`}, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, hello := ts.DialWSHello(t, tc.query)
			if hello.Next != tc.helloNext || hello.Epoch != tc.helloEpoch {
				t.Errorf("hello %+v, want next %d (the client's cursor) and epoch %s", hello, tc.helloNext, tc.helloEpoch)
			}
			for _, edge := range tc.edges {
				if got := c.ReadText(t); string(got) != edge {
					t.Fatalf("got %s, want %s", got, edge)
				}
			}
			for id := tc.first; id <= 12; id++ {
				if b, m := c.Message(t); m.ID != id {
					t.Fatalf("got %s, want message %d", b, id)
				}
			}
		})
	}
}

func TestWSMalformedRequestIsRefusedBeforeUpgrade(t *testing.T) {
	ts := transportstest.Start(t, nil)
	queries := []string{"since=-1", "since=1.5", "since=abc", "since=1e3", "since=0x10", "since=+1", "since=%201",
		"since=99999999999999999999999", "client=" + strings.Repeat("c", 129),
		"since=1&epoch=a.b", "since=1&epoch=a%3Ab", "since=1&epoch=" + strings.Repeat("e", 33), "epoch=%20"}
	for _, query := range queries {
		t.Run(query[:min(len(query), 30)], func(t *testing.T) {
			_, resp, err := ts.TryDialWS(t, query)
			if err != websocket.ErrBadHandshake || resp == nil {
				t.Fatalf("dial: %v, want a refused handshake", err)
			}
			body, _ := io.ReadAll(resp.Body)
			transportstest.JSONError(t, resp, body, http.StatusBadRequest)
		})
	}
	t.Run("a GET without Upgrade", func(t *testing.T) {
		resp, err := http.Get(ts.URL + "/api/ws")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		transportstest.JSONError(t, resp, body, http.StatusBadRequest)
	})
}

// TestWSCompressionIsOff pins gorilla trap #6: permessage-deflate is
// experimental and allocates heavily per message; a client that offers it
// is answered without it.
func TestWSCompressionIsOff(t *testing.T) {
	ts := transportstest.Start(t, nil)
	d := websocket.Dialer{HandshakeTimeout: transportstest.Wait, EnableCompression: true, TLSClientConfig: transportstest.ClientTLS()}
	conn, resp, err := d.Dial(ts.WS()+"/api/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("Sec-WebSocket-Extensions: %q, want none", ext)
	}
}

func TestWSPublishIsAckedAndDeliveredToEveryone(t *testing.T) {
	ts := transportstest.Start(t, nil)
	pub, _ := ts.DialWSHello(t, "client=pub")
	other, _ := ts.DialWSHello(t, "client=other")

	pub.Send(t, `{"type":"publish","data":{"user":"ana", "text":"hi"},"ref":"r1"}`)
	var ack, msg []byte
	for range 2 { // ack and message, in no promised order
		b := pub.ReadText(t)
		if bytes.HasPrefix(b, []byte(`{"type":`)) {
			ack = b
		} else {
			msg = b
		}
	}
	if want := `{"type":"published","id":1,"ref":"r1"}`; string(ack) != want {
		t.Errorf("ack %s, want %s", ack, want)
	}
	m := transportstest.DecodeMessage(t, msg)
	if m.ID != 1 || string(m.Data) != `{"user":"ana","text":"hi"}` {
		t.Errorf("publisher got %s, want message 1 with the compacted data", msg)
	}
	if b, _ := other.Message(t); !bytes.Equal(b, msg) {
		t.Errorf("other client got %s, want the same bytes %s", b, msg)
	}

	// ref is optional, and echoed as the JSON it was.
	for _, tc := range []struct{ frame, ack string }{
		{`{"type":"publish","data":2}`, `{"type":"published","id":2}`},
		{`{"type":"publish","data":3,"ref":7}`, `{"type":"published","id":3,"ref":7}`},
		{`{"type":"publish","data":4,"ref":{"k": [1, 2]}}`, `{"type":"published","id":4,"ref":{"k":[1,2]}}`},
	} {
		other.Send(t, tc.frame)
		var got []byte
		for got == nil {
			if b := other.ReadText(t); bytes.HasPrefix(b, []byte(`{"type":`)) {
				got = b
			}
		}
		if string(got) != tc.ack {
			t.Errorf("%s: ack %s, want %s", tc.frame, got, tc.ack)
		}
	}
}

func TestWSPingIsAnsweredWithPong(t *testing.T) {
	cases := []struct{ ping, pong string }{
		{`{"type":"ping"}`, `{"type":"pong"}`},
		{`ping`, `pong`}, // the classic heartbeat examples
	}
	ts := transportstest.Start(t, nil)
	c, _ := ts.DialWSHello(t, "")
	for _, tc := range cases {
		c.Send(t, tc.ping)
		if got := c.ReadText(t); string(got) != tc.pong {
			t.Errorf("%s answered with %s, want %s", tc.ping, got, tc.pong)
		}
	}
}

func TestWSBadFrameGetsAnErrorFrameAndTheConnectionStays(t *testing.T) {
	// --max-message 100: data of 100 encoded bytes passes, 101 does not.
	long := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` } // n bytes of JSON
	cases := []struct {
		name  string
		frame string
		ref   string // the ref the error frame must echo, "" for none
	}{
		{"not JSON", `hello there`, ""},
		{"JSON but not an object", `[1,2]`, ""},
		{"unknown type", `{"type":"shout","ref":"u1"}`, `"u1"`},
		{"no type", `{"data":1}`, ""},
		{"publish without data", `{"type":"publish","ref":"p1"}`, `"p1"`},
		{"data over --max-message", `{"type":"publish","data":` + long(101) + `,"ref":"big"}`, `"big"`},
	}
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxMessage = 100 })
	c, _ := ts.DialWSHello(t, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Send(t, tc.frame)
			b := c.ReadText(t)
			var e struct {
				Type, Error string
				Ref         json.RawMessage
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error == "" {
				t.Fatalf("got %s, want an error frame", b)
			}
			if string(e.Ref) != tc.ref {
				t.Errorf("error frame %s: ref %s, want %s", b, e.Ref, tc.ref)
			}
			c.Send(t, `{"type":"ping"}`)
			if got := c.ReadText(t); string(got) != `{"type":"pong"}` {
				t.Fatalf("after the bad frame got %s, want the connection usable", got)
			}
		})
	}
	t.Run("data of exactly --max-message bytes is published", func(t *testing.T) {
		c.Send(t, `{"type":"publish","data":`+long(100)+`,"ref":"edge"}`)
		for {
			b := c.ReadText(t)
			if bytes.HasPrefix(b, []byte(`{"type":"published"`)) {
				break
			}
			if bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
				t.Fatalf("got %s, want the publish to pass", b)
			}
		}
	})
}

func TestWSRepeatedBadFramesClose1008(t *testing.T) {
	ts := transportstest.Start(t, nil)
	t.Run("ten in a row", func(t *testing.T) {
		c, _ := ts.DialWSHello(t, "")
		for range 10 {
			c.Send(t, `nonsense`)
		}
		for _, b := range c.ClosedWith(t, websocket.ClosePolicyViolation) {
			if !bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
				t.Errorf("before the close got %s, want only error frames", b)
			}
		}
	})
	t.Run("a good frame resets the count", func(t *testing.T) {
		c, _ := ts.DialWSHello(t, "")
		for round := range 3 {
			for range 9 {
				c.Send(t, `nonsense`)
			}
			c.Send(t, `{"type":"ping"}`)
			for i := 0; ; i++ {
				b := c.ReadText(t)
				if string(b) == `{"type":"pong"}` {
					break
				}
				if !bytes.HasPrefix(b, []byte(`{"type":"error"`)) || i >= 9 {
					t.Fatalf("round %d: got %s, want 9 errors then a pong", round, b)
				}
			}
		}
	})
}

func TestWSBinaryFrameCloses1003(t *testing.T) {
	ts := transportstest.Start(t, nil)
	c, _ := ts.DialWSHello(t, "")
	c.SetWriteDeadline(time.Now().Add(transportstest.Wait))
	if err := c.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	c.ClosedWith(t, websocket.CloseUnsupportedData)
}

func TestWSFrameOverTheLimitCloses1009(t *testing.T) {
	// --max-message 100: frames up to 100+1024 bytes are read (and a
	// publish with too much data gets an error frame); one byte more closes.
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxMessage = 100 })
	frame := func(size int) string {
		const head, tail = `{"type":"publish","data":"`, `"}`
		return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	}
	c, _ := ts.DialWSHello(t, "")
	c.Send(t, frame(100+1024))
	if b := c.ReadText(t); !bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
		t.Fatalf("a frame of exactly the limit got %s, want an error frame", b)
	}
	c.Send(t, frame(100+1024+1))
	c.ClosedWith(t, websocket.CloseMessageTooBig)
}

func TestWSSameClientIDReplacesTheOlderConnection(t *testing.T) {
	ts := transportstest.Start(t, nil)
	first, _ := ts.DialWSHello(t, "client=tab-1")
	bystander, _ := ts.DialWSHello(t, "client=tab-2")
	second, _ := ts.DialWSHello(t, "client=tab-1")
	first.ClosedWith(t, 4500)

	second.Send(t, `{"type":"publish","data":"still here","ref":"s"}`)
	gotAck, gotMsg := false, false
	for !gotAck || !gotMsg {
		b := second.ReadText(t)
		gotAck = gotAck || string(b) == `{"type":"published","id":1,"ref":"s"}`
		gotMsg = gotMsg || bytes.Contains(b, []byte(`"data":"still here"`))
	}
	if _, m := bystander.Message(t); m.ID != 1 {
		t.Fatalf("the other client id got message %d, want 1", m.ID)
	}
}

func TestWSOrigin(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.AllowedOrigins = []string{"http://ok.example", "http://also.example/"} })
	self := ts.URL // http://127.0.0.1:PORT, the Host the client sends
	cases := []struct {
		name    string
		origin  string // "" sends none
		allowed bool
	}{
		{"no Origin (not a browser)", "", true},
		{"same host", self, true},
		{"same host with another scheme", "https://" + strings.TrimPrefix(self, "http://"), false},
		{"listed in --allowed-origins", "http://ok.example", true},
		{"listed with a trailing slash", "http://also.example", true},
		{"foreign", "http://evil.example", false},
		{"listed origin as a prefix", "http://ok.example.evil.example", false},
		{"listed host with another scheme", "https://ok.example", false},
		{"null", "null", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.origin != "" {
				header = []string{"Origin", tc.origin}
			}
			c, resp, err := ts.TryDialWS(t, "", header...)
			if tc.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.Hello(t)
				return
			}
			if err != websocket.ErrBadHandshake || resp == nil {
				t.Fatalf("dial: %v, want 403 before the upgrade", err)
			}
			body, _ := io.ReadAll(resp.Body)
			transportstest.JSONError(t, resp, body, http.StatusForbidden)
		})
	}
}

func TestWSConnectionLimitCloses1013(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxClients = 2 })
	a, _ := ts.DialWSHello(t, "")
	ts.DialWSHello(t, "")
	over := ts.DialWS(t, "")
	over.ClosedWith(t, websocket.CloseTryAgainLater)

	// A place frees up once a connection closes.
	a.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(transportstest.Wait))
	a.ClosedWith(t, websocket.CloseNormalClosure)
	transportstest.Await(t, "a free place", func() bool { return ts.Stats(t).Transports["ws"].Clients == 1 })
	ts.DialWSHello(t, "")
}

func TestWSHeartbeat(t *testing.T) {
	const period = 200 * time.Millisecond
	ts := transportstest.Start(t, func(c *transports.Config) { c.Heartbeat = period })

	t.Run("pings arrive every period and a client that answers stays", func(t *testing.T) {
		c, hello := ts.DialWSHello(t, "")
		if hello.HeartbeatMS != period.Milliseconds() {
			t.Errorf("heartbeat_ms = %d, want %d", hello.HeartbeatMS, period.Milliseconds())
		}
		var pings []time.Time
		c.SetPingHandler(func(data string) error {
			pings = append(pings, time.Now())
			if len(pings) == 5 { // past 2.5 periods: ask for a pong to stop reading
				c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
			}
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(transportstest.Wait))
		})
		if b := c.ReadText(t); string(b) != `{"type":"pong"}` {
			t.Fatalf("got %s, want the pong after 5 pings", b)
		}
		if avg := pings[4].Sub(pings[0]) / 4; avg < period/2 || avg > 3*period {
			t.Errorf("pings every %v on average, want about %v", avg, period)
		}
	})

	t.Run("a client that answers nothing is closed after 2.5 periods", func(t *testing.T) {
		start := time.Now()
		c, _ := ts.DialWSHello(t, "")
		pings := 0
		c.SetPingHandler(func(string) error { pings++; return nil }) // no pong
		_, b, err := c.TryRead()
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("got %s, want the connection closed", b)
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatalf("still open after %v", transportstest.Wait)
		}
		if elapsed < 2*period {
			t.Errorf("closed after %v, want about %v", elapsed, period*5/2)
		}
		if pings == 0 {
			t.Errorf("closed after %v without a single ping", elapsed)
		}
	})

	t.Run("a client whose own pings arrive is not silent", func(t *testing.T) {
		// CONTRACT.md: closed when nothing, not even a pong, arrived for 2.5
		// periods. This client answers no ping but pings every half period
		// for six periods.
		c, _ := ts.DialWSHello(t, "")
		c.SetPingHandler(func(string) error { return nil }) // no pong
		stop := make(chan struct{})
		pinged := make(chan error, 1)
		go func() {
			tick := time.NewTicker(period / 2)
			defer tick.Stop()
			for range 12 {
				<-tick.C
				if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(transportstest.Wait)); err != nil {
					pinged <- err
					return
				}
			}
			pinged <- nil
			<-stop
			c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
		}()
		defer close(stop)
		read := make(chan error, 1)
		go func() { // reads the server's pings and pongs until the app pong
			_, b, err := c.TryRead()
			if err == nil && string(b) != `{"type":"pong"}` {
				err = fmt.Errorf("got %s, want a pong", b)
			}
			read <- err
		}()
		select {
		case err := <-pinged:
			if err != nil {
				t.Fatalf("pinging: %v", err)
			}
		case err := <-read:
			t.Fatalf("closed while the client pinged every %v: %v", period/2, err)
		}
		stop <- struct{}{}
		if err := <-read; err != nil {
			t.Fatalf("after six periods of client pings: %v", err)
		}
	})
}

func TestWSMessageBytesAreThePollBytes(t *testing.T) {
	ts := transportstest.Start(t, nil)
	for _, data := range []string{`"hi"`, `{"user":"ana","text":"héllo <b>&amp;</b> \u2028 \"q\""}`, `[1, 2.50, -3e2, null, true]`, `{"a":{"b":{}}}`} {
		ts.Publish(t, data)
	}
	w, _ := ts.DialWSHello(t, "since=0")
	w.Send(t, `{"type":"publish","data":{"via":"ws","n":[ 1 ]}}`)
	got := map[uint64][]byte{}
	for len(got) < 5 {
		b := w.ReadText(t)
		if !bytes.HasPrefix(b, []byte(`{"type":`)) {
			got[transportstest.DecodeMessage(t, b).ID] = b
		}
	}
	polled := ts.PollRaw(t)
	for id := uint64(1); id <= 5; id++ {
		if !bytes.Equal(got[id], polled[id]) {
			t.Errorf("message %d:\n ws   %s\n poll %s", id, got[id], polled[id])
		}
	}
}

func TestWSDropThenResumeWithCursorLosesNothing(t *testing.T) {
	ts := transportstest.Start(t, nil)
	c, hello := ts.DialWSHello(t, "since=0")
	ts.PublishN(t, 3)
	var cursor uint64
	for range 3 {
		_, m := c.Message(t)
		cursor = m.ID
	}
	if n := ts.Drop(t, "ws"); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	c.ClosedWith(t, websocket.CloseAbnormalClosure) // cut, no close frame
	ts.PublishN(t, 4)                               // published while away

	c, again := ts.DialWSHello(t, "since="+strconv.FormatUint(cursor, 10)+"&epoch="+hello.Epoch)
	if again.Next != cursor || again.Epoch != hello.Epoch {
		t.Fatalf("resumed hello %+v, want next %d in epoch %s", again, cursor, hello.Epoch)
	}
	ts.PublishN(t, 1)
	for want := cursor + 1; want <= 8; want++ {
		if _, m := c.Message(t); m.ID != want {
			t.Fatalf("after the resume got %d, want %d", m.ID, want)
		}
	}
}

func TestWSShutdownClosesWith1001AfterEveryAckedMessage(t *testing.T) {
	ts := transportstest.Start(t, nil)
	c, _ := ts.DialWSHello(t, "")
	last := ts.PublishN(t, 50)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()
	var ids []uint64
	for _, b := range c.ClosedWith(t, websocket.CloseGoingAway) {
		ids = append(ids, transportstest.DecodeMessage(t, b).ID)
	}
	if uint64(len(ids)) != last || ids[0] != 1 || ids[len(ids)-1] != last {
		t.Errorf("got %d messages (%v) before 1001, want 1..%d", len(ids), ids, last)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(transportstest.Wait):
		t.Fatal("shutdown did not finish")
	}
}

// TestWSSlowReaderIsDroppedAndOthersGetEverything: a client that stops
// reading fills its socket; the others still get every message, and the
// stuck one is dropped once its socket has taken no bytes for
// --send-timeout.
func TestWSSlowReaderIsDroppedAndOthersGetEverything(t *testing.T) {
	t.Parallel()
	transportstest.SkipOverTLS(t, "opens a reader that never reads")
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendBuffer = 4096
		c.SendTimeout = time.Second
		c.WriteTimeout = 10 * time.Second
	})
	d := websocket.Dialer{HandshakeTimeout: transportstest.Wait, NetDialContext: transportstest.DialSmallReadBuffer}
	conn, _, err := d.Dial(ts.WS()+"/api/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stuck := &transportstest.WSClient{Conn: conn}
	stuck.Hello(t) // and reads nothing more until it is dropped
	healthy, _ := ts.DialWSHello(t, "")

	last, failed := readsInOrder(func() ([]byte, error) {
		_, b, err := healthy.TryRead()
		return b, err
	})
	stuckReaderIsDropped(t, ts, "ws", last, failed)

	// Read now, with room to take what is on its way at once, the stuck
	// one's connection ends: close 4001 after what was on its way, or cut
	// when even the close frame could not be written.
	conn.UnderlyingConn().(*net.TCPConn).SetReadBuffer(1 << 20)
	for {
		_, _, err := stuck.TryRead()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != 4001 && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("the dropped reader was closed with %d %q, want 4001 or a cut", ce.Code, ce.Text)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the dropped reader's connection is still open: %v", err)
		}
		break
	}
}

// TestWSConnectionsLeakNoGoroutines: connections that end, by the client
// closing or by /api/drop, leave no goroutine behind.
func TestWSConnectionsLeakNoGoroutines(t *testing.T) {
	ts := transportstest.Start(t, nil)
	ts.PublishN(t, 1)
	base := runtime.NumGoroutine()
	for round := range 3 {
		var closing, dropped []*transportstest.WSClient
		for i := range 20 {
			c, _ := ts.DialWSHello(t, "since=0")
			c.Message(t)
			if i%2 == 0 {
				closing = append(closing, c)
			} else {
				dropped = append(dropped, c)
			}
		}
		for _, c := range closing {
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(transportstest.Wait))
			c.ClosedWith(t, websocket.CloseNormalClosure)
			c.Close()
		}
		transportstest.Await(t, "the closed connections to end", func() bool { return ts.Stats(t).Transports["ws"].Clients == 10 })
		if n := ts.Drop(t, "ws"); n != 10 {
			t.Fatalf("round %d: dropped %d, want 10", round, n)
		}
		for _, c := range dropped {
			c.ClosedWith(t, websocket.CloseAbnormalClosure)
			c.Close()
		}
		transportstest.Await(t, "every connection to end", func() bool { return ts.Stats(t).Transports["ws"].Clients == 0 })

		// Clients that hang up right after the upgrade.
		for range 20 {
			c := ts.DialWS(t, "since=0")
			c.Close()
		}
		transportstest.Await(t, "the hung-up connections to end", func() bool {
			st := ts.Stats(t).Transports["ws"]
			return st.Clients == 0 && st.Requests >= int64(40*(round+1))
		})
	}
	deadline := time.Now().Add(transportstest.Wait)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before 120 connections came and went:\n%s",
				runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWSOneWriterUnderConcurrentReplies pins gorilla trap #1: replies
// (acks, pongs, errors), pings and fanned-out messages all go through one
// writer. Concurrent writers panic, which kills the process.
func TestWSOneWriterUnderConcurrentReplies(t *testing.T) {
	// A short heartbeat puts pings among the other frames; not so short
	// that a busy machine misses a pong and closes the connection.
	ts := transportstest.Start(t, func(c *transports.Config) { c.Heartbeat = 200 * time.Millisecond })
	c, _ := ts.DialWSHello(t, "since=0")
	const n = 200
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.Close() // stops the writer if the test fails early
	failed := make(chan error, 2)
	wg.Add(2)
	go func() { // the client's writer
		defer wg.Done()
		for i := range n {
			c.SetWriteDeadline(time.Now().Add(transportstest.Wait))
			frames := []string{`{"type":"ping"}`, `ping`, fmt.Sprintf(`{"type":"publish","data":%d,"ref":%d}`, i, i), `{"type":"nope"}`}
			for _, f := range frames {
				if err := c.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
					failed <- fmt.Errorf("ws write: %w", err)
					return
				}
			}
		}
	}()
	go func() { // a publisher over HTTP at the same time
		defer wg.Done()
		for i := range n {
			resp, err := http.Post(ts.URL+"/api/messages", "application/json", strings.NewReader(strconv.Itoa(i)))
			if err != nil {
				failed <- fmt.Errorf("publish: %w", err)
				return
			}
			resp.Body.Close()
		}
	}()
	pongs, barePongs, acks, errs, msgs := 0, 0, 0, 0, 0
	for pongs < n || barePongs < n || acks < n || errs < n || msgs < 2*n {
		_, b, err := c.TryRead()
		if err != nil {
			select {
			case werr := <-failed:
				t.Fatalf("ws read: %v (%v)", err, werr)
			default:
				t.Fatalf("ws read: %v (after %d pongs, %d bare pongs, %d acks, %d errors, %d messages)", err, pongs, barePongs, acks, errs, msgs)
			}
		}
		switch {
		case string(b) == `{"type":"pong"}`:
			pongs++
		case string(b) == `pong`:
			barePongs++
		case bytes.HasPrefix(b, []byte(`{"type":"published"`)):
			acks++
		case bytes.HasPrefix(b, []byte(`{"type":"error"`)):
			errs++
		default:
			if m := transportstest.DecodeMessage(t, b); m.ID != uint64(msgs+1) {
				t.Fatalf("message %d after %d, want them in order", m.ID, msgs)
			}
			msgs++
		}
	}
}

// TestWSConnectionStuckBothWaysIsReleasedWhenCut: a client that sends
// frames but reads nothing fills the server's socket (the write pump waits)
// and its reply queue (the read pump waits). When the connection is then
// cut, both pumps must end: the connection leaves the stats and the
// --max-clients count, and no goroutine is left waiting.
func TestWSConnectionStuckBothWaysIsReleasedWhenCut(t *testing.T) {
	t.Parallel()
	// A --send-timeout far longer than the test: the stuck connection is
	// not dropped as too slow before it is cut.
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendTimeout = time.Minute
		c.WriteTimeout = 2 * time.Minute
	})
	stuck, _ := ts.DialWSHello(t, "") // and never reads again
	transportstest.TCP(stuck.UnderlyingConn()).SetReadBuffer(4 << 10)

	big := `"` + strings.Repeat("x", 30<<10) + `"`
	for range 200 { // 6 MB: more than the socket buffers hold
		ts.Publish(t, big)
	}
	before := ts.Stats(t).Transports["ws"].BytesIn
	const pings = 100 // more than the reply queue (64) holds
	for range pings {
		stuck.Send(t, "ping")
	}
	// Each ping is 10 bytes (header, mask, "ping"). Once the server has read
	// 65, one more than its reply queue holds, its read pump waits.
	transportstest.Await(t, "the server to read the pings", func() bool { return ts.Stats(t).Transports["ws"].BytesIn >= before+65*10 })

	if n := ts.Drop(t, "ws"); n != 1 {
		t.Fatalf("dropped %d, want 1", n)
	}
	start := time.Now()
	for ts.Stats(t).Transports["ws"].Clients != 0 {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("the cut connection is still counted %v after /api/drop: its pumps did not end", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWSReplacingAStuckConnectionDoesNotDelayTheNewOne: a client whose
// old connection died without a word (its socket full, as after a network
// loss) reconnects with the same client id. The new connection must start
// at once, whatever it takes to get rid of the old one.
func TestWSReplacingAStuckConnectionDoesNotDelayTheNewOne(t *testing.T) {
	t.Parallel()
	// A --send-timeout far longer than the test: the old connection is not
	// dropped as too slow before it is replaced.
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.SendTimeout = time.Minute
		c.WriteTimeout = 2 * time.Minute
	})
	old, _ := ts.DialWSHello(t, "client=phone") // and never reads again
	transportstest.TCP(old.UnderlyingConn()).SetReadBuffer(4 << 10)
	big := `"` + strings.Repeat("x", 30<<10) + `"`
	last := uint64(0)
	for range 200 { // 6 MB: more than the socket buffers hold
		last = ts.Publish(t, big)
	}

	start := time.Now()
	c := ts.DialWS(t, "client=phone&since="+strconv.FormatUint(last, 10))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no hello on the new connection %v after the upgrade: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if !bytes.HasPrefix(b, []byte(`{"type":"hello"`)) {
		t.Fatalf("first frame %.60q, want the hello", b)
	}
	c.Send(t, `{"type":"ping"}`)
	if got := c.ReadText(t); string(got) != `{"type":"pong"}` {
		t.Fatalf("got %s, want a pong", got)
	}
}

// TestWSTextFramesAreValidUTF8: a WebSocket text frame must be UTF-8 (RFC
// 6455 5.6); a browser fails the whole connection on one that is not. So
// data that is not UTF-8 is refused where it comes in (an error frame for a
// publish frame, 400 for POST /api/messages, as for plain text), and no
// subscriber ever gets a frame that is not UTF-8.
func TestWSTextFramesAreValidUTF8(t *testing.T) {
	ts := transportstest.Start(t, nil)
	sub, _ := ts.DialWSHello(t, "")
	pub, _ := ts.DialWSHello(t, "")
	// reply reads pub's frames up to the next ack or error frame.
	reply := func() []byte {
		for {
			b := pub.ReadText(t)
			if !utf8.Valid(b) {
				t.Errorf("the publisher got a text frame that is not UTF-8: %q", b)
			}
			if bytes.HasPrefix(b, []byte(`{"type":"published"`)) || bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
				return b
			}
		}
	}

	for _, frame := range []string{
		"{\"type\":\"publish\",\"data\":\"caf\xe9\",\"ref\":\"latin1\"}",
		"{\"type\":\"publish\",\"data\":{\"k\":\"\xff\xfe\"},\"ref\":\"bytes\"}",
	} {
		pub.Send(t, frame)
		if b := reply(); !bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
			t.Errorf("publish frame %q: got %q, want an error frame (the data is not UTF-8)", frame, b)
		}
	}
	// A ref that is not UTF-8 must not come back raw either.
	pub.Send(t, "{\"type\":\"publish\",\"data\":\"ok\",\"ref\":\"\xff\"}")
	reply()

	resp, err := http.Post(ts.URL+"/api/messages", "application/json", strings.NewReader("\"caf\xe9\""))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST of JSON that is not UTF-8: %d %q, want 400", resp.StatusCode, body)
	}

	end := ts.Publish(t, `"end"`)
	for {
		b := sub.ReadText(t)
		if !utf8.Valid(b) {
			t.Errorf("a subscriber got a text frame that is not UTF-8: %q", b)
		}
		if bytes.Contains(b, []byte(`"id":`+strconv.FormatUint(end, 10)+`,`)) {
			break
		}
	}
}
