package transports_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// h2Client speaks HTTP/2 frame by frame on one connection, and keeps the
// size of every frame it wrote and read, per stream (0: the connection's
// own, the preface included): what /api/stats must have counted.
type h2Client struct {
	t     *testing.T
	conn  net.Conn
	w     *sizeWriter
	fr    *http2.Framer
	enc   *hpack.Encoder
	block bytes.Buffer
	sent  map[uint32]int64
	read  map[uint32]int64
	data  map[uint32]*bytes.Buffer
	ended map[uint32]bool
}

// sizeWriter remembers how much the last Write took (the framer writes a
// frame with one Write).
type sizeWriter struct {
	io.Writer
	last int
}

func (w *sizeWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.last = n
	return n, err
}

func dialH2(t *testing.T, srv *transportstest.Server) *h2Client {
	t.Helper()
	var conn net.Conn
	var err error
	if srv.Config.TLS != nil {
		cfg := transportstest.ClientTLS()
		cfg.NextProtos = []string{"h2"}
		var tc *tls.Conn
		tc, err = tls.Dial("tcp", srv.Addr(), cfg)
		if err == nil && tc.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatalf("ALPN chose %q, want h2", tc.ConnectionState().NegotiatedProtocol)
		}
		conn = tc
	} else {
		conn, err = net.Dial("tcp", srv.Addr())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &h2Client{t: t, conn: conn, w: &sizeWriter{Writer: conn},
		sent: map[uint32]int64{}, read: map[uint32]int64{}, data: map[uint32]*bytes.Buffer{}, ended: map[uint32]bool{}}
	c.fr = http2.NewFramer(c.w, conn)
	c.enc = hpack.NewEncoder(&c.block)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c.sent[0] += int64(len(http2.ClientPreface))
	c.write(0, c.fr.WriteSettings())
	return c
}

func (c *h2Client) write(stream uint32, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("writing a frame on stream %d: %v", stream, err)
	}
	c.sent[stream] += int64(c.w.last)
}

