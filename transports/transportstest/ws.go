package transportstest

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports/wire"
)

// WSClient is one WebSocket connection, read with deadlines.
type WSClient struct {
	*websocket.Conn
}

// WSDialer is the dialer of DialWS: its handshake is bounded by Wait, and
// it trusts the certificates of this process's servers (tls.go).
var WSDialer = websocket.Dialer{HandshakeTimeout: Wait, TLSClientConfig: ClientTLS(), EnableCompression: Compressing()}

// TryDialWS opens the server's WebSocket with query (such as "since=3")
// and header name/value pairs. On a refused handshake it returns the
// response, whose body gorilla keeps. The connection closes when the test
// ends.
func (s *Server) TryDialWS(t testing.TB, query string, header ...string) (*WSClient, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	url := s.WS() + "/api/ws"
	if query != "" {
		url += "?" + query
	}
	conn, resp, err := WSDialer.Dial(url, h)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.Close() })
	return &WSClient{conn}, resp, nil
}

// DialWS opens the server's WebSocket and fails the test if the upgrade
// fails.
func (s *Server) DialWS(t testing.TB, query string, header ...string) *WSClient {
	t.Helper()
	c, resp, err := s.TryDialWS(t, query, header...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial ws ?%s: %v (status %d)", query, err, status)
	}
	return c
}

// DialWSHello opens a connection and reads its hello.
func (s *Server) DialWSHello(t testing.TB, query string, header ...string) (*WSClient, wire.Frame) {
	t.Helper()
	c := s.DialWS(t, query, header...)
	return c, c.Hello(t)
}

// Read returns the next data frame, failing the test if none comes within
// Wait.
func (c *WSClient) Read(t testing.TB) (int, []byte) {
	t.Helper()
	kind, b, err := c.TryRead()
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	return kind, b
}

// TryRead returns the next data frame or the error that ended the
// connection, or a timeout after Wait.
func (c *WSClient) TryRead() (int, []byte, error) {
	c.SetReadDeadline(time.Now().Add(Wait))
	return c.ReadMessage()
}

// ReadText returns the next frame, which must be a text frame.
func (c *WSClient) ReadText(t testing.TB) []byte {
	t.Helper()
	kind, b := c.Read(t)
	if kind != websocket.TextMessage {
		t.Fatalf("frame of type %d %q, want a text frame", kind, b)
	}
	return b
}

// Hello reads the first frame, which must be the hello, with an epoch.
func (c *WSClient) Hello(t testing.TB) wire.Frame {
	t.Helper()
	h, err := wire.DecodeHello(c.ReadText(t))
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	return h
}

// Message reads the next frame, which must be a message.
func (c *WSClient) Message(t testing.TB) ([]byte, wire.Message) {
	t.Helper()
	b := c.ReadText(t)
	if wire.IsFrame(b) {
		t.Fatalf("frame %q, want a message", b)
	}
	return b, DecodeMessage(t, b)
}

// Send writes one text frame.
func (c *WSClient) Send(t testing.TB, frame string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(Wait))
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("ws write %.60q: %v", frame, err)
	}
}

// ClosedWith reads until the connection ends and checks the close code,
// returning the data frames that came before it.
func (c *WSClient) ClosedWith(t testing.TB, code int) [][]byte {
	t.Helper()
	var before [][]byte
	for {
		_, b, err := c.TryRead()
		if err == nil {
			before = append(before, b)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
		}
		return before
	}
}
