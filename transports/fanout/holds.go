package fanout

// The timeouts of held requests, one timer for many.

import (
	"sync"
	"time"
)

// holdSlack bounds how late a held request's timeout may be answered,
// so that the requests held in the same moment share one timer: at most
// a tenth of the hold late, and at most this, never early.
const holdSlack = 100 * time.Millisecond

// HoldTimers are the timeouts of held requests (long polls): one timer,
// and one channel it closes, for every deadline slot that some poll waits
// on, instead of one per poll. A timer is not stopped when its polls are
// answered first: it fires once, for nobody, and is gone.
type HoldTimers struct {
	mu    sync.Mutex
	slots map[int64]chan struct{} // deadline (UnixNano), rounded up to its slot -> closed once it passed
}

// After returns a channel closed once hold has passed, a little later at
// most (holdSlack).
func (ht *HoldTimers) After(hold time.Duration) <-chan struct{} {
	slot := int64(max(time.Millisecond, min(holdSlack, hold/10)))
	deadline := (time.Now().Add(hold).UnixNano() + slot - 1) / slot * slot
	ht.mu.Lock()
	defer ht.mu.Unlock()
	if ch, ok := ht.slots[deadline]; ok {
		return ch
	}
	if ht.slots == nil {
		ht.slots = map[int64]chan struct{}{}
	}
	ch := make(chan struct{})
	ht.slots[deadline] = ch
	time.AfterFunc(time.Until(time.Unix(0, deadline)), func() {
		ht.mu.Lock()
		delete(ht.slots, deadline)
		ht.mu.Unlock()
		close(ch)
	})
	return ch
}
