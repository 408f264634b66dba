package transportstest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/wire"
)

// Publish publishes one JSON value with POST /api/messages and returns its
// id, failing the test unless it is 201 with an id.
func (s *Server) Publish(t testing.TB, data string) uint64 {
	t.Helper()
	code, body := s.Post(t, "application/json", data)
	var ack wire.Ack
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &ack) != nil || ack.ID == 0 {
		t.Fatalf("publish %.40q: %d %s, want 201 with an id", data, code, body)
	}
	return ack.ID
}

// PublishN publishes n small messages {"n":i} and returns the last id.
func (s *Server) PublishN(t testing.TB, n int) uint64 {
	t.Helper()
	var id uint64
	for i := range n {
		id = s.Publish(t, `{"n":`+strconv.Itoa(i)+`}`)
	}
	return id
}

// Post sends body to POST /api/messages with contentType ("" for none) and
// header name/value pairs, and returns the status and the answer.
func (s *Server) Post(t testing.TB, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Get sends GET path (such as "/api/poll?since=0") and returns the status,
// the body and the response, its body read.
func (s *Server) Get(t testing.TB, path string) (int, string, *http.Response) {
	t.Helper()
	return GetURL(t, s.URL+path)
}

// GetURL sends GET url, on any server, and returns the status, the body
// and the response, its body read.
func GetURL(t testing.TB, url string) (int, string, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b), resp
}

// PostText sends body as text/plain to POST /api/messages of the server at
// base, and returns the status.
func PostText(t testing.TB, base, body string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/messages", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Page sends GET path, a poll or a long poll, and decodes the answer.
func (s *Server) Page(ctx context.Context, path string) (wire.Page, error) {
	return wire.GetPage(ctx, http.DefaultClient, s.URL+path)
}

// Epoch asks the server for its epoch: the one of a poll answer.
func (s *Server) Epoch(t testing.TB) string {
	t.Helper()
	p, err := s.Page(context.Background(), "/api/poll")
	if err != nil || p.Epoch == "" {
		t.Fatalf("poll: %+v %v, want an answer with an epoch", p, err)
	}
	return p.Epoch
}

// Stats returns GET /api/stats.
func (s *Server) Stats(t testing.TB) transports.Snapshot {
	t.Helper()
	code, body, _ := s.Get(t, "/api/stats")
	var st transports.Snapshot
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
		t.Fatalf("stats: %d %s (%v)", code, body, err)
	}
	return st
}

// Drop calls POST /api/drop?transport=... and returns how many
// connections it cut.
func (s *Server) Drop(t testing.TB, transport string) int {
	t.Helper()
	resp, err := http.Post(s.URL+"/api/drop?transport="+transport, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Dropped int }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("drop %s: %d %v", transport, resp.StatusCode, err)
	}
	return a.Dropped
}

// PollRaw returns the exact bytes of every retained message by id, read
// with GET /api/poll?since=0 page by page.
func (s *Server) PollRaw(t testing.TB) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	cursor := uint64(0)
	for {
		p, err := s.Page(context.Background(), "/api/poll?limit=1000&"+wire.Query(cursor, ""))
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, raw := range p.Messages {
			out[DecodeMessage(t, raw).ID] = raw
		}
		if len(p.Messages) == 0 {
			return out
		}
		cursor = p.Next
	}
}

// DecodeMessage decodes a message, failing the test if b is not one.
func DecodeMessage(t testing.TB, b []byte) wire.Message {
	t.Helper()
	m, err := wire.DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// JSONError checks that resp is status with a JSON {"error": "..."} body.
func JSONError(t testing.TB, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d %q, want %d", resp.StatusCode, body, status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e wire.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("body %q, want {\"error\":\"...\"}", body)
	}
}

// Await checks cond until it holds, failing the test after Wait.
func Await(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, what, Wait, cond)
}

// WaitFor checks cond every few milliseconds until it holds, failing the
// test once d has passed.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// DialSmallReadBuffer dials TCP with a receive buffer of 4 KiB, so that a
// client that stops reading has its socket full after a few kilobytes. It
// fits http.Transport.DialContext and websocket.Dialer.NetDialContext.
func DialSmallReadBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
