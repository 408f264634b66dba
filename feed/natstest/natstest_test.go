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
