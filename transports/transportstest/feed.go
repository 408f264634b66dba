package transportstest

import (
	"errors"
	"sync/atomic"

	"fourway/feed"
)

// BrokerFeed is an in-memory feed that can be told its broker is gone, as
// feed.JetStream's Health says when it is cut from NATS: Down.Store(true)
// until Down.Store(false). Meanwhile Publish fails with
// feed.ErrUnavailable, as JetStream's does, and counts in Refused.
type BrokerFeed struct {
	*feed.Memory
	Down    atomic.Bool
	Refused atomic.Int64
}

// Publish is the in-memory feed's while the broker is up.
func (f *BrokerFeed) Publish(data []byte) (feed.Message, error) {
	if f.Down.Load() {
		f.Refused.Add(1)
		return feed.Message{}, feed.ErrUnavailable
	}
	return f.Memory.Publish(data)
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
