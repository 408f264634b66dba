package transports_test

// The long poll (README.md, "Long polling"): held until a message exists
// or the timeout passes.

import (
	"context"
	"fmt"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLongPollWakesOnPublish(t *testing.T) {
	ts := transportstest.Start(t, nil)
	got := make(chan wire.Page, 1)
	go func() {
		a, err := ts.Page(context.Background(), "/api/longpoll?since=0&timeout=60")
		if err != nil {
			t.Error(err)
		}
		got <- a
	}()
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	ts.Post(t, "", "wake up")
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
	ts := transportstest.Start(t, func(c *transports.Config) { c.LongPollTimeout = time.Second })
	ts.Post(t, "", "one")
	for _, q := range []string{"since=1&timeout=1", "since=1"} { // named timeout, then the server's
		start := time.Now()
		a, err := ts.Page(context.Background(), "/api/longpoll?"+q)
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
	if e := ts.Stats(t).Transports["longpoll"].Empty; e != 2 {
		t.Fatalf("empty answers %d, want 2", e)
	}
}

func TestLongPollFreesItsWaiterWhenTheClientLeaves(t *testing.T) {
	ts := transportstest.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/longpoll?timeout=120", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	cancel()
	<-done
	transportstest.WaitFor(t, "the waiter to be freed", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 0
	})
}

// TestLongPollClientGoneGetsNoAnswer: when the client of a held long poll
// goes away, the server writes nothing, rather than an empty 200 that is
// not a page (and that would be counted as bytes sent).
func TestLongPollClientGoneGetsNoAnswer(t *testing.T) {
	transportstest.SkipOverTLS(t, "sends its request and hangs up")
	ts := transportstest.Start(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/longpoll?since=0&timeout=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	transportstest.WaitFor(t, "the long poll to be held", 10*time.Second, func() bool {
		return ts.Stats(t).Transports["longpoll"].Clients == 1
	})
	c.(*net.TCPConn).CloseWrite() // the client is gone, as far as the server can tell
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if len(got) > 0 {
		t.Fatalf("the server answered a client that had left: %q", got)
	}
}
