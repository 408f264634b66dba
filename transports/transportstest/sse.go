package transportstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"fourway/transports/wire"
)

// SSEStream is an open SSE response, read by a goroutine into events.
type SSEStream struct {
	Resp   *http.Response
	events chan wire.Event
	done   chan struct{} // closed when the reader goroutine ends
	err    error         // why the stream ended, valid after done
	cancel context.CancelFunc
}

// GetSSE sends GET path with client (nil: http.DefaultClient) and header
// name/value pairs, and returns the response, its body not yet read. The
// request ends when the test ends.
func (s *Server) GetSSE(t testing.TB, client *http.Client, path string, header ...string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := client.Do(req)
		got <- answer{resp, err}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			cancel()
			t.Fatalf("GET %s: %v", path, a.err)
		}
		t.Cleanup(func() { cancel(); a.resp.Body.Close() })
		return a.resp, cancel
	case <-time.After(Wait):
		cancel()
		t.Fatalf("GET %s: no response headers in %v", path, Wait)
	}
	return nil, nil
}

// OpenSSE opens an SSE stream at path and checks that it is one.
func (s *Server) OpenSSE(t testing.TB, client *http.Client, path string, header ...string) *SSEStream {
	t.Helper()
	resp, cancel := s.GetSSE(t, client, path, header...)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s: status %d %s, want a 200 event stream", path, resp.StatusCode, b)
	}
	st := &SSEStream{Resp: resp, events: make(chan wire.Event, 64), done: make(chan struct{}), cancel: cancel}
	go st.read()
	return st
}

// read parses the body into events until it ends.
func (s *SSEStream) read() {
	defer close(s.done)
	r := wire.NewSSEReader(s.Resp.Body)
	for {
		ev, err := r.Next()
		if err != nil {
			s.err = err
			return
		}
		select {
		case s.events <- ev.Clone():
		case <-s.Resp.Request.Context().Done():
			s.err = context.Canceled
			return
		}
	}
}

// TryNext returns the next event, comments included, or the error that
// ended the stream, or a timeout after Wait. It does not fail the test, so
// any goroutine may call it.
func (s *SSEStream) TryNext() (wire.Event, error) {
	select {
	case ev := <-s.events:
		return ev, nil
	case <-s.done:
		select {
		case ev := <-s.events:
			return ev, nil
		default:
		}
		return wire.Event{}, fmt.Errorf("the SSE stream ended: %w", s.err)
	case <-time.After(Wait):
		return wire.Event{}, fmt.Errorf("no SSE event within %v", Wait)
	}
}

// Next returns the next event, comments included, or fails the test if
// none arrives within Wait.
func (s *SSEStream) Next(t testing.TB) wire.Event {
	t.Helper()
	ev, err := s.TryNext()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// NextEvent is Next skipping comments (the keepalive pings).
func (s *SSEStream) NextEvent(t testing.TB) wire.Event {
	t.Helper()
	for {
		if ev := s.Next(t); !ev.IsComment() {
			return ev
		}
	}
}

// NextMessage returns the next message event (unnamed), failing on any
// other named event; comments are skipped.
func (s *SSEStream) NextMessage(t testing.TB) (wire.Event, wire.Message) {
	t.Helper()
	ev := s.NextEvent(t)
	if ev.Event != "" {
		t.Fatalf("got event %q (%q), want a message", ev.Event, ev.Raw)
	}
	return ev, DecodeMessage(t, ev.Data)
}

// Hello reads the first event, which must be the hello.
func (s *SSEStream) Hello(t testing.TB) wire.SSEHello {
	t.Helper()
	h, err := wire.DecodeSSEHello(s.NextEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Ended waits for the stream to end and returns why (io.EOF for a clean
// end), failing the test if it is still open after Wait. Events not read
// yet are returned too.
func (s *SSEStream) Ended(t testing.TB) ([]wire.Event, error) {
	t.Helper()
	var rest []wire.Event
	deadline := time.After(Wait)
	for {
		select {
		case ev := <-s.events:
			rest = append(rest, ev)
		case <-s.done:
			for {
				select {
				case ev := <-s.events:
					rest = append(rest, ev)
				default:
					return rest, s.err
				}
			}
		case <-deadline:
			t.Fatalf("SSE stream still open after %v", Wait)
		}
	}
}

// Close hangs up, as a browser tab that is closed does.
func (s *SSEStream) Close() {
	s.cancel()
	s.Resp.Body.Close()
	<-s.done
}
