package transportstest

import (
	"errors"
	"sync/atomic"

	"fourway/feed"
)

// BrokerFeed is an in-memory feed that can be told its broker is gone, as
// feed.JetStream's Health says when it is cut from NATS: Down.Store(true)
// until Down.Store(false).
type BrokerFeed struct {
	*feed.Memory
	Down atomic.Bool
}

// NewBrokerFeed is a BrokerFeed keeping history messages, its broker up.
func NewBrokerFeed(history int) *BrokerFeed { return &BrokerFeed{Memory: feed.NewMemory(history)} }

// Health is feed.JetStream's: nil while the broker is reachable.
func (f *BrokerFeed) Health() error {
	if f.Down.Load() {
		return errors.New("not connected to NATS")
	}
	return nil
}
