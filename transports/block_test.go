package transports_test

import (
	"net/http"
	"testing"

	"fourway/transports/transportstest"
)

// TestBlockRefusesOneClientsUpgrades: POST /api/block?ws=off cuts that
// client's WebSocket and refuses its upgrades (400, as when a proxy strips
// the Upgrade), and no other client's; ws=on lets it upgrade again.
func TestBlockRefusesOneClientsUpgrades(t *testing.T) {
	srv := transportstest.Start(t, nil)
	blocked := srv.DialWS(t, "client=blocked")
	blocked.Hello(t)
	other := srv.DialWS(t, "client=other")
	other.Hello(t)

	block := func(ws string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/block?client=blocked&ws="+ws, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/block ws=%s: %v %v", ws, err, resp)
		}
		resp.Body.Close()
	}
	block("off")
	if _, _, err := blocked.TryRead(); err == nil {
		t.Fatal("the blocked client's WebSocket still reads")
	}
	if _, resp, err := srv.TryDialWS(t, "client=blocked"); err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a blocked client upgraded (err %v, response %v), want 400", err, resp)
	}
	srv.Publish(t, `"still here"`)
	if _, m := other.Message(t); m.ID != 1 {
		t.Errorf("the other client got message %d, want 1", m.ID)
	}
	block("on")
	srv.DialWS(t, "client=blocked").Hello(t)
}
