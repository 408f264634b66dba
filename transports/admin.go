package transports

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"fourway/feed"
)

// The demo controls: POST /api/drop cuts connections as a network failure
// would, POST /api/ticker sets the built-in publisher, POST /api/tunnel
// silences one of the --links. They are open when the server listens on
// loopback; elsewhere they need --admin-token.

const minTickerPeriod = 10 * time.Millisecond // at most 100 messages per second

func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.AdminToken != "" {
		return requireBearer(s.cfg.AdminToken, "the demo controls")(next)
	}
	return func(c echo.Context) error {
		if !s.adminOpen {
			return fail(c, http.StatusForbidden, "the demo controls are off: the server does not listen on loopback and no --admin-token is set")
		}
		return next(c)
	}
}

func (s *Server) handleDrop(c echo.Context) error {
	transport := c.QueryParam("transport")
	switch transport {
	case "ws", "sse", "longpoll", "all":
	default:
		return fail(c, http.StatusBadRequest, "transport must be ws, sse, longpoll or all, not "+strconv.Quote(transport))
	}
	n := s.live.hangUp(transport)
	s.log.Info("dropped connections", "transport", transport, "count", n)
	return c.JSON(http.StatusOK, map[string]any{"dropped": n, "transport": transport})
}

func (s *Server) handleTicker(c echo.Context) error {
	every, err := time.ParseDuration(c.QueryParam("every"))
	if err != nil || every < 0 || (every > 0 && every < minTickerPeriod) {
		return fail(c, http.StatusBadRequest, "every must be a Go duration of at least "+minTickerPeriod.String()+" (such as 1s or 250ms), or 0 to stop")
	}
	s.ticker.set(every)
	return c.JSON(http.StatusOK, map[string]string{"every": every.String()})
}

// publisher is the built-in ticker that keeps the feed alive for a first
// visit: every period it publishes {"user":"ticker","text":"tick N"}.
type publisher struct {
	feed Feed
	log  *slog.Logger

	mu   sync.Mutex
	stop chan struct{} // closes the running ticker goroutine, nil when off
	n    int
}

// set changes the period; 0 stops the ticker.
func (p *publisher) set(every time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	if every <= 0 {
		return
	}
	stop := make(chan struct{})
	p.stop = stop
	go p.run(every, stop)
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
	_, ok := startingOf(err)
	return ok
}

// The longest and shortest silence POST /api/tunnel makes.
const (
	minTunnel = 10 * time.Millisecond
	maxTunnel = 10 * time.Minute
)

// handleTunnel silences one of the --links for a while (?link=3g&for=20s):
// every byte crossing it is held, nothing is closed, and all of it is
// delivered when the link comes back, as a train in a tunnel meets.
func (s *Server) handleTunnel(c echo.Context) error {
	name := c.QueryParam("link")
	i := slices.IndexFunc(s.cfg.Links, func(l Link) bool { return l.Name == name })
	if i < 0 {
		names := make([]string, len(s.cfg.Links))
		for k, l := range s.cfg.Links {
			names[k] = l.Name
		}
		if len(names) == 0 {
			return fail(c, http.StatusNotFound, "this server opened no link: start it with --links")
		}
		return fail(c, http.StatusNotFound, "link must be one of "+strings.Join(names, ", ")+", not "+strconv.Quote(name))
	}
	d, err := time.ParseDuration(c.QueryParam("for"))
	if err != nil || d < minTunnel || d > maxTunnel {
		return fail(c, http.StatusBadRequest, "for must be a Go duration from "+minTunnel.String()+" to "+maxTunnel.String()+" (such as 20s), not "+strconv.Quote(c.QueryParam("for")))
	}
	s.cfg.Links[i].Tunnel(d)
	s.log.Info("tunnel", "link", name, "for", d)
	return c.JSON(http.StatusOK, map[string]any{"link": name, "silent_ms": d.Milliseconds()})
}
