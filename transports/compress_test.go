package transports_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports"
	"fourway/transports/transportstest"
)

func timeAfterWait() time.Time { return time.Now().Add(transportstest.Wait) }

// withCompress turns --compress on, on the writers that compress (a
// second pass may have chosen a direct one).
func withCompress(c *transports.Config) {
	c.Compress, c.SSEWriter, c.LongPollWriter = true, "r3labs", "nethttp"
}

// compressible is the data of a message of about 8.8 KB that compresses
// well, as a chat's or a dashboard's JSON does: the same keys again and
// again.
func compressible() string {
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := range 142 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"user":"ana","room":"general","text":"the same words","n":` + string(rune('0'+i%10)) + `}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// countingConn counts the bytes a client reads off its socket.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// dialCounting opens the server's WebSocket offering permessage-deflate
// (or not), counting the bytes read off the socket.
func dialCounting(t *testing.T, ts *transportstest.Server, offer bool, read *atomic.Int64) (*websocket.Conn, *http.Response) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: transportstest.Wait, TLSClientConfig: transportstest.ClientTLS(), EnableCompression: offer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, read}, nil
		}}
	conn, resp, err := d.Dial(ts.WS()+"/api/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, resp
}

// TestCompressWSDeflatesAMessage: with --compress, a client that
// offers permessage-deflate gets it, and an 8.8 KB message that compresses
// well arrives intact in under 2 KB on the socket; a client that offers
// nothing gets it plain.
func TestCompressWSDeflatesAMessage(t *testing.T) {
	transportstest.SkipOverTLS(t, "counts the bytes of frames in the clear")
	ts := transportstest.Start(t, withCompress)
	data := compressible()
	for _, offer := range []bool{true, false} {
		var read atomic.Int64
		conn, resp := dialCounting(t, ts, offer, &read)
		ext := resp.Header.Get("Sec-WebSocket-Extensions")
		if got := strings.HasPrefix(ext, "permessage-deflate"); got != offer {
			t.Fatalf("offered permessage-deflate %v: Sec-WebSocket-Extensions %q", offer, ext)
		}
		conn.SetReadDeadline(timeAfterWait())
		if _, hello, err := conn.ReadMessage(); err != nil || !bytes.Contains(hello, []byte(`"hello"`)) {
			t.Fatalf("hello: %s %v", hello, err)
		}
		before := read.Load()
		id := ts.Publish(t, data)
		_, got, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		onWire := read.Load() - before
		m := transportstest.DecodeMessage(t, got)
		if m.ID != id || string(m.Data) != data || !bytes.Equal(got, ts.PollRaw(t)[id]) {
			t.Fatalf("offered %v: got message %d of %d bytes, want %d intact, the same bytes as the poll's", offer, m.ID, len(got), id)
		}
		t.Logf("offered permessage-deflate %v: a %d-byte message took %d bytes on the socket", offer, len(got), onWire)
		if offer && onWire >= 2000 {
			t.Errorf("compressed, the %d-byte message took %d bytes on the socket, want under 2,000", len(got), onWire)
		}
		if !offer && onWire < int64(len(got)) {
			t.Errorf("plain, the %d-byte message took only %d bytes on the socket", len(got), onWire)
		}
	}
}

// rawClient is an HTTP client that neither offers gzip on its own nor
// decodes it, so a test sees the bytes as sent.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true, TLSClientConfig: transportstest.ClientTLS()}}

// get sends GET path with Accept-Encoding accept ("" sends none) and
// returns the response with its body, as it came.
func get(t *testing.T, ts *transportstest.Server, path, accept string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// gunzip decodes a gzip body whole, checksum and size included.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}

// TestCompressPollsAnswerGzip: with --compress, a short poll and a
// long poll that offer gzip get their answer gzipped, smaller, and the
// same bytes once decoded; a poll that offers nothing, or refuses gzip
// (q=0), gets them plain; without --compress nobody gets gzip.
func TestCompressPollsAnswerGzip(t *testing.T) {
	for _, compress := range []bool{true, false} {
		ts := transportstest.Start(t, func(c *transports.Config) {
			if withCompress(c); !compress {
				c.Compress = false
			}
		})
		for range 5 {
			ts.Publish(t, compressible())
		}
		for _, path := range []string{"/api/poll?since=0", "/api/longpoll?since=0"} {
			plainResp, plain := get(t, ts, path, "")
			if enc := plainResp.Header.Get("Content-Encoding"); enc != "" || !bytes.Contains(plain, []byte(`"messages":[{"id":1,`)) {
				t.Fatalf("%s offering nothing: Content-Encoding %q, body %.60s", path, enc, plain)
			}
			refused, body := get(t, ts, path, "gzip;q=0, identity")
			if enc := refused.Header.Get("Content-Encoding"); enc != "" || !bytes.Equal(body, plain) {
				t.Errorf("%s refusing gzip: Content-Encoding %q", path, enc)
			}
			resp, gz := get(t, ts, path, "br, gzip")
			if !compress {
				if enc := resp.Header.Get("Content-Encoding"); enc != "" || resp.Header.Get("Vary") != "" || !bytes.Equal(gz, plain) {
					t.Errorf("without --compress, %s offering gzip: Content-Encoding %q, Vary %q, %d bytes, want %d plain and no Vary", path, enc, resp.Header.Get("Vary"), len(gz), len(plain))
				}
				continue
			}
			if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("%s offering gzip: Content-Encoding %q, Vary %q", path, enc, resp.Header.Get("Vary"))
			}
			if got := gunzip(t, gz); !bytes.Equal(got, plain) {
				t.Fatalf("%s: gzip decodes to %d bytes unlike the plain answer's %d", path, len(got), len(plain))
			}
			t.Logf("%s: %d bytes plain, %d gzipped", path, len(plain), len(gz))
			if len(gz) >= len(plain)/4 {
				t.Errorf("%s: %d bytes gzipped, %d plain: want much smaller", path, len(gz), len(plain))
			}
		}
	}
}