// get opens stream id with GET path.
func (c *h2Client) get(id uint32, path string) {
	c.t.Helper()
	c.block.Reset()
	scheme := "http"
	if _, ok := c.conn.(*tls.Conn); ok {
		scheme = "https"
	}
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", scheme}, {":authority", c.conn.RemoteAddr().String()}, {":path", path}, {"accept", "*/*"}} {
		_ = c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	c.write(id, c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block.Bytes(), EndStream: true, EndHeaders: true}))
}

// until reads frames, answering SETTINGS and PING as a client must, until
// done says so, within transportstest.Wait.
func (c *h2Client) until(what string, done func() bool) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
	for !done() {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		h := f.Header()
		c.read[h.StreamID] += int64(9 + h.Length)
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.write(0, c.fr.WriteSettingsAck())
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(0, c.fr.WritePing(true, f.Data))
			}
		case *http2.DataFrame:
			if c.data[h.StreamID] == nil {
				c.data[h.StreamID] = &bytes.Buffer{}
			}
			c.data[h.StreamID].Write(f.Data())
			c.ended[h.StreamID] = c.ended[h.StreamID] || f.StreamEnded()
		case *http2.HeadersFrame:
			c.ended[h.StreamID] = c.ended[h.StreamID] || f.StreamEnded()
		}
	}
}

func (c *h2Client) holds(stream uint32, s string) bool {
	return c.data[stream] != nil && strings.Contains(c.data[stream].String(), s)
}

// TestHTTP2BytesAreCountedPerStream: a poll and an SSE stream share one
// HTTP/2 connection, and /api/stats gives each transport exactly the
// frames of its streams, as the client wrote and read them, and the
// connection's own frames apart; over TLS, what TLS added is the rest of
// the socket's bytes.
func TestHTTP2BytesAreCountedPerStream(t *testing.T) {
	for _, proto := range []string{"h2c", "h2 over TLS"} {
		t.Run(proto, func(t *testing.T) {
			srv := transportstest.Start(t, func(c *transports.Config) {
				c.TLS, c.H2C = nil, proto == "h2c"
				if proto != "h2c" {
					cfg, _, err := transports.SelfSignedTLS()
					if err != nil {
						t.Fatal(err)
					}
					c.TLS = cfg
				}
			})
			// The test's own requests (stats, publish) go over HTTP/1.1,
			// so this connection is the server's only HTTP/2 one.
			h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: transportstest.ClientTLS(),
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
			stats := func() transports.Snapshot {
				resp, err := h1.Get(srv.URL + "/api/stats")
				if err != nil || resp.ProtoMajor != 1 {
					t.Fatalf("stats over HTTP/1.1: %v %v", resp, err)
				}
				defer resp.Body.Close()
				var st transports.Snapshot
				if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
					t.Fatalf("stats: %v", err)
				}
				return st
			}
			before := stats()
			if before.HTTP2 != nil {
				t.Fatalf("HTTP/2 bytes before any HTTP/2 connection: %+v", before.HTTP2)
			}

			c := dialH2(t, srv)
			c.get(1, "/api/poll?since=0")
			c.until("the poll's answer", func() bool { return c.ended[1] })
			c.get(3, "/api/sse?since=0")
			c.until("the SSE hello", func() bool { return c.holds(3, "event: hello") })
			resp, err := h1.Post(srv.URL+"/api/messages", "application/json", strings.NewReader(`"per stream"`))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("publish: %v %v", resp, err)
			}
			resp.Body.Close()
			c.until("the message on the SSE stream", func() bool { return c.holds(3, `"data":"per stream"`) })

			// The server counts a frame once it has passed whole, and a
			// client may read it a moment sooner: wait for the counts to
			// agree with the client's, and say how they differ if never.
			var frames [2]int64 // everything the client wrote and read on the connection
			for _, n := range c.sent {
				frames[0] += n
			}
			for _, n := range c.read {
				frames[1] += n
			}
			mismatch := func(now transports.Snapshot) []string {
				var bad []string
				for _, x := range []struct {
					transport string
					stream    uint32
				}{{"poll", 1}, {"sse", 3}} {
					got, was := now.Transports[x.transport], before.Transports[x.transport]
					if in, out := got.BytesIn-was.BytesIn, got.BytesOut-was.BytesOut; in != c.sent[x.stream] || out != c.read[x.stream] {
						bad = append(bad, fmt.Sprintf("%s: %d bytes in, %d out counted; the client's frames on stream %d: %d sent, %d read", x.transport, in, out, x.stream, c.sent[x.stream], c.read[x.stream]))
					}
					if f := got.HTTP2; f == nil || f.FramesIn != 1 || f.HeadersIn != c.sent[x.stream]-9 || f.HeadersOut == 0 || f.FramesOut < 2 {
						bad = append(bad, fmt.Sprintf("%s: frames %+v, want one HEADERS frame in (a %d-byte block), and HEADERS and DATA out", x.transport, f, c.sent[x.stream]-9))
					}
				}
				h2 := now.HTTP2
				if h2 == nil {
					return append(bad, "no http2 in the stats")
				}
				if h2.ConnectionIn != c.sent[0] || h2.ConnectionOut != c.read[0] {
					bad = append(bad, fmt.Sprintf("the connection's own frames: %d in, %d out counted; the client sent %d (preface, SETTINGS, acks), read %d", h2.ConnectionIn, h2.ConnectionOut, c.sent[0], c.read[0]))
				}
				switch {
				case proto == "h2c" && (h2.BytesIn != frames[0] || h2.BytesOut != frames[1] || h2.TLSIn != 0 || h2.TLSOut != 0):
					bad = append(bad, fmt.Sprintf("cleartext: the socket %d in, %d out, TLS %d/%d; want the frames' %d and %d, and no TLS", h2.BytesIn, h2.BytesOut, h2.TLSIn, h2.TLSOut, frames[0], frames[1]))
				case proto != "h2c" && (h2.BytesIn != frames[0]+h2.TLSIn || h2.BytesOut != frames[1]+h2.TLSOut || h2.TLSIn == 0 || h2.TLSOut == 0):
					bad = append(bad, fmt.Sprintf("over TLS: the socket %d in, %d out; want the frames' %d and %d plus what TLS added (%d, %d), which is not 0", h2.BytesIn, h2.BytesOut, frames[0], frames[1], h2.TLSIn, h2.TLSOut))
				}
				return bad
			}
			deadline := time.Now().Add(transportstest.Wait)
			for bad := mismatch(stats()); len(bad) > 0; bad = mismatch(stats()) {
				if time.Now().After(deadline) {
					t.Fatalf("after %v:\n%s", transportstest.Wait, strings.Join(bad, "\n"))
				}
				time.Sleep(10 * time.Millisecond) // a poll of the counters, bounded by the deadline
			}
			resp, err = h1.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`fourway_http2_bytes_total{direction="in",part="connection"} `, `fourway_http2_bytes_total{direction="out",part="socket"} `} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics has no %q", want)
				}
			}
		})
	}
}
