package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStatsCountBytesOnTheSocket sends a poll as raw bytes and reads the raw
// answer: the poll transport's counters must grow by exactly those bytes,
// headers included, and nothing else may be charged to it.
func TestStatsCountBytesOnTheSocket(t *testing.T) {
	ts := startServer(t)
	postMessage(t, ts.URL, "", "hi")
	before := getStats(t, ts.URL).Transports

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
	waitFor(t, "the poll's bytes to be counted", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["poll"].BytesOut-before["poll"].BytesOut == int64(got.Len())
	})
	after := getStats(t, ts.URL).Transports
	if d := after["poll"].BytesIn - before["poll"].BytesIn; d != int64(len(req)) {
		t.Errorf("poll bytes_in grew by %d, want %d (the request as sent)", d, len(req))
	}
	if d := after["poll"].BytesOut - before["poll"].BytesOut; d != int64(got.Len()) {
		t.Errorf("poll bytes_out grew by %d, want %d (the answer as received)", d, got.Len())
	}
	for _, tr := range []string{"longpoll", "sse", "ws"} {
		if after[tr] != before[tr] {
			t.Errorf("%s counters changed by a poll: %+v -> %+v", tr, before[tr], after[tr])
		}
	}
}

// TestStatsCountWebSocketHandshakeAndFrames checks the WebSocket counters
// against what the client's socket saw, handshake included.
func TestStatsCountWebSocketHandshakeAndFrames(t *testing.T) {
	ts := startServer(t)
	var out countingDialer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := out.dialWS(ctx, ts.WS()+"/api/ws?since=0")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.ReadMessage() // hello
	postMessage(t, ts.URL, "", "x")
	conn.ReadMessage()
	conn.Close()
	waitFor(t, "the WebSocket to be gone", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["ws"].Clients == 0
	})
	s := getStats(t, ts.URL).Transports["ws"]
	if s.BytesOut != out.read.Load() || s.BytesIn != out.written.Load() {
		t.Fatalf("server counted in %d out %d; client socket wrote %d read %d",
			s.BytesIn, s.BytesOut, out.written.Load(), out.read.Load())
	}
}

func TestMetricsExposeTheStats(t *testing.T) {
	ts := startServer(t)
	postMessage(t, ts.URL, "", "x")
	getRaw(t, ts.URL+"/api/poll?since=0")
	_, body, _ := getRaw(t, ts.URL+"/metrics")
	for _, want := range []string{
		`fourway_requests_total{transport="poll"} 1`,
		`fourway_messages_delivered_total{transport="poll"} 1`,
		`fourway_feed_last_id 1`,
		`fourway_bytes_total{direction="out",transport="poll"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
