package transports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// TestARefusalAtTheLimitSaysWhenToComeBack: at --max-clients, a herd of
// streams opened at once on each transport (SSE, the long poll on both its
// writers, WebSocket) is refused, and every refusal says when to come back:
// a 503's Retry-After, which its error repeats, or a close 1013's reason.
// Each wait is drawn on its own within the window, 1 s to
// transports.RetryAfterMax, so the herd does not come back in one second:
// its refusals show several distinct waits.
func TestARefusalAtTheLimitSaysWhenToComeBack(t *testing.T) {
	const limit, herd = 2, 40
	for _, tc := range []struct {
		name, writer string
		refused      func(to target) (int, error)
	}{
		{"SSE", "", refusedHTTP("/api/sse")},
		{"long poll on net/http", "nethttp", refusedHTTP("/api/longpoll?timeout=60&since=")},
		{"long poll on the direct writer", "direct", refusedHTTP("/api/longpoll?timeout=60&since=")},
		{"WebSocket", "", refusedWS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := transportstest.Start(t, func(c *transports.Config) {
				c.MaxClients = limit
				if tc.writer != "" {
					c.LongPollWriter = tc.writer
				}
			})
			fill := func() {
				for range limit {
					ts.DialWSHello(t, "")
				}
			}
			if tc.writer != "direct" || transportstest.OverTLS() {
				fill()
			} else {
				// A poll refused on a connection the direct writer took
				// already, whose polls net/http no longer reads.
				conn, taken := heldThenAnswered(t, ts)
				defer conn.Close()
				fill()
				fmt.Fprintf(conn, "GET /api/longpoll?since=%d&timeout=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ts.Stats(t).Feed.LastID)
				resp, err := http.ReadResponse(taken, nil)
				if err == nil {
					_, err = retryAfterOf(resp)
				}
				if err != nil {
					t.Fatalf("a poll on a connection the direct writer took: %v", err)
				}
			}
			// Each test its own client: net/http may dial connections in a
			// herd that it then leaves unused, and a shutdown waits 5 s for
			// those (net/http's rule for connections that sent nothing).
			tr := http.DefaultTransport.(*http.Transport).Clone()
			t.Cleanup(tr.CloseIdleConnections)
			to := target{ts, &http.Client{Transport: tr}, ts.Stats(t).Feed.LastID}

			waits := make([]int, herd)
			errs := make([]error, herd)
			var wg sync.WaitGroup
			for i := range herd {
				wg.Go(func() { waits[i], errs[i] = tc.refused(to) })
			}
			wg.Wait()
			var wrong []error
			for _, err := range errs {
				if err != nil {
					wrong = append(wrong, err)
				}
			}
			if len(wrong) > 0 {
				t.Fatalf("%d of %d refusals at once are wrong; the first: %v", len(wrong), herd, wrong[0])
			}
			for _, w := range waits {
				if w < 1 || w > transports.RetryAfterMax {
					t.Fatalf("a refusal asks for %d s, want 1 to %d s; all: %v", w, transports.RetryAfterMax, waits)
				}
			}
			slices.Sort(waits)
			if distinct := len(slices.Compact(slices.Clone(waits))); distinct < 3 {
				t.Fatalf("%d refusals at once ask for %d distinct waits, want at least 3: %v", herd, distinct, waits)
			}
			if n := ts.Stats(t).Transports["ws"].Clients; n != limit {
				t.Fatalf("%d WebSocket clients after the refusals, want the %d that hold the limit", n, limit)
			}
		})
	}
}

// target is where a refused client goes: the server, a client of its
// own, and the feed's last id (a long poll after it is held, or refused).
type target struct {
	ts     *transportstest.Server
	client *http.Client
	last   uint64
}

// refusedHTTP opens path (ending in "since=", the feed's last id is added),
// which the server must refuse at its limit, and returns the wait the
// refusal asks for.
func refusedHTTP(path string) func(to target) (int, error) {
	return func(to target) (int, error) {
		path := path
		if strings.HasSuffix(path, "since=") {
			path += strconv.FormatUint(to.last, 10)
		}
		ctx, cancel := context.WithTimeout(context.Background(), transportstest.Wait)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, to.ts.URL+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := to.client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		secs, err := retryAfterOf(resp)
		if err != nil {
			return 0, fmt.Errorf("GET %s: %v", path, err)
		}
		return secs, nil
	}
}

// retryAfterOf checks that resp is a refusal at the limit, 503 with
// Retry-After in whole seconds and an error that says the same wait, and
// returns the wait.
func retryAfterOf(resp *http.Response) (int, error) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	body := bytes.TrimSpace(b)
	if resp.StatusCode != http.StatusServiceUnavailable {
		return 0, fmt.Errorf("status %d %s, want 503", resp.StatusCode, body)
	}
	h := resp.Header.Get("Retry-After")
	secs, err := strconv.Atoi(h)
	if err != nil {
		return 0, fmt.Errorf("503 %s with Retry-After %q, want whole seconds", body, h)
	}
	var e wire.Error
	if err := json.Unmarshal(body, &e); err != nil {
		return 0, fmt.Errorf("503 body %q: %v", body, err)
	}
	if said, ok := wire.RetryIn(e.Error); !ok || said != secs {
		return 0, fmt.Errorf("503 with Retry-After %d says %q, want the same wait in its words", secs, e.Error)
	}
	return secs, nil
}

// refusedWS opens a WebSocket, which the server must close with 1013 at
// its limit, and returns the wait the close's reason asks for.
func refusedWS(to target) (int, error) {
	conn, _, err := transportstest.WSDialer.Dial(to.ts.WS()+"/api/ws", nil)
	if err != nil {
		return 0, fmt.Errorf("dial: %v", err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(transportstest.Wait))
	_, b, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater {
		return 0, fmt.Errorf("read %q, %v; want close 1013", b, err)
	}
	secs, ok := wire.RetryIn(ce.Text)
	if !ok {
		return 0, fmt.Errorf("close 1013 with the reason %q, which names no wait", ce.Text)
	}
	return secs, nil
}
