package transportstest

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"fourway/transports"
)

// ProtoEnv, when set to "h2", makes every server Start starts speak HTTPS
// with a self-signed certificate, HTTP/2 offered beside HTTP/1.1, and
// this process's default clients trust it: the contract's second pass
// over HTTP/2 (polls, long polls, SSE) and TLS (WebSocket), run by
// transports/h2_test.go.
const ProtoEnv = "FOURWAY_TEST_PROTO"

// OverTLS reports whether this run is that pass.
func OverTLS() bool { return os.Getenv(ProtoEnv) == "h2" }

// SkipOverTLS skips a test that speaks plain HTTP/1.1 on a raw socket, in
// the pass over TLS; why says what it does.
func SkipOverTLS(t testing.TB, why string) {
	t.Helper()
	if OverTLS() {
		t.Skip("over TLS: this test " + why + " on a raw socket")
	}
}

var (
	certOnce sync.Once
	cert     *tls.Config
	certErr  error
)

func init() {
	// Test clients only, on loopback: the certificates of this process's
	// servers are their own (the pass over TLS, and tests that start a
	// server with TLS themselves), so the default clients trust them.
	// Each its own: net/http's Transport adds "h2" to the one it is given.
	trust := func() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
	http.DefaultTransport.(*http.Transport).TLSClientConfig = trust()
	websocket.DefaultDialer.TLSClientConfig = trust()
}

// ClientTLS is what a test's own dialer needs to reach the servers of
// this process over TLS: it trusts their certificates.
func ClientTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// useTLS gives cfg this process's certificate, in the pass over TLS.
func useTLS(t testing.TB, cfg *transports.Config) {
	t.Helper()
	if !OverTLS() || cfg.TLS != nil {
		return
	}
	certOnce.Do(func() { cert, _, certErr = transports.SelfSignedTLS() })
	if certErr != nil {
		t.Fatalf("self-signed certificate: %v", certErr)
	}
	cfg.TLS = cert
}

// TCP is the TCP socket under c, under its TLS if it has one.
func TCP(c net.Conn) *net.TCPConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	return c.(*net.TCPConn)
}