// TestCompressSSEStreamsGzip: with --compress, an SSE stream that
// offers gzip is gzipped, and each event arrives as it is sent, not when a
// buffer fills: the test waits for the event, and nothing else comes
// that could push it out. Decoded, the stream is the plain stream's bytes.
// A stream that offers nothing is plain.
func TestCompressSSEStreamsGzip(t *testing.T) {
	ts := transportstest.Start(t, withCompress)
	data := compressible()
	open := func(accept string) (*http.Response, *bufio.Reader) {
		if accept == "" {
			resp, _ := ts.GetSSE(t, rawClient, "/api/sse?since=0")
			return resp, bufio.NewReader(resp.Body)
		}
		resp, _ := ts.GetSSE(t, rawClient, "/api/sse?since=0", "Accept-Encoding", accept)
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("the stream is not gzip: %v", err)
		}
		return resp, bufio.NewReader(zr)
	}
	// event reads the next event, its lines and the blank line after.
	event := func(r *bufio.Reader) string {
		var ev strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", ev.String(), err)
			}
			ev.WriteString(line)
			if line == "\n" {
				return ev.String()
			}
		}
	}
	gzResp, gz := open("gzip")
	plainResp, plain := open("")
	if enc := gzResp.Header.Get("Content-Encoding"); enc != "gzip" {
		t.Fatalf("offering gzip: Content-Encoding %q", enc)
	}
	if enc := plainResp.Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("offering nothing: Content-Encoding %q", enc)
	}
	off := transportstest.Start(t, func(c *transports.Config) { c.Compress = false })
	if resp, _ := off.GetSSE(t, rawClient, "/api/sse?since=0", "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "" {
		t.Fatalf("without --compress, offering gzip: Content-Encoding %q, Vary %q, want neither", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	if h := event(gz); !strings.Contains(h, "event: hello") {
		t.Fatalf("first event %q, want the hello", h)
	}
	event(plain)
	id := ts.Publish(t, data)
	got := event(gz) // arrives alone: nothing is published after it
	if want := event(plain); got != want {
		t.Fatalf("the gzip stream's event decodes to %q, the plain one's is %q", got, want)
	}
	if !strings.Contains(got, `"id":`) || !strings.Contains(got, data) || id != 1 {
		t.Fatalf("event %.80q, want message 1", got)
	}
}

// TestCompressSSEStreamEndsAsAWholeGzipMember: a compressed stream that the
// server ends (at a shutdown) ends its gzip member, checksum and size, so
// the client reads to a clean end.
func TestCompressSSEStreamEndsAsAWholeGzipMember(t *testing.T) {
	ts := transportstest.Start(t, withCompress)
	ts.Publish(t, compressible())
	resp, _ := ts.GetSSE(t, rawClient, "/api/sse?since=0", "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(zr)
	for seen := 0; seen < 2; { // the hello and the message
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\n" {
			seen++
		}
	}
	if err := ts.Stop(); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); err != nil {
		t.Fatalf("the stream ended with %v after %q: want a whole gzip member", err, rest)
	}
}

// deflatedFrame is a client's frame, masked with a zero key (the payload as
// it is), its RSV1 bit set: a compressed message.
func deflatedFrame(payload []byte) []byte {
	b := []byte{0x80 | 0x40 | websocket.TextMessage}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, payload...)
}

// closeCodeOf reads until the connection ends, and returns the close code
// the server said goodbye with.
func closeCodeOf(t *testing.T, conn *websocket.Conn) int {
	t.Helper()
	conn.SetReadDeadline(timeAfterWait())
	for {
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("the connection ended with %v, not a close frame", err)
		}
	}
}

