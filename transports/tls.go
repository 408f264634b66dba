package transports

// TLS and HTTP/2. With a certificate the server speaks HTTPS, and offers
// HTTP/2 beside HTTP/1.1 (ALPN picks one per connection): the polls and
// SSE streams of one browser then share one connection, and the six
// connections per host that HTTP/1.1 allows a page no longer hold them
// back. A WebSocket stays on HTTP/1.1 (wss://): gorilla/websocket needs a
// connection of its own to take over, and net/http does not offer
// WebSockets over HTTP/2 (RFC 8441) by default. Cleartext HTTP/2 (h2c,
// "prior knowledge", no TLS) is there for the bench.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"
)

// LoadTLS reads a certificate and its key, PEM encoded, for Config.TLS.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together: give both, or --tls-self-signed")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// SelfSignedTLS makes a certificate for localhost, 127.0.0.1 and ::1,
// valid for a month, for demos; it returns its SHA-256 fingerprint too,
// so a user can check what the browser shows. A browser warns about it
// (no one vouches for it) until told to trust it.
func SelfSignedTLS() (*tls.Config, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "fourway (self-signed)"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(der)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, hex.EncodeToString(sum[:]), nil
}

// protocols are the HTTP versions the server speaks: HTTP/1.1 always,
// HTTP/2 over TLS unless turned off, cleartext HTTP/2 when asked.
func (c Config) protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(c.TLS != nil && c.HTTP2)
	p.SetUnencryptedHTTP2(c.H2C)
	return &p
}

// tlsConfig is cfg.TLS with the protocols offered in the handshake.
func (c Config) tlsConfig() *tls.Config {
	t := c.TLS.Clone()
	t.NextProtos = []string{"http/1.1"}
	if c.HTTP2 {
		t.NextProtos = []string{"h2", "http/1.1"}
	}
	return t
}

func (c Config) tlsOK() error {
	if c.H2C && c.TLS != nil {
		return fmt.Errorf("--h2c is cleartext HTTP/2: with TLS, HTTP/2 is offered already (--http2)")
	}
	return nil
}
