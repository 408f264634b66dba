package transports_test

// The figures (CONTRACT.md, "Stats, health, metrics"): bytes counted on the
// server's sockets, each charged to its own transport.

import (
	"bufio"
	"context"
	"fourway/transports/transportstest"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestStatsCountBytesOnTheSocket sends a poll as raw bytes and reads the raw
// answer: the poll transport's counters must grow by exactly those bytes,
// headers included, and nothing else may be charged to it.
func TestStatsCountBytesOnTheSocket(t *testing.T) {
	transportstest.SkipOverTLS(t, "counts HTTP/1.1 bytes")
	ts := transportstest.Start(t, nil)
	ts.Post(t, "", "hi")
	before := ts.Stats(t).Transports

	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /api/poll?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got strings.Builder
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &got)), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	// The same connection then asks for the stats: that request is not a poll.
	transportstest.WaitFor(t, "the poll's bytes to be counted", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["poll"].BytesOut-before["poll"].BytesOut == int64(got.Len())
	})
	after := ts.Stats(t).Transports
	if d := after["poll"].BytesIn - before["poll"].BytesIn; d != int64(len(req)) {
		t.Errorf("poll bytes_in grew by %d, want %d (the request as sent)", d, len(req))
	}
	if d := after["poll"].BytesOut - before["poll"].BytesOut; d != int64(got.Len()) {
		t.Errorf("poll bytes_out grew by %d, want %d (the answer as received)", d, got.Len())
	}
	head := strings.Index(got.String(), "\r\n\r\n") + 4
	if in, out := after["poll"].HeadsIn-before["poll"].HeadsIn, after["poll"].HeadsOut-before["poll"].HeadsOut; in != int64(len(req)) || out != int64(head) {
		t.Errorf("poll heads grew by %d in and %d out, want %d (the request, all head) and %d (the answer's status line and headers)", in, out, len(req), head)
	}
	for _, tr := range []string{"longpoll", "sse", "ws"} {
		if after[tr] != before[tr] {
			t.Errorf("%s counters changed by a poll: %+v -> %+v", tr, before[tr], after[tr])
		}
	}
}

func TestPipelinedBytesBelongToTheirOwnRequest(t *testing.T) {
	transportstest.SkipOverTLS(t, "pipelines requests")
	ts := transportstest.Start(t, nil)
	before := ts.Stats(t).Transports
	poll := "GET /api/poll HTTP/1.1\r\nHost: " + ts.Addr() + "\r\n\r\n"
	publish := "POST /api/messages HTTP/1.1\r\nHost: " + ts.Addr() + "\r\nContent-Length: 2\r\n\r\nhi"
	c := rawDial(t, ts)
	c.send(t, poll+publish) // one write: the server reads both at once
	c.response(t)
	if resp, _ := c.response(t); resp.StatusCode != 201 {
		t.Fatalf("pipelined publish: %d", resp.StatusCode)
	}
	if d := ts.Stats(t).Transports["poll"].BytesIn - before["poll"].BytesIn; d != int64(len(poll)) {
		t.Fatalf("poll bytes_in grew by %d, want %d: the poll's own request", d, len(poll))
	}
}

// TestStatsCountWebSocketHandshakeAndFrames checks the WebSocket counters
// against what the client's socket saw, handshake included.
func TestStatsCountWebSocketHandshakeAndFrames(t *testing.T) {
	transportstest.SkipOverTLS(t, "counts cleartext bytes")
	ts := transportstest.Start(t, nil)
	var out countingDialer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := out.dialWS(ctx, ts.WS()+"/api/ws?since=0")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.ReadMessage() // hello
	ts.Post(t, "", "x")
	conn.ReadMessage()
	conn.Close()
	transportstest.WaitFor(t, "the WebSocket to be gone", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["ws"].Clients == 0
	})
	s := ts.Stats(t).Transports["ws"]
	if s.BytesOut != out.read.Load() || s.BytesIn != out.written.Load() {
		t.Fatalf("server counted in %d out %d; client socket wrote %d read %d",
			s.BytesIn, s.BytesOut, out.written.Load(), out.read.Load())
	}
}

func TestMetricsExposeTheStats(t *testing.T) {
	ts := transportstest.Start(t, nil)
	ts.Post(t, "", "x")
	ts.Get(t, "/api/poll?since=0")
	_, body, _ := ts.Get(t, "/metrics")
	for _, want := range []string{
		`fourway_requests_total{transport="poll"} 1`,
		`fourway_messages_delivered_total{transport="poll"} 1`,
		`fourway_feed_last_id 1`,
		`fourway_bytes_total{direction="out",transport="poll"}`,
		`fourway_part_bytes_total{direction="out",part="heads",transport="poll"}`,
		`fourway_part_bytes_total{direction="out",part="framing",transport="ws"} 0`,
		`fourway_part_bytes_total{direction="in",part="heartbeats",transport="sse"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// countingDialer dials connections that count the bytes the client's
// socket reads and writes.
type countingDialer struct {
	read, written atomic.Int64
}

type countedConn struct {
	net.Conn
	d *countingDialer
}

func (c countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.written.Add(int64(n))
	return n, err
}

func (d *countingDialer) dialWS(ctx context.Context, url string) (*websocket.Conn, error) {
	wd := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countedConn{c, d}, nil
	}}
	conn, _, err := wd.DialContext(ctx, url, nil)
	return conn, err
}