// TestCompressWSDeflateBombIsRefusedWith1009: a compressed message small on the
// wire (under the read limit) that inflates far past --max-message is
// refused with 1009, and reading it costs no more memory than the limit:
// the server stops inflating one byte past it.
func TestCompressWSDeflateBombIsRefusedWith1009(t *testing.T) {
	transportstest.SkipOverTLS(t, "writes raw frames")
	ts := transportstest.Start(t, withCompress)
	const inflated = 32 << 20
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(make([]byte, inflated))
	fw.Flush()
	bomb := deflatedFrame(bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}))
	t.Logf("a bomb of %d bytes on the wire, %d inflated; the limit is %d", len(bomb), inflated, ts.Config.MaxMessage)

	var read atomic.Int64
	conn, _ := dialCounting(t, ts, true, &read)
	conn.SetReadDeadline(timeAfterWait())
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := conn.NetConn().Write(bomb); err != nil {
		t.Fatal(err)
	}
	code := closeCodeOf(t, conn)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("close %d; %d bytes allocated in the process meanwhile", code, allocated)
	if code != websocket.CloseMessageTooBig {
		t.Errorf("close %d, want 1009", code)
	}
	if allocated > 8<<20 {
		t.Errorf("%d bytes allocated while the server read a bomb of %d inflated bytes; the limit is %d", allocated, inflated, ts.Config.MaxMessage)
	}
	stillServes(t, ts)
}

// TestCompressWSMalformedDeflateIsRefusedWith1007: a compressed message that does
// not inflate is refused with 1007, and nothing else happens: the server
// serves others as before.
func TestCompressWSMalformedDeflateIsRefusedWith1007(t *testing.T) {
	transportstest.SkipOverTLS(t, "writes raw frames")
	ts := transportstest.Start(t, withCompress)
	var read atomic.Int64
	conn, _ := dialCounting(t, ts, true, &read)
	conn.SetReadDeadline(timeAfterWait())
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	// Block type 3 is reserved (RFC 1951 section 3.2.3): no inflater takes it.
	if _, err := conn.NetConn().Write(deflatedFrame([]byte{0xff, 0xff, 0xff, 0xff, 0xff})); err != nil {
		t.Fatal(err)
	}
	if code := closeCodeOf(t, conn); code != websocket.CloseInvalidFramePayloadData && code != websocket.CloseProtocolError {
		t.Errorf("close %d, want 1007 (or 1002)", code)
	}
	stillServes(t, ts)
}

// stillServes checks that the server goes on: a new WebSocket gets its
// hello and a message published after, and nothing was published by the
// hostile client.
func stillServes(t *testing.T, ts *transportstest.Server) {
	t.Helper()
	c, _ := ts.DialWSHello(t, "")
	id := ts.Publish(t, `"after"`)
	if m := transportstest.DecodeMessage(t, c.ReadText(t)); m.ID != id || id != 1 {
		t.Fatalf("after the hostile client, message %d arrived, want %d, the first published", m.ID, id)
	}
}

// TestConformanceWithCompress runs the tests that hold the four
// transports to the same bytes a second time with --compress, every
// client offering compression: decoded, the bytes are the same.
func TestConformanceWithCompress(t *testing.T) {
	secondPass(t, "with --compress", transportstest.CompressEnv+"=1", compressSpec, 5)
}

const compressSpec = `^(TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|TestDropThenResumeLosesNothing|` +
	`TestThePassCompresses)$`

