package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a fourway server started through run, as main starts it,
// on a free loopback port.
type testServer struct {
	URL  string // http://127.0.0.1:PORT
	logs *syncBuffer

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startServer runs the server with args (the ticker off unless args set it)
// and waits until /healthz answers. The server stops when the test ends.
func startServer(t testing.TB, args ...string) *testServer {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with environment variables for run.
func startServerEnv(t testing.TB, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	ts := &testServer{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	all := append([]string{"--addr", "127.0.0.1:0", "--ticker", "0"}, args...)
	go func() {
		err := run(ctx, all, func(k string) string { return env[k] }, pw)
		pw.Close()
		ts.done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			ts.logs.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil && strings.Contains(line, "listening") {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("server exited before listening: %v\n%s", <-ts.done, ts.logs.String())
		}
		ts.URL = u
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start in 20 s:\n%s", ts.logs.String())
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	})
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	return ts
}

// Stop shuts the server down gracefully and returns run's error.
func (ts *testServer) Stop() error {
	ts.once.Do(func() {
		ts.cancel()
		select {
		case ts.err = <-ts.done:
		case <-time.After(30 * time.Second):
			ts.err = context.DeadlineExceeded
		}
	})
	return ts.err
}

// WS is the server's WebSocket base URL.
func (ts *testServer) WS() string { return "ws" + strings.TrimPrefix(ts.URL, "http") }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHealthz(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	// FOURWAY_HISTORY sets --history; a flag on the command line wins.
	ts := startServerEnv(t, map[string]string{"FOURWAY_HISTORY": "3", "FOURWAY_MAX_MESSAGE": "10"}, "--max-message", "20")
	publishN(t, ts.URL, 5)
	var a pollAnswer
	_, body, _ := getRaw(t, ts.URL+"/api/poll?since=0")
	if err := json.Unmarshal([]byte(body), &a); err != nil || len(a.Messages) != 3 || a.Missed != 2 {
		t.Fatalf("history from FOURWAY_HISTORY=3: got %s, want 3 messages and 2 missed", body)
	}
	if code, _ := postMessage(t, ts.URL, "", strings.Repeat("a", 15)); code != 201 {
		t.Fatalf("--max-message 20 should beat FOURWAY_MAX_MESSAGE=10: publish of 17 bytes got %d", code)
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad env value names the variable", nil, map[string]string{"FOURWAY_HEARTBEAT": "soon"}, "FOURWAY_HEARTBEAT"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"stray argument", []string{"serve"}, nil, "unexpected argument"},
		{"history below 1", []string{"--history", "0"}, nil, "--history"},
		{"any origin", []string{"--allowed-origins", "http://a.example,*"}, nil, "--allowed-origins"},
		{"history above a million", []string{"--history", "1000001"}, nil, "--history"},
		{"no room for a message", []string{"--max-message", "0"}, nil, "--max-message"},
		{"message above 16 MiB", []string{"--max-message", "16777217"}, nil, "--max-message"},
		{"send buffer below 4 KiB", []string{"--send-buffer", "1024"}, nil, "--send-buffer"},
		{"send timeout not under the write timeout", []string{"--send-timeout", "10s", "--write-timeout", "10s"}, nil, "--send-timeout"},
		{"send timeout from the environment not under the write timeout", nil, map[string]string{"FOURWAY_SEND_TIMEOUT": "3s", "FOURWAY_WRITE_TIMEOUT": "2s"}, "--send-timeout"},
		{"zero heartbeat", []string{"--heartbeat", "0"}, nil, "--heartbeat"},
		{"a heartbeat of a million hours", []string{"--heartbeat", "1000000h"}, nil, "--heartbeat"},
		{"a publish rate under one an hour", []string{"--publish-rate", "1e-20"}, nil, "--publish-rate"},
		{"a negative publish rate", []string{"--publish-rate", "-1"}, nil, "--publish-rate"},
		{"a ticker under 10 ms", []string{"--ticker", "1ms"}, nil, "--ticker"},
		{"a long poll held past 120 s", []string{"--longpoll-timeout", "121s"}, nil, "--longpoll-timeout"},
		{"no time to read a body", []string{"--read-timeout", "0"}, nil, "--read-timeout"},
		{"address in use or bad", []string{"--addr", "256.0.0.1:1"}, nil, "listen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, c.args, func(k string) string { return c.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}
