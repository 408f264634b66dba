package load

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"fourway/bench/plan"
)

// Request overhead is counted where a client sees it: on the client's own
// socket. Every subscriber dials through a counting dialer, so request and
// status lines, headers, chunk framing, WebSocket handshakes and frame
// headers are all in the count. TCP/IP headers are not: they are below the
// socket and the same for every transport per packet.

// meter holds one subscriber's byte and request counters. It is shared by
// every connection the subscriber opens (a reconnect adds to the same
// counters).
type meter struct {
	down     atomic.Int64 // bytes read from the server
	up       atomic.Int64 // bytes written to the server
	requests atomic.Int64 // HTTP requests, WebSocket upgrades included
	decoded  atomic.Int64 // with -compress: what the bodies and messages read decode to (encoding.go)
	// from is the loopback address the subscriber's connections leave
	// from; nil leaves it to the kernel. Set before the first dial.
	from *net.TCPAddr
}

// sourceAddr is the source address of subscriber i when the subscribers
// are spread over n loopback addresses, 127.0.0.2 to 127.0.0.(n+1), in
// turn; nil when n is 0 (the kernel's choice, 127.0.0.1). Linux answers
// for all of 127.0.0.0/8 on lo, and each source address has an ephemeral
// port range of its own towards the server's one address and port.
func sourceAddr(i, n int) *net.TCPAddr {
	if n <= 0 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%min(n, plan.MaxSourceAddrs)))}
}

// countingConn adds every byte read and written to its meter.
type countingConn struct {
	net.Conn
	w *meter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.down.Add(int64(n))
	return n, err
}

// Write counts the bytes before they leave: the server may answer, and the
// subscriber take a snapshot, before a Write returns (http.Transport writes
// requests from a goroutine of its own). A short write takes back the rest.
func (c *countingConn) Write(p []byte) (int, error) {
	c.w.up.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	if n < len(p) {
		c.w.up.Add(int64(n - len(p)))
	}
	return n, err
}

// dial opens a TCP connection whose bytes count on w. It is the DialContext
// of the subscriber's http.Transport and the NetDialContext of its
// websocket.Dialer.
func (w *meter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if w.from != nil {
		d.LocalAddr = w.from
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, w: w}, nil
}

// httpClient returns a client with one connection of its own, counted on w,
// speaking protocol p (-proto). It neither offers nor decodes compression
// itself: a subscriber does that where it can be seen (encoding.go). Under TLS the transport runs the handshake on the
// counting connection, so the count is of TLS records, headers and tags
// included; under HTTP/2 it is of frames (HPACK-encoded HEADERS, DATA,
// and the connection's SETTINGS, WINDOW_UPDATE and PING), which are all
// this subscriber's: its connection carries no one else's streams.
func (w *meter) httpClient(p string) *http.Client {
	return &http.Client{Transport: httpTransport(p, w.dial, 1)}
}

// counts is a snapshot of a subscriber's counters.
type counts struct {
	Down, Up, Requests int64
	Messages, Payload  int64
	Decoded            int64
}

// sub is a less b, field by field.
func (a counts) sub(b counts) counts {
	return counts{a.Down - b.Down, a.Up - b.Up, a.Requests - b.Requests, a.Messages - b.Messages, a.Payload - b.Payload, a.Decoded - b.Decoded}
}

// add is a plus b, field by field.
func (a counts) add(b counts) counts {
	return counts{a.Down + b.Down, a.Up + b.Up, a.Requests + b.Requests, a.Messages + b.Messages, a.Payload + b.Payload, a.Decoded + b.Decoded}
}
