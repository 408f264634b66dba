package load

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"fourway/bench/record"
)

// killingServer is a server that acknowledges every message but one, and
// is killed (-storm restart) just after it acknowledged message killAfter:
// the message after that one is refused, as while it was down, and the
// rest are the new server's. One publisher worker calls it at a time.
type killingServer struct {
	fourway
	killAfter int64
	killed    int64 // Mono of the kill
}

func (k *killingServer) publish(_ context.Context, _ *http.Client, _ string, data []byte) error {
	seq, _, ok := parseStamp(data)
	if !ok {
		return errors.New("no stamp")
	}
	switch seq {
	case k.killAfter:
		k.killed = monoAfter(Mono()) // after the POST began
		monoAfter(k.killed)          // and before the next one begins
	case k.killAfter + 1:
		return errors.New("connection refused")
	}
	return nil
}

// monoAfter waits until the clock has moved past t, and returns it.
func monoAfter(t int64) int64 {
	for {
		if now := Mono(); now > t {
			return now
		}
	}
}

// TestMessagesKilledWithTheServerAreNotLost: under -storm restart the
// server may be killed an instant after it acknowledged a message, its
// sending to the subscribers under way: those it had not reached yet can
// get it from no server, the in-memory feed died with it. Such a message
// missing is counted apart (LostWithServer), not as lost; a message the
// new server acknowledged and a subscriber missed is lost, as on any row
// (its history keeps it for whoever resumes after the reset); and
// without a kill every missing message is lost.
func TestMessagesKilledWithTheServerAreNotLost(t *testing.T) {
	t.Parallel()
	srv := &killingServer{killAfter: 2}
	pub := &publisher{d: srv, rate: 1000, workers: 1, prog: &Progress{}}
	start := time.Now()
	pub.run(context.Background(), start, start.Add(6*time.Millisecond)) // seqs 0 to 5
	if want := []bool{true, true, true, false, true, true}; !slices.Equal(pub.ok, want) {
		t.Fatalf("acknowledged %v, want %v", pub.ok, want)
	}
	all, some := testSub("", time.Second), testSub("", time.Second)
	for _, seq := range []int64{0, 1, 2, 4, 5} {
		all.got(stampData(seq, 0, 0))
	}
	for _, seq := range []int64{0, 1, 5} { // missing 2, the killed server's, and 4, the new one's
		some.got(stampData(seq, 0, 0))
	}

	var r record.Result
	collect(&r, []*sub{all, some}, pub, NewHistSet(1), srv.killed)
	if r.Expected != 10 || r.Delivered != 8 || r.LostWithServer != 1 || r.Lost != 1 {
		t.Errorf("killed: expected %d, delivered %d, lost with the server %d, lost %d; want 10, 8, 1, 1", r.Expected, r.Delivered, r.LostWithServer, r.Lost)
	}
	notes := strings.Join(r.Notes, "\n")
	if !strings.Contains(notes, "1 deliveries of 1 message(s) the server acknowledged just before it was killed") || !strings.Contains(notes, "DELIVERY CHECK FAILED: 1 lost") {
		t.Errorf("killed: the notes say neither what died with the server nor what was lost:\n%s", notes)
	}

	r = record.Result{}
	collect(&r, []*sub{all, some}, pub, NewHistSet(1), 0)
	if r.LostWithServer != 0 || r.Lost != 2 {
		t.Errorf("not killed: lost with the server %d, lost %d; want 0, 2", r.LostWithServer, r.Lost)
	}
}