// TestThePassCompresses checks that a pass compresses when it means to:
// GET /api/config says so, and a WebSocket of DialWS negotiates it.
func TestThePassCompresses(t *testing.T) {
	ts := transportstest.Start(t, nil)
	var cfg struct {
		Compress bool `json:"compress"`
	}
	if _, body, _ := ts.Get(t, "/api/config"); json.Unmarshal([]byte(body), &cfg) != nil || cfg.Compress != transportstest.Compressing() {
		t.Fatalf("GET /api/config: %s, want compress %v", body, transportstest.Compressing())
	}
	_, resp, err := ts.TryDialWS(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.HasPrefix(ext, "permessage-deflate") != transportstest.Compressing() {
		t.Fatalf("Sec-WebSocket-Extensions %q in a pass that compresses: %v", ext, transportstest.Compressing())
	}
}

// TestCompressInspectorShowsTheCompressedBytes: the wire inspector shows
// what crossed the socket, compressed: a gzip poll body in hex with the
// size it decodes to, a gzip SSE stream's chunks as payload, a deflated
// WebSocket frame marked compressed; and its parts still add up to what
// /api/stats counted, framing and heartbeats included.
func TestCompressInspectorShowsTheCompressedBytes(t *testing.T) {
	transportstest.SkipOverTLS(t, "inspects bytes in the clear")
	srv := transportstest.Start(t, withCompress)
	inspect(t, srv)
	before := srv.Stats(t)
	s := srv.OpenSSE(t, http.DefaultClient, "/api/sse?since=0") // net/http offers gzip, and decodes it
	s.Hello(t)
	var read atomic.Int64
	ws, _ := dialCounting(t, srv, true, &read)
	ws.SetReadDeadline(timeAfterWait())
	ws.ReadMessage() // the hello
	data := compressible()
	srv.Publish(t, data)
	if _, m := s.NextMessage(t); string(m.Data) != data {
		t.Fatalf("SSE message of %d bytes, want %d", len(m.Data), len(data))
	}
	if _, b, err := ws.ReadMessage(); err != nil || !strings.Contains(string(b), data) {
		t.Fatalf("WebSocket message: %v", err)
	}
	_, plain := get(t, srv, "/api/poll?since=0", "")
	_, gz := get(t, srv, "/api/poll?since=0", "gzip")

	var last string
	defer func() {
		if t.Failed() {
			t.Log("last seen: " + last)
		}
	}()
	transportstest.WaitFor(t, "the inspector's parts to be the counted parts", transportstest.Wait, func() bool {
		after, in := srv.Stats(t), inspect(t, srv)
		if !partsAreCounted(in, before, after, 0, &last) {
			return false
		}
		sse, ws, polls := in.Transports["sse"][0], in.Transports["ws"][0], in.Transports["poll"]
		if sse.Encoding != "gzip" || len(sse.Chunks) == 0 || !strings.HasPrefix(sse.Chunks[0].Data, "1f8b08") {
			last = fmt.Sprintf("sse: encoding %q, chunks %+v: want gzip, the first chunk's bytes 1f 8b 08 in hex", sse.Encoding, sse.Chunks)
			return false
		}
		compressed := false
		for _, f := range ws.Frames.Out {
			compressed = compressed || f.Compressed && f.Length < int64(len(data))/4
		}
		if !compressed {
			last = fmt.Sprintf("ws frames out %+v: want one compressed, short", ws.Frames.Out)
			return false
		}
		if len(polls) != 2 || polls[1].Encoding != "gzip" || polls[1].Body == nil ||
			polls[1].Body.Bytes != int64(len(gz)) || polls[1].Body.Decoded != int64(len(plain)) {
			last = fmt.Sprintf("polls %+v: want the second gzip, %d bytes decoding to %d", polls, len(gz), len(plain))
			return false
		}
		return true
	})
}

// TestCompressOnlyWhatWasNegotiated: the server reads the offer of
// permessage-deflate as gorilla's upgrader does, or more strictly, so that
// it never sends a compressed frame on a connection whose 101 did not
// accept the extension. Each offer is sent raw; the 101's answer and the
// frame of a compressible message are read raw.
func TestCompressOnlyWhatWasNegotiated(t *testing.T) {
	transportstest.SkipOverTLS(t, "reads frames raw")
	ts := transportstest.Start(t, withCompress)
	ts.Publish(t, compressible())
	for _, c := range []struct {
		offer      string // "" offers nothing
		compressed bool
	}{
		{"", false},
		{"permessage-deflate", true},
		{"permessage-deflate; client_max_window_bits", true}, // Chrome's and Firefox's
		{"x-webkit-deflate-frame", false},
		{"foo, permessage-deflate", true},
		{"foo=bar, permessage-deflate", false}, // gorilla stops at the first thing that is not an extension
		{"permessage-deflate=1", false},
		{"PERMESSAGE-DEFLATE", false}, // gorilla compares the name exactly
	} {
		conn, err := net.Dial("tcp", ts.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(timeAfterWait())
		req := "GET /api/ws?since=0 HTTP/1.1\r\nHost: " + ts.Addr() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		if c.offer != "" {
			req += "Sec-WebSocket-Extensions: " + c.offer + "\r\n"
		}
		if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("offer %q: %v %v", c.offer, resp, err)
		}
		accepted := strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
		var rsv1 []bool
		for range 2 { // the hello, then the message
			var h [2]byte
			if _, err := io.ReadFull(r, h[:]); err != nil {
				t.Fatal(err)
			}
			n := int64(h[1] & 0x7f)
			if n == 126 {
				var l [2]byte
				io.ReadFull(r, l[:])
				n = int64(l[0])<<8 | int64(l[1])
			}
			if _, err := io.CopyN(io.Discard, r, n); err != nil {
				t.Fatal(err)
			}
			rsv1 = append(rsv1, h[0]&0x40 != 0)
		}
		conn.Close()
		if rsv1[1] != c.compressed || accepted != c.compressed || rsv1[0] {
			t.Errorf("offer %q: 101 accepted permessage-deflate %v; hello compressed %v, message compressed %v; want the message compressed %v",
				c.offer, accepted, rsv1[0], rsv1[1], c.compressed)
		}
	}
}
