package wiremeter

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

type deadlineRecorder struct {
	net.Conn
	set []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// The socket's write deadline may come early, never late: a new deadline
// that extends the one in force by less than a tenth of its time left is
// skipped; any earlier one, a large extension, or none at all goes through.
func TestWriteDeadlinesAreCoalescedNeverExtended(t *testing.T) {
	rec := &deadlineRecorder{}
	c := &Conn{Conn: rec}
	now := time.Now()
	steps := []struct {
		t    time.Time
		sent bool
	}{
		{now.Add(10 * time.Second), true},
		{now.Add(10*time.Second + 500*time.Millisecond), false}, // +0.5 s on ~10 s left
		{now.Add(12 * time.Second), true},                       // +2 s: more than a tenth
		{now.Add(time.Second), true},                            // earlier: always
		{time.Time{}, true},                                     // no deadline: always
		{now.Add(5 * time.Second), true},                        // after none: always
	}
	for i, s := range steps {
		before := len(rec.set)
		c.SetWriteDeadline(s.t)
		if sent := len(rec.set) > before; sent != s.sent {
			t.Fatalf("step %d (%v): sent to the socket = %v, want %v", i, s.t.Sub(now), sent, s.sent)
		}
	}
}

// A request that follows a held long poll on a connection the direct
// writer took is the next request's, not the poll's: once ReadsRequests,
// a hijacked connection's reads wait for the next request's claim, where
// without it they all count for the connection's owner (a WebSocket's
// frames are). Before ReadsRequests existed, a request that came before
// the held poll's answer was out was counted for the long poll.
func TestATakenConnectionsNextRequestIsNotItsPolls(t *testing.T) {
	const next = "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	for _, tc := range []struct {
		name          string
		readsRequests bool
		want          int64 // of next's bytes counted for the poll
	}{
		{"hijacked, a WebSocket's frames", false, int64(len(next))},
		{"taken by the direct long poll", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := net.Pipe()
			defer client.Close()
			c := &Conn{Conn: server}
			var poll Counters
			r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/longpoll?since=0", nil)
			if err != nil {
				t.Fatal(err)
			}
			c.claim(&poll, r) // the poll, read whole by net/http
			ConnState(c, http.StateHijacked)
			if tc.readsRequests {
				ReadsRequests(c)
			}
			before := poll.bytesIn.Load()
			go client.Write([]byte(next))
			buf := make([]byte, len(next))
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			if got := poll.bytesIn.Load() - before; got != tc.want {
				t.Fatalf("%d bytes of the next request counted for the poll, want %d", got, tc.want)
			}
		})
	}
}
