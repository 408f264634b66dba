package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLongPollWakesOnPublish(t *testing.T) {
	ts := startServer(t)
	got := make(chan pollAnswer, 1)
	go func() {
		a, err := getPage(context.Background(), ts.URL+"/api/longpoll?since=0&timeout=60")
		if err != nil {
			t.Error(err)
		}
		got <- a
	}()
	waitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["longpoll"].Clients == 1
	})
	postMessage(t, ts.URL, "", "wake up")
	select {
	case a := <-got:
		if len(a.Messages) != 1 || a.Next != 1 || a.Epoch == "" || a.More {
			t.Fatalf("answer %+v, want message 1 with the epoch, and no more", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll was not answered after a publish")
	}
}

func TestLongPollTimesOutWithAnEmptyAnswer(t *testing.T) {
	ts := startServer(t, "--longpoll-timeout", "1s")
	postMessage(t, ts.URL, "", "one")
	for _, q := range []string{"since=1&timeout=1", "since=1"} { // named timeout, then the server's
		start := time.Now()
		a, err := getPage(context.Background(), ts.URL+"/api/longpoll?"+q)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Messages) != 0 || a.Next != 1 {
			t.Fatalf("%s: answer %+v, want empty with next 1", q, a)
		}
		if time.Since(start) < time.Second {
			t.Fatalf("%s: answered after %v, before the 1 s hold", q, time.Since(start))
		}
	}
	if e := getStats(t, ts.URL).Transports["longpoll"].Empty; e != 2 {
		t.Fatalf("empty answers %d, want 2", e)
	}
}

func TestLongPollFreesItsWaiterWhenTheClientLeaves(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/longpoll?timeout=120", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["longpoll"].Clients == 1
	})
	cancel()
	<-done
	waitFor(t, "the waiter to be freed", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["longpoll"].Clients == 0
	})
}

// TestLongPollClientGoneGetsNoAnswer: when the client of a held long poll
// goes away, the server writes nothing, rather than an empty 200 that is
// not a page (and that would be counted as bytes sent).
func TestLongPollClientGoneGetsNoAnswer(t *testing.T) {
	ts := startServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/longpoll?since=0&timeout=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	waitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return getStats(t, ts.URL).Transports["longpoll"].Clients == 1
	})
	c.(*net.TCPConn).CloseWrite() // the client is gone, as far as the server can tell
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if len(got) > 0 {
		t.Fatalf("the server answered a client that had left: %q", got)
	}
}
