package transports_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/feed"
	"fourway/transports"
)

// Handler works on its own, on a server that is not Serve's: a WebSocket
// opened through it gets its hello and then every message published.
func TestHandlerAloneDeliversToWebSockets(t *testing.T) {
	cfg := transports.DefaultConfig()
	cfg.Ticker = 0
	s, err := transports.New(feed.NewMemory(10), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/api/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, hello, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(hello), `{"type":"hello","next":0,`) {
		t.Fatalf("first frame %q, %v; want the hello", hello, err)
	}
	resp, err := http.Post(hs.URL+"/api/messages", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %s", resp.Status)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(msg), `{"id":1,`) || !strings.HasSuffix(string(msg), `"data":"hi"}`) {
		t.Fatalf("second frame %q, %v; want message 1", msg, err)
	}
}
