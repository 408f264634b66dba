package transports

import (
	"sync/atomic"
	"testing"
	"time"
)

type countingSubscriber struct{ wakes atomic.Int64 }

func (c *countingSubscriber) wake()                          { c.wakes.Add(1) }
func (c *countingSubscriber) blockedFor(int64) time.Duration { return 0 }
func (c *countingSubscriber) dropSlow()                      {}

// The dispatchers start at the first subscriber; a publish that comes
// before their goroutines first run must still wake it. They once read
// the feed's last id only once running, and slept through that publish:
// a first WebSocket then missed the message published right after its
// hello (TestWSCursor failed so in CI).
func TestFirstSubscriberIsWokenByThePublishRightAfterIt(t *testing.T) {
	for range 20 {
		s := newServer(t, 10, nil)
		sub := &countingSubscriber{}
		s.addSubscriber(sub)
		if _, err := s.publish([]byte(`"right after"`)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for sub.wakes.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the publish right after the first subscriber woke nobody")
			}
			time.Sleep(time.Millisecond)
		}
		close(s.shutdown) // stops the dispatchers
	}
}
