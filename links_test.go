package main

// --links: the emulated links main opens in front of the server, what
// GET /api/config says of them, whose pages may act here, and POST
// /api/tunnel. What a link does to the bytes is specified in
// transports/links.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports"
)

// configLinks reads the links GET /api/config lists at base.
func configLinks(t *testing.T, base string) (map[string]transports.Link, string) {
	t.Helper()
	_, body := get(t, base+"/api/config")
	var cc struct {
		Links []transports.Link `json:"links"`
	}
	if err := json.Unmarshal([]byte(body), &cc); err != nil {
		t.Fatalf("GET /api/config: %v: %s", err, body)
	}
	out := map[string]transports.Link{}
	for _, l := range cc.Links {
		out[l.Name] = l
	}
	return out, body
}

// post sends an empty POST to url with the Origin header, if any, and
// returns the status and body.
func post(t *testing.T, url, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("hi"))
	req.Header.Set("Content-Type", "text/plain")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNoLinksByDefault(t *testing.T) {
	ms := startMain(t, nil)
	if got, body := configLinks(t, ms.URL); len(got) != 0 || strings.Contains(body, `"links"`) {
		t.Fatalf("without --links, GET /api/config lists %v: %s", got, body)
	}
	if code, b := post(t, ms.URL+"/api/tunnel?link=3g&for=1s", ""); code != http.StatusNotFound || !strings.Contains(b, "this server opened no link: start it with --links") {
		t.Fatalf("POST /api/tunnel without --links: %d %s", code, b)
	}
}

// TestATunnelNeedsTheAdminTokenWhenOneIsSet: POST /api/tunnel is a demo
// control like the others.
func TestATunnelNeedsTheAdminTokenWhenOneIsSet(t *testing.T) {
	ms := startMain(t, nil, "--links", "loopback", "--admin-token", "adm")
	if code, b := post(t, ms.URL+"/api/tunnel?link=loopback&for=10ms", ""); code != http.StatusUnauthorized {
		t.Fatalf("POST /api/tunnel without the admin token: %d %s; want 401", code, b)
	}
}

// TestLinksServeThePageAndTheAPI: each link of --links forwards to the
// server, so the page, the API and a WebSocket work through it, slower
// by its round trip; GET /api/config lists them as the issue has it.
func TestLinksServeThePageAndTheAPI(t *testing.T) {
	ms := startMain(t, nil, "--links", "3g,loopback")
	got, body := configLinks(t, ms.URL)
	g3, lo := got["3g"], got["loopback"]
	if len(got) != 2 || g3.RTTMS != 300 || g3.DownKbps != 1600 || g3.UpKbps != 768 || !strings.HasPrefix(g3.URL, "http://127.0.0.1:") || !strings.HasSuffix(g3.URL, "/") {
		t.Fatalf("GET /api/config: %s; want 3g at 300 ms, 1600 and 768 kbit/s", body)
	}
	if lo.URL == "" || lo.RTTMS != 0 || lo.DownKbps != 0 || strings.Contains(body, `"down_kbps":0`) {
		t.Fatalf("loopback: %s; want a round trip of 0 and no bandwidth named", body)
	}
	start := time.Now()
	code, page := get(t, g3.URL)
	if took := time.Since(start); code != http.StatusOK || !strings.Contains(page, "<html") || took < 300*time.Millisecond {
		t.Fatalf("the page through 3g: %d in %v; want 200 after at least the 300 ms round trip", code, took)
	}
	origin := strings.TrimSuffix(g3.URL, "/")
	if code, b := post(t, g3.URL+"api/messages", origin); code != http.StatusCreated {
		t.Fatalf("a publish through 3g from its own page: %d %s", code, b)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(g3.URL, "http")+"api/ws?since=0", http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("a WebSocket through 3g from its own page: %v", err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(startWait))
	if _, b, err := ws.ReadMessage(); err != nil || !strings.Contains(string(b), `"hello"`) {
		t.Fatalf("the WebSocket's hello through 3g: %q %v", b, err)
	}
}

// TestALinksPageMayActOnTheServer: a page loaded through one of the
// server's links may publish on the server's own address (the page's
// publisher stays on the fast path); a page on another port may not.
func TestALinksPageMayActOnTheServer(t *testing.T) {
	ms := startMain(t, nil, "--links", "cable")
	got, _ := configLinks(t, ms.URL)
	if code, b := post(t, ms.URL+"/api/messages", strings.TrimSuffix(got["cable"].URL, "/")); code != http.StatusCreated {
		t.Fatalf("a publish from the cable link's page: %d %s; want 201", code, b)
	}
	foreign, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	foreign.Close() // a port the server opened no link on
	if code, b := post(t, ms.URL+"/api/messages", "http://"+foreign.Addr().String()); code != http.StatusForbidden {
		t.Fatalf("a publish from a page on another port: %d %s; want 403", code, b)
	}
}

// TestATunnelSilencesALinkForAWhile: POST /api/tunnel holds everything
// crossing the link until its time is up; bad requests are refused
// naming what is wrong.
func TestATunnelSilencesALinkForAWhile(t *testing.T) {
	ms := startMain(t, nil, "--links", "loopback")
	got, _ := configLinks(t, ms.URL)
	const silent = 400 * time.Millisecond
	start := time.Now()
	if code, b := post(t, ms.URL+"/api/tunnel?link=loopback&for="+silent.String(), ""); code != http.StatusOK || !strings.Contains(b, `"silent_ms":400`) {
		t.Fatalf("POST /api/tunnel: %d %s", code, b)
	}
	if code, _ := get(t, got["loopback"].URL+"healthz"); code != http.StatusOK {
		t.Fatalf("through the link after its tunnel: %d", code)
	}
	if took := time.Since(start); took < silent {
		t.Fatalf("a request through a link in a tunnel of %v was answered after %v", silent, took)
	}
	for query, want := range map[string]string{
		"link=3g&for=1s":        `link must be one of loopback, not \"3g\"`,
		"link=loopback&for=1h":  "for must be a Go duration from 10ms to 10m0s",
		"link=loopback&for=1":   "for must be a Go duration",
		"link=loopback&for=-1s": "for must be a Go duration",
	} {
		if code, b := post(t, ms.URL+"/api/tunnel?"+query, ""); code/100 != 4 || !strings.Contains(b, want) {
			t.Errorf("POST /api/tunnel?%s: %d %s; want a refusal with %q", query, code, b, want)
		}
	}
}

func TestBadLinksAreRefused(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	for args, want := range map[string]string{
		"--links 5g":       `--links: no link "5g": the links are loopback, cable, 4g, 3g, slow-3g, train`,
		"--links 3g,3g":    `--links: link "3g" named twice`,
		"--links-port -1":  "--links-port must be from 1 to",
		"--links-port 1e3": "links-port",
		"--links loopback --links-port " + fmt.Sprint(port): fmt.Sprintf("--links: link loopback: 127.0.0.1:%d is taken", port),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, strings.Fields(args)...), func(string) string { return "" }, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", args, err, want)
		}
	}
}
