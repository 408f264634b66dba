package targets

import (
	"bytes"
	"net"
)

// listenLoopback listens on a port of 127.0.0.1 the kernel picks: the
// bench's way to find a free port for a server it starts, which binds it a
// moment later (loopback ports are not reused that fast).
func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// tail is the last n bytes of a process's output or log, for an error
// that says why it stopped.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
