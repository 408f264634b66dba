package natstest

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// TestRefusingPortIsRefusedAndCannotBeTaken: a connection to the port is
// refused at once, and no listener can take it while the test runs (with
// a port that was merely free, another test's listener could, and then
// hold a NATS client silent: CI saw "read tcp ...: i/o timeout" where no
// NATS was the point).
func TestRefusingPortIsRefusedAndCannotBeTaken(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(RefusingPort(t))
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("a listener took %s", addr)
	}
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
		t.Fatalf("a connection to %s was answered", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a connection to %s: %v, want it refused", addr, err)
	}
}

// TestBinaryClusterDoesNotListenWhenAPortIsTaken: a cluster whose client
// or route port another process took after it was found free does not
// listen, though something answers on that port, and says so at once
// (its nats-server exits); a new cluster, on fresh ports, does.
func TestBinaryClusterDoesNotListenWhenAPortIsTaken(t *testing.T) {
	for _, taken := range []struct {
		name string
		port func(*BinaryCluster) int
	}{
		{"client port", func(c *BinaryCluster) int { return c.ports[0] }},
		{"route port", func(c *BinaryCluster) int { return c.routes[0] }},
	} {
		t.Run(taken.name, func(t *testing.T) {
			c := NewBinaryCluster(t, 3)
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(taken.port(c)))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			c.Launch()
			if c.Listening(LaunchWait) {
				t.Fatal("a cluster with a port taken listens, as the taker's answer made it seem")
			}
			c.StopAll()
			fresh := NewBinaryCluster(t, 3)
			fresh.Launch()
			fresh.WaitListening()
		})
	}
}
