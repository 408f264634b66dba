package wiremeter

import (
	"net"
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
