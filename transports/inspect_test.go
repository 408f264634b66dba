package transports_test

// The wire inspector (wiremeter/inspect.go): GET /api/inspect shows each transport's
// last exchanges as they crossed the socket, and its bytes are the bytes
// /api/stats counted for them, split by kind.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// inspected is the answer of GET /api/inspect, as a client reads it.
type inspected struct {
	Transports map[string][]recorded `json:"transports"`
}

// recorded is one exchange of GET /api/inspect.
type recorded struct {
	Request struct {
		Text  string
		Bytes int64
	} `json:"request"`
	Response struct {
		Text  string
		Bytes int64
	} `json:"response"`
	Body *struct {
		Text    string
		Bytes   int64
		Decoded int64
	} `json:"body"`
	Encoding string `json:"encoding"`
	Chunks   []struct {
		SizeLine string `json:"size_line"`
		Data     string `json:"data"`
		Bytes    int64  `json:"bytes"`
		Framing  int    `json:"framing"`
		Ping     bool   `json:"ping"`
	} `json:"chunks"`
	Frames *struct{ Out, In []inspectedFrame } `json:"frames"`
	Parts  map[string]int64                    `json:"parts"`
	Sealed string                              `json:"sealed"`
}

type inspectedFrame struct {
	Fin        bool   `json:"fin"`
	Opcode     int    `json:"opcode"`
	Masked     bool   `json:"masked"`
	Compressed bool   `json:"compressed"`
	Length     int64  `json:"length"`
	Header     string `json:"header"`
	Payload    string `json:"payload"`
}

func inspect(t *testing.T, srv *transportstest.Server) inspected {
	t.Helper()
	code, body, _ := srv.Get(t, "/api/inspect")
	var in inspected
	if code != http.StatusOK || json.Unmarshal([]byte(body), &in) != nil {
		t.Fatalf("GET /api/inspect: %d %s", code, body)
	}
	return in
}

// socketBytes is what /api/stats counted for transport between two snapshots.
func socketBytes(before, after transports.Snapshot, transport string) (in, out int64) {
	a, b := before.Transports[transport], after.Transports[transport]
	return b.BytesIn - a.BytesIn, b.BytesOut - a.BytesOut
}

// agreed waits until the one exchange recorded for transport holds what the
// client has read (complete says when) and adds up to what /api/stats
// counted since before, and returns both. A write is counted, and recorded,
// just after the socket took it, so a client may read it a moment sooner:
// without complete, both could agree on bytes that miss the last write.
func agreed(t *testing.T, srv *transportstest.Server, before transports.Snapshot, transport string, complete func(recorded) bool) (x recorded, in, out int64) {
	t.Helper()
	transportstest.Await(t, "the recorded bytes holding what the client read and adding up to the counted", func() bool {
		in, out = socketBytes(before, srv.Stats(t), transport)
		list := inspect(t, srv).Transports[transport]
		if len(list) != 1 {
			return false
		}
		x = list[0]
		return complete(x) && sum(x.Parts) == in+out
	})
	return x, in, out
}

// partsAreCounted reports whether the one exchange in the inspector of the
// SSE stream and of the WebSocket has the parts /api/stats counted for it
// between before and after: its framing, its heartbeats (at least
// minBeats) and all its bytes. last says what it saw.
func partsAreCounted(in inspected, before, after transports.Snapshot, minBeats int64, last *string) bool {
	for _, tr := range []string{"sse", "ws"} {
		list := in.Transports[tr]
		if len(list) != 1 {
			return false
		}
		p := list[0].Parts
		a, b := before.Transports[tr], after.Transports[tr]
		framing := b.FramingIn + b.FramingOut - a.FramingIn - a.FramingOut
		beats := b.HeartbeatsIn + b.HeartbeatsOut - a.HeartbeatsIn - a.HeartbeatsOut
		sin, sout := socketBytes(before, after, tr)
		*last = fmt.Sprintf("%s: inspector %v, counted framing %d heartbeats %d, %d bytes", tr, p, framing, beats, sin+sout)
		if p["framing"] != framing || p["heartbeats"] != beats || sum(p) != sin+sout || beats < minBeats {
			return false
		}
	}
	return true
}

func sum(parts map[string]int64) int64 {
	n := int64(0)
	for _, v := range parts {
		n += v
	}
	return n
}

func TestInspectorRecordsNothingUntilAsked(t *testing.T) {
	srv := transportstest.Start(t, nil)
	srv.Get(t, "/api/poll?since=0")
	if got := inspect(t, srv).Transports["poll"]; len(got) != 0 {
		t.Errorf("a poll before the first GET /api/inspect was recorded: %+v", got)
	}
	srv.Get(t, "/api/poll?since=0")
	if got := inspect(t, srv).Transports["poll"]; len(got) != 1 {
		t.Errorf("%d polls recorded after GET /api/inspect, want 1", len(got))
	}
}

