// Package links puts an emulated network between a client and a server:
// a link is a TCP proxy on 127.0.0.1 that delays what crosses it by half a
// round trip each way, lets it through no faster than the link's
// bandwidth, and can go silent (a tunnel) and come back. The proxy is
// Shopify's Toxiproxy, used as a library in this process, its toxics
// chosen by the profiles of profiles.go.
//
// The emulation is of TCP's payload, not of packets: a link never loses
// a packet, so what loss costs (retransmissions, and TCP's head-of-line
// blocking, where one lost packet holds back everything after it on the
// connection) does not show here. Its bandwidth is each connection's, not
// shared between the connections of one client.
//
// Its files, from the top down:
//
//	links.go     a link: its proxy, its toxics, the tunnel
//	profiles.go  the profiles, one table, each with its source
package links

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// Link is one emulated link, listening on its own address and forwarding
// every connection to its upstream.
type Link struct {
	Profile
	proxy *toxiproxy.Proxy
	quiet *gate         // silent while shut: every byte held, both ways
	stop  chan struct{} // ends the outages of a profile that has them
	done  sync.WaitGroup
	once  sync.Once // Close's
}

// Start validates p and starts its link on listen (host:port; port 0 for
// any free one), forwarding to upstream. A port that is taken is an error
// that names it.
func Start(p Profile, listen, upstream string) (*Link, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	// Toxiproxy logs every connection; this package says what matters.
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	l := &Link{Profile: p, proxy: toxiproxy.NewProxy(server, p.Name, listen, upstream), quiet: &gate{}, stop: make(chan struct{})}
	for _, way := range []struct {
		stream  string
		kbps    int
		latency time.Duration
	}{{"downstream", p.DownKbps, p.RTT / 2}, {"upstream", p.UpKbps, p.RTT - p.RTT/2}} {
		// In the order a byte meets them: the way's half of the round
		// trip, then its bandwidth, then the tunnel, which holds what
		// reached it while the link is silent.
		if latency := way.latency.Milliseconds(); latency > 0 || p.Jitter > 0 {
			if err := l.add("latency", way.stream, fmt.Sprintf(`{"latency":%d,"jitter":%d}`, latency, p.Jitter.Milliseconds()/2)); err != nil {
				return nil, err
			}
		}
		if way.kbps != Unlimited {
			// Toxiproxy's rate is in KB/s of 1000 bytes: kbit/s / 8,
			// rounded down (every profile of the table is a multiple of 8).
			if err := l.add("bandwidth", way.stream, fmt.Sprintf(`{"rate":%d}`, way.kbps/8)); err != nil {
				return nil, err
			}
		}
		w, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(`{"type":%q,"stream":%q,"name":"tunnel_%s"}`, tunnelToxic, way.stream, way.stream)))
		if err != nil {
			return nil, fmt.Errorf("link %s: the tunnel: %w", p.Name, err)
		}
		// Set before Start: every connection's goroutines start after it.
		w.Toxic.(*tunnel).quiet = l.quiet
	}
	if err := l.proxy.Start(); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("link %s: %s is taken: %w", p.Name, listen, err)
		}
		return nil, fmt.Errorf("link %s: listen on %s: %w", p.Name, listen, err)
	}
	if p.OutageEvery > 0 {
		l.done.Add(1)
		go l.outages()
	}
	return l, nil
}

// add adds one of Toxiproxy's toxics to the link.
func (l *Link) add(kind, stream, attributes string) error {
	_, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(`{"type":%q,"stream":%q,"attributes":%s}`, kind, stream, attributes)))
	if err != nil {
		return fmt.Errorf("link %s: %s %s: %w", l.Name, kind, stream, err)
	}
	return nil
}

// Addr is the address the link listens on, host:port.
func (l *Link) Addr() string { return l.proxy.Listen }

// Tunnel makes the link silent for d, both ways, then brings it back:
// nothing is closed and nothing is lost, every byte sent meanwhile is
// held, in order, and delivered when the link returns, as TCP would
// retransmit it. A client or server learns of the silence only from a
// heartbeat or a timeout of its own. A tunnel during a tunnel lasts until
// the later end.
func (l *Link) Tunnel(d time.Duration) { l.quiet.shut(d) }

// Silent reports whether the link is silent now.
func (l *Link) Silent() bool { return l.quiet.shutNow() != nil }

// outages runs the profile's outages until Close.
func (l *Link) outages() {
	defer l.done.Done()
	t := time.NewTicker(l.OutageEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Tunnel(l.OutageFor)
		}
	}
}

// Close stops the link: it listens no more, and every connection through
// it is closed. Closing it again does nothing.
func (l *Link) Close() {
	l.once.Do(func() {
		close(l.stop)
		l.done.Wait()
		l.quiet.open()
		l.proxy.Stop()
	})
}

// gate is a link's silence: shut, every byte waits for it to open.
type gate struct {
	mu    sync.Mutex
	until time.Time
	shutC chan struct{} // closed when the gate opens; nil while it is open
	timer *time.Timer
}

// shut shuts the gate for d from now, or until the later end of a shutting
// already under way.
func (g *gate) shut(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	end := time.Now().Add(d)
	if g.shutC == nil {
		g.shutC = make(chan struct{})
	} else if !end.After(g.until) {
		return
	} else {
		g.timer.Stop()
	}
	g.until = end
	g.timer = time.AfterFunc(d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.shutC != nil && !time.Now().Before(g.until) {
			close(g.shutC)
			g.shutC = nil
		}
	})
}

// open opens the gate now.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shutC != nil {
		g.timer.Stop()
		close(g.shutC)
		g.shutC = nil
	}
}

// shutNow returns a channel closed when the gate opens, or nil when it is
// open.
func (g *gate) shutNow() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shutC
}

// tunnelToxic is the toxic of a link's silence, registered with Toxiproxy.
const tunnelToxic = "fourway_tunnel"

func init() { toxics.Register(tunnelToxic, new(tunnel)) }

// tunnel is a toxic that passes every chunk on at once while its gate is
// open, and holds them, in order, while it is shut. Toxiproxy's own timeout
// toxic drops what it swallows and closes the connection when removed,
// which is a link that died, not one that went quiet; a latency toxic
// added and removed would do, but adding and removing a toxic waits for
// every connection's chain to take it, a client that does not read
// included. This one is added once, at the start.
type tunnel struct {
	quiet *gate
}

// GetBufferSize is how many chunks a connection's tunnel holds before its
// sender has to wait, as the latency toxic's: past it the back-pressure
// reaches the sender's socket, as a full TCP window would.
func (t *tunnel) GetBufferSize() int { return 1024 }

func (t *tunnel) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if shut := t.quiet.shutNow(); shut != nil {
				select {
				case <-shut:
				case <-stub.Interrupt:
					stub.Output <- c // nothing dropped
					return
				}
			}
			stub.Output <- c
		}
	}
}

// Upstream is the address a link forwards to for a server listening on
// addr: the same, but a listener on every address (0.0.0.0, [::]) is
// reached on 127.0.0.1.
func Upstream(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}
