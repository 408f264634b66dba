package transports

// The built-in ticker, which publishes on its own so that a first visit
// has something to watch (--ticker, POST /api/ticker).

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"fourway/feed"
)

// publisher is the built-in ticker that keeps the feed alive for a first
// visit: every period it publishes {"user":"ticker","text":"tick N"}.
type publisher struct {
	feed Feed
	log  *slog.Logger

	mu    sync.Mutex
	stop  chan struct{} // closes the running ticker goroutine, nil when off
	n     int
	every time.Duration // the period, 0 when off
}

// set changes the period; 0 stops the ticker.
func (p *publisher) set(every time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.every = max(every, 0)
	if every <= 0 {
		return
	}
	stop := make(chan struct{})
	p.stop = stop
	go p.run(every, stop)
}

// period is the ticker's period now, 0 when it is off.
func (p *publisher) period() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.every
}

// run publishes every period until stop. A tick the feed refuses (it is
// starting, or cut from its broker) is skipped, and said once until a
// publish succeeds again, not every period; the count goes on from the
// last tick published.
func (p *publisher) run(every time.Duration, stop chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	refused := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			n := p.n + 1
			p.mu.Unlock()
			data, _ := json.Marshal(struct {
				User string `json:"user"`
				Text string `json:"text"`
			}{"ticker", "tick " + strconv.Itoa(n)})
			_, err := p.feed.Publish(data)
			switch {
			case err == nil:
				p.mu.Lock()
				p.n = max(p.n, n)
				p.mu.Unlock()
				refused = false
			case errors.Is(err, feed.ErrClosed):
				return // shutting down
			case refused:
			case isStarting(err):
				refused = true
				p.log.Debug("the ticker waits for the feed", "err", err)
			default:
				refused = true
				p.log.Warn("the ticker skips its ticks until the feed takes publishes again", "err", err)
			}
		}
	}
}

// isStarting reports whether err is a feed's that is still opening.
func isStarting(err error) bool {
	var se *feed.StartingError
	return errors.As(err, &se)
}
