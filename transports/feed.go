package transports

import "fourway/feed"

// Feed is what the transports need from a feed. feed.Memory is one; a feed
// on a cluster broker would be another, and no transport would notice.
//
// Ids are consecutive within an epoch: the message after id N is N+1, so
// the distance between two cursors is a count of messages (what a reader
// missed, where an SSE reset continues). A broker whose sequence has gaps
// must renumber, or start a new epoch.
type Feed interface {
	// Publish appends one compact JSON value as the next message.
	Publish(data []byte) (feed.Message, error)
	// Epoch names the current id sequence; it changes whenever ids start over.
	Epoch() string
	// Read returns up to limit messages after cursor, with Reset when the
	// cursor's epoch (if not "") is not the current one.
	Read(epoch string, cursor uint64, limit int) feed.Page
	// LastID is the newest id, the cursor of a reader that starts "now".
	LastID() uint64
	// Changed is closed once a message after cursor exists.
	Changed(cursor uint64) <-chan struct{}
	// Close refuses later publishes; reads go on, for a graceful shutdown.
	Close()
	Stats() feed.Stats
}
