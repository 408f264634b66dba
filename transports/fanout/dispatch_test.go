package fanout

import (
	"sync/atomic"
	"testing"
	"time"

	"fourway/feed"
)

type countingSubscriber struct{ wakes atomic.Int64 }

func (c *countingSubscriber) Wake()                          { c.wakes.Add(1) }
func (c *countingSubscriber) BlockedFor(int64) time.Duration { return 0 }
func (c *countingSubscriber) DropSlow()                      {}

// The dispatchers start at the first subscriber; a publish that comes
// before their goroutines first run must still wake it. They once read
// the feed's last id only once running, and slept through that publish:
// a first WebSocket then missed the message published right after its
// hello (TestWSCursor failed so in CI).
func TestFirstSubscriberIsWokenByThePublishRightAfterIt(t *testing.T) {
	for range 20 {
		f := feed.NewMemory(10)
		shutdown := make(chan struct{})
		d := NewDispatcher(f, time.Second, shutdown)
		sub := &countingSubscriber{}
		d.Add(sub)
		if _, err := f.Publish([]byte(`"right after"`)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for sub.wakes.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the publish right after the first subscriber woke nobody")
			}
			time.Sleep(time.Millisecond)
		}
		close(shutdown) // stops the dispatchers
	}
}