func TestInspectorPollBytesAreTheCountedBytes(t *testing.T) {
	srv := transportstest.Start(t, nil)
	srv.Publish(t, `"one"`)
	inspect(t, srv)
	before := srv.Stats(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/poll?since=0", nil)
	req.Header.Set("Authorization", "Bearer not-for-the-page")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p, in, out := agreed(t, srv, before, "poll", func(x recorded) bool { return x.Body != nil && x.Body.Bytes == int64(len(body)) })
	if p.Request.Bytes != in {
		t.Errorf("request: %d B recorded, %d B counted", p.Request.Bytes, in)
	}
	if p.Body == nil || p.Response.Bytes+p.Body.Bytes != out {
		t.Fatalf("response: head %d B + body %+v recorded, %d B counted", p.Response.Bytes, p.Body, out)
	}
	if sum(p.Parts) != in+out || p.Parts["request_head"] != in || p.Parts["payload"] != int64(len(body)) {
		t.Errorf("parts %v, want %d B in all, the request's %d, the body's %d", p.Parts, in+out, in, len(body))
	}
	if !strings.HasPrefix(p.Request.Text, "GET /api/poll?since=0 HTTP/1.1\r\n") || !strings.Contains(p.Request.Text, "\r\nAuthorization: "+strings.Repeat("*", len("Bearer not-for-the-page"))+"\r\n") {
		t.Errorf("request recorded as %q: want the request line, and the Authorization value masked", p.Request.Text)
	}
	if !strings.HasPrefix(p.Response.Text, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(p.Response.Text, "\r\n\r\n") || p.Body.Text != string(body) {
		t.Errorf("response recorded as %q + %q, want the head and the body %q", p.Response.Text, p.Body.Text, body)
	}
}

func TestInspectorWebSocketFrames(t *testing.T) {
	srv := transportstest.Start(t, nil)
	inspect(t, srv)
	before := srv.Stats(t)
	c := srv.DialWS(t, "client=inspected&token=hidden")
	c.Hello(t)
	srv.Publish(t, `"hi"`)
	raw, _ := c.Message(t)
	c.Send(t, `{"type":"ping"}`)
	if got := string(c.ReadText(t)); got != `{"type":"pong"}` {
		t.Fatalf("after a ping: %s", got)
	}
	w, _, _ := agreed(t, srv, before, "ws", func(x recorded) bool { return x.Frames != nil && len(x.Frames.Out) >= 3 })
	if !strings.Contains(w.Request.Text, "token=******") || strings.Contains(w.Request.Text, "hidden") {
		t.Errorf("the token is not masked: %q", w.Request.Text)
	}
	if !strings.HasPrefix(w.Response.Text, "HTTP/1.1 101 Switching Protocols\r\n") {
		t.Errorf("the upgrade's answer recorded as %q", w.Response.Text)
	}
	want := []inspectedFrame{ // hello, the message, the pong; a small frame's header is 2 bytes
		{Fin: true, Opcode: 1, Length: -1},
		{Fin: true, Opcode: 1, Length: int64(len(raw)), Header: fmt.Sprintf("81%02x", len(raw)), Payload: string(raw)},
		{Fin: true, Opcode: 1, Length: 15, Header: "810f", Payload: `{"type":"pong"}`},
	}
	if len(w.Frames.Out) != 3 {
		t.Fatalf("%d frames out, want 3: %+v", len(w.Frames.Out), w.Frames.Out)
	}
	for i, f := range w.Frames.Out {
		if want[i].Length < 0 { // the hello: its length is its own
			want[i].Length, want[i].Header, want[i].Payload = f.Length, fmt.Sprintf("81%02x", f.Length), f.Payload
			if !strings.HasPrefix(f.Payload, `{"type":"hello"`) {
				t.Errorf("the first frame out is %q, want the hello", f.Payload)
			}
		}
		if f != want[i] {
			t.Errorf("frame out %d = %+v, want %+v", i, f, want[i])
		}
	}
	if len(w.Frames.In) != 1 {
		t.Fatalf("%d frames in, want the ping: %+v", len(w.Frames.In), w.Frames.In)
	}
	ping := w.Frames.In[0]
	if !ping.Masked || len(ping.Header) != 12 || ping.Header[:4] != "818f" || ping.Payload != `{"type":"ping"}` {
		t.Errorf("the client's ping = %+v, want masked, 81 8f and a 4-byte key, unmasked payload", ping)
	}
	if hb := w.Parts["heartbeats"]; hb != 6+15+2+15 {
		t.Errorf("heartbeats %d B, want the ping and the pong, frames and all: %d", hb, 6+15+2+15)
	}
}

func TestInspectorSSEChunks(t *testing.T) {
	srv := transportstest.Start(t, nil)
	inspect(t, srv)
	before := srv.Stats(t)
	s := srv.OpenSSE(t, http.DefaultClient, "/api/sse?since=0")
	s.Hello(t)
	srv.Publish(t, `"hi"`)
	s.NextMessage(t)
	e, _, _ := agreed(t, srv, before, "sse", func(x recorded) bool {
		for _, c := range x.Chunks {
			if strings.Contains(c.Data, "\ndata: {\"id\":1,") {
				return true
			}
		}
		return false
	})
	if !strings.Contains(e.Response.Text, "\r\nContent-Type: text/event-stream\r\n") {
		t.Errorf("the stream's head recorded as %q", e.Response.Text)
	}
	for _, c := range e.Chunks {
		if c.SizeLine != fmt.Sprintf("%x\r\n", len(c.Data)) || c.Bytes != int64(len(c.Data)) || c.Framing != len(c.SizeLine)+2 {
			t.Errorf("chunk %+v: want its size line to be its data's length in hex", c)
		}
	}
}

// TestInspectorHeartbeats: the keepalives are recorded as heartbeats, at
// the sizes the page's cost window assumes (public/verdict.js,
// HEARTBEAT_BYTES): an SSE ": ping" in its chunk is 13 bytes, a WebSocket
// ping 2 and a client's pong 6.
func TestInspectorHeartbeats(t *testing.T) {
	srv := transportstest.Start(t, func(c *transports.Config) {
		c.Heartbeat = 50 * time.Millisecond
		c.SSEKeepalive = 50 * time.Millisecond
	})
	inspect(t, srv)
	s := srv.OpenSSE(t, http.DefaultClient, "/api/sse")
	s.Hello(t)
	c := srv.DialWS(t, "client=pinged")
	c.Hello(t)
	go func() { // reading answers the server's pings (gorilla's default handler)
		for {
			if _, _, err := c.Conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	transportstest.Await(t, "a ping chunk, a ping frame and its pong recorded", func() bool {
		in := inspect(t, srv)
		sse, ws := in.Transports["sse"], in.Transports["ws"]
		if len(sse) != 1 || len(ws) != 1 || ws[0].Frames == nil {
			return false
		}
		var chunk, ping, pong bool
		for _, ch := range sse[0].Chunks {
			chunk = chunk || ch.Ping && ch.SizeLine == "8\r\n" && ch.Data == ": ping\n\n" && ch.Framing+int(ch.Bytes) == 13
		}
		for _, f := range ws[0].Frames.Out {
			ping = ping || f.Opcode == 9 && f.Header == "8900"
		}
		for _, f := range ws[0].Frames.In {
			pong = pong || f.Opcode == 10 && f.Masked && len(f.Header) == 12
		}
		return chunk && ping && pong && sse[0].Parts["heartbeats"]%13 == 0 && sse[0].Parts["heartbeats"] > 0
	})
}

// TestInspectorShowsOnlyTheRequestOverTLS: over TLS a socket carries
// encrypted records, not HTTP, so the inspector records the request as
// the server parsed it, says which protocol sealed it, and shows no bytes.
func TestInspectorShowsOnlyTheRequestOverTLS(t *testing.T) {
	cert, _, err := transports.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := transportstest.Start(t, func(c *transports.Config) { c.TLS = cert })
	inspect(t, srv)
	srv.Get(t, "/api/poll?since=0") // HTTP/2: the default client speaks it over TLS
	c := srv.DialWS(t, "client=sealed")
	c.Hello(t)
	got := inspect(t, srv).Transports
	for transport, want := range map[string]string{"poll": "HTTP/2.0 over TLS", "ws": "HTTP/1.1 over TLS"} {
		list := got[transport]
		if len(list) != 1 {
			t.Fatalf("%s: %d exchanges recorded, want 1: %+v", transport, len(list), list)
		}
		x := list[0]
		if x.Sealed != want || !strings.HasPrefix(x.Request.Text, "GET /api/") || x.Response.Bytes != 0 || x.Frames != nil || sum(x.Parts) != 0 {
			t.Errorf("%s over TLS recorded as %+v: want sealed %q, the request, and no bytes", transport, x, want)
		}
	}
}

// TestInspectorPartsAreTheCountedParts: on each SSE writer, the framing and
// heartbeats the inspector finds in a stream are exactly what /api/stats
// counted for it where it was written and read: an SSE stream with
// keepalives and an event larger than a chunk, made of colons (so that a
// chunk begins inside an event with a colon), and a WebSocket with pings
// both ways, a {"type":"ping"} and a publish.
func TestInspectorPartsAreTheCountedParts(t *testing.T) {
	transportstest.SkipOverTLS(t, "inspects bytes in the clear")
	for _, writer := range []string{"r3labs", "direct"} {
		t.Run(writer, func(t *testing.T) {
			srv := transportstest.Start(t, func(c *transports.Config) {
				c.Heartbeat = 100 * time.Millisecond
				c.SSEKeepalive = 100 * time.Millisecond
				c.SSEWriter = writer
			})
			inspect(t, srv)
			before := srv.Stats(t)
			s := srv.OpenSSE(t, http.DefaultClient, "/api/sse?since=0")
			s.Hello(t)
			c := srv.DialWS(t, "client=counted")
			c.Hello(t)
			c.Send(t, `{"type":"ping"}`)
			if got := string(c.ReadText(t)); got != `{"type":"pong"}` {
				t.Fatalf("after a ping: %s", got)
			}
			go func() { // reading answers the server's pings (gorilla's default handler)
				for {
					if _, _, err := c.Conn.ReadMessage(); err != nil {
						return
					}
				}
			}()
			srv.Publish(t, `"one"`)
			srv.Publish(t, `"`+strings.Repeat(":", 5000)+`"`)
			s.NextMessage(t)
			s.NextMessage(t)
			var last string
			defer func() {
				if t.Failed() {
					t.Log("last seen: " + last)
				}
			}()
			transportstest.WaitFor(t, "the inspector's parts to be the counted parts", transportstest.Wait, func() bool {
				after, in := srv.Stats(t), inspect(t, srv)
				return partsAreCounted(in, before, after, 2*13, &last)
			})
		})
	}
}

// TestInspectorSurvivesAFrameOfImpossibleLength: a client frame whose
// 64-bit length has its top bit set (RFC 6455 forbids it) is cut by the
// library; the inspector reading it meanwhile must not take the server
// down with it (it did: a negative length, a panic in the read pump).
func TestInspectorSurvivesAFrameOfImpossibleLength(t *testing.T) {
	transportstest.SkipOverTLS(t, "writes raw frames")
	srv := transportstest.Start(t, nil)
	inspect(t, srv)
	c := rawDial(t, srv)
	c.send(t, "GET /api/ws HTTP/1.1\r\nHost: "+srv.Addr()+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if resp, _ := c.response(t); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	c.send(t, "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01\x01\x02\x03\x04abc")
	transportstest.Await(t, "the connection cut", func() bool { return srv.Stats(t).Transports["ws"].Clients == 0 })
	if code, _, _ := srv.Get(t, "/api/inspect"); code != http.StatusOK {
		t.Fatalf("the server after the frame: GET /api/inspect %d", code)
	}
}

// TestInspectorKeepsItsBounds: the inspector is bounded, as its issue asks:
// the newest 20 frames each way of a WebSocket, and the newest 4
// exchanges of a transport.
func TestInspectorKeepsItsBounds(t *testing.T) {
	srv := transportstest.Start(t, nil)
	inspect(t, srv)
	for range 6 {
		srv.Get(t, "/api/poll?since=0")
	}
	if got := len(inspect(t, srv).Transports["poll"]); got != 4 {
		t.Errorf("%d polls kept, want the newest 4", got)
	}
	c := srv.DialWS(t, "client=bounded")
	c.Hello(t)
	for i := range 25 {
		c.Send(t, fmt.Sprintf(`{"type":"publish","data":%d}`, i))
	}
	// The 25 acks and 25 messages, in the order they came: the acks may
	// trail the messages (the read pump's replies wait for the writer), so
	// the newest 20 are whatever came last.
	var read []string
	for range 50 {
		read = append(read, string(c.ReadText(t)))
	}
	newest := read[len(read)-20:]
	transportstest.Await(t, "the newest 20 frames each way kept, as they crossed", func() bool {
		ws := inspect(t, srv).Transports["ws"]
		if len(ws) != 1 || ws[0].Frames == nil {
			return false
		}
		in, out := ws[0].Frames.In, ws[0].Frames.Out
		if len(in) != 20 || len(out) != 20 {
			return false
		}
		for i, f := range in {
			if f.Payload != fmt.Sprintf(`{"type":"publish","data":%d}`, i+5) {
				return false
			}
		}
		for i, f := range out {
			if f.Payload != newest[i] {
				return false
			}
		}
		return true
	})
}
