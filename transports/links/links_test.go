package links

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"fourway/transports/transportstest"
)

// wait bounds every wait of these tests; the links' own delays are
// lower bounds, checked, never waited for with a sleep.
const wait = transportstest.Wait

// startLink starts a link of p in front of upstream, closed when the test
// ends.
func startLink(t *testing.T, p Profile, upstream string) *Link {
	t.Helper()
	l, err := Start(p, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// fixed is a profile of a round trip rtt and no bandwidth limit.
func fixed(rtt time.Duration) Profile {
	return Profile{Name: "test", RTT: rtt, DownKbps: Unlimited, UpKbps: Unlimited}
}

func TestEveryProfileIsValid(t *testing.T) {
	for _, p := range Profiles {
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestNonsenseProfilesAreRefusedNamingWhatIsWrong(t *testing.T) {
	cases := []struct {
		p    Profile
		want string
	}{
		{Profile{Name: "neg", RTT: -time.Millisecond, DownKbps: 100, UpKbps: 100}, `link "neg": round trip -1ms is negative`},
		{Profile{Name: "zero", RTT: time.Millisecond, DownKbps: 0, UpKbps: 100}, `link "zero": down bandwidth 0 kbit/s: at least 8`},
		{Profile{Name: "up", DownKbps: 100, UpKbps: -5}, `link "up": up bandwidth -5 kbit/s`},
		{Profile{Name: "jit", RTT: 10 * time.Millisecond, Jitter: 20 * time.Millisecond, DownKbps: 100, UpKbps: 100}, `link "jit": jitter 20ms must be from 0 to the round trip, 10ms`},
		{Profile{Name: "out", DownKbps: 100, UpKbps: 100, OutageEvery: time.Second, OutageFor: time.Second}, `link "out": an outage of 1s every 1s`},
		{Profile{Name: "a,b", DownKbps: 100, UpKbps: 100}, `a name is one word`},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error with %q", c.p, err, c.want)
		}
		if _, err := Start(c.p, "127.0.0.1:0", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start %+v: %v; want an error with %q", c.p, err, c.want)
		}
	}
}

func TestParseNamesTheLinksThatExist(t *testing.T) {
	if ps, err := Parse("all"); err != nil || len(ps) != len(Profiles) {
		t.Errorf(`Parse("all") = %d profiles, %v; want %d`, len(ps), err, len(Profiles))
	}
	if ps, err := Parse(" 3g, slow-3g "); err != nil || len(ps) != 2 || ps[0].Name != "3g" || ps[1].Name != "slow-3g" {
		t.Errorf(`Parse("3g, slow-3g") = %v, %v`, ps, err)
	}
	if ps, err := Parse(""); err != nil || ps != nil {
		t.Errorf(`Parse("") = %v, %v; want none`, ps, err)
	}
	for list, want := range map[string]string{
		"5g":    `no link "5g": the links are loopback, cable, 4g, 3g, slow-3g, train`,
		"3g,3g": `link "3g" named twice`,
		"3g,":   `no link "": the links are`,
	} {
		if _, err := Parse(list); err == nil || err.Error() != want && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q): %v; want %q", list, err, want)
		}
	}
}

func TestATakenPortIsNamed(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p, _ := Lookup("3g")
	_, err = Start(p, taken.Addr().String(), "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "link 3g: "+taken.Addr().String()+" is taken") {
		t.Fatalf("Start on a taken port: %v; want it named", err)
	}
}

// TestARequestTakesTheRoundTrip: through a link of round trip R, a
// request and its answer take at least R, half on the way there and half
// on the way back.
func TestARequestTakesTheRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	const rtt = 200 * time.Millisecond
	l := startLink(t, fixed(rtt), srv.Listener.Addr().String())
	client := &http.Client{Timeout: wait, Transport: &http.Transport{}}
	for range 3 { // a new connection, then the same one kept alive
		start := time.Now()
		resp, err := client.Get("http://" + l.Addr() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); took < rtt || string(b) != "ok" {
			t.Fatalf("a request through a link of RTT %v took %v (%q); want at least the round trip", rtt, took, b)
		}
	}
}

// TestAnAnswerTakesItsSizeOverTheBandwidth: a 60 KB answer over 3G's
// 1.6 Mbit/s takes at least 300 ms beside its round trip.
func TestAnAnswerTakesItsSizeOverTheBandwidth(t *testing.T) {
	const size = 60_000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", size)))
	}))
	defer srv.Close()
	p, _ := Lookup("3g")
	l := startLink(t, p, srv.Listener.Addr().String())
	client := &http.Client{Timeout: wait}
	start := time.Now()
	resp, err := client.Get("http://" + l.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	transfer := time.Duration(size*8) * time.Millisecond / time.Duration(p.DownKbps)
	if err != nil || n != size || took < p.RTT+transfer {
		t.Fatalf("%d bytes (%v) through 3g took %v; want at least %v round trip + %v at %d kbit/s", n, err, took, p.RTT, transfer, p.DownKbps)
	}
	t.Logf("%d bytes through 3g: %v (at least %v)", size, took, p.RTT+transfer)
}

// TestAWebSocketDeliveryTakesHalfTheRoundTrip: a message published on the
// fast path reaches a WebSocket reader through a link of round trip R at
// least R/2 after it was published, where a reader on the server's own
// address gets it directly.
func TestAWebSocketDeliveryTakesHalfTheRoundTrip(t *testing.T) {
	transportstest.SkipOverTLS(t, "the link test dials ws:// itself")
	ts := transportstest.Start(t, nil)
	const rtt = 300 * time.Millisecond
	l := startLink(t, fixed(rtt), ts.Addr())
	dial := func(host string) *websocket.Conn {
		c, _, err := transportstest.WSDialer.Dial("ws://"+host+"/api/ws?since=0", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(wait))
		if _, b, err := c.ReadMessage(); err != nil || !strings.Contains(string(b), `"hello"`) {
			t.Fatalf("hello from %s: %q %v", host, b, err)
		}
		return c
	}
	direct, linked := dial(ts.Addr()), dial(l.Addr())
	published := time.Now()
	ts.Publish(t, `{"n":1}`)
	arrival := func(c *websocket.Conn) time.Duration {
		if _, b, err := c.ReadMessage(); err != nil || !strings.Contains(string(b), `"n":1`) {
			t.Fatalf("message: %q %v", b, err)
		}
		return time.Since(published)
	}
	d, k := arrival(direct), arrival(linked)
	if k < rtt/2 {
		t.Fatalf("through a link of RTT %v a WebSocket message came %v after its publish; want at least %v", rtt, k, rtt/2)
	}
	t.Logf("direct %v, through the link %v", d, k)
}

// TestATunnelHoldsEveryByteThenDeliversIt: a silent link closes nothing
// and loses nothing; what crossed it meanwhile, either way, arrives once
// it is back, in order, on the same connections.
func TestATunnelHoldsEveryByteThenDeliversIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	l := startLink(t, Profiles[0], ln.Addr().String())
	client, err := net.DialTimeout("tcp", l.Addr(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var server net.Conn
	select {
	case server = <-accepted:
		defer server.Close()
	case <-time.After(wait):
		t.Fatal("the link never connected upstream")
	}
	clientR, serverR := bufio.NewReader(client), bufio.NewReader(server)
	line := func(r *bufio.Reader, c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(wait))
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return s
	}
	io.WriteString(server, "before\n")
	if got := line(clientR, client); got != "before\n" {
		t.Fatalf("before the tunnel: %q", got)
	}

	const silent = 400 * time.Millisecond
	start := time.Now()
	l.Tunnel(silent)
	for i := range 3 {
		io.WriteString(server, "down "+string(rune('a'+i))+"\n")
	}
	io.WriteString(client, "up\n")
	// Nothing arrives while the link is silent: a read with a deadline
	// inside the tunnel times out, and the connection is still open.
	client.SetReadDeadline(start.Add(silent / 2))
	if b, err := clientR.ReadByte(); err == nil {
		t.Fatalf("read %q during the tunnel", b)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("during the tunnel: %v; want a read that times out", err)
	}
	clientR.Reset(client) // the timed-out read left the reader's error behind
	for i := range 3 {
		if got, want := line(clientR, client), "down "+string(rune('a'+i))+"\n"; got != want {
			t.Fatalf("after the tunnel: %q; want %q", got, want)
		}
	}
	if got := line(serverR, server); got != "up\n" {
		t.Fatalf("upstream after the tunnel: %q", got)
	}
	if took := time.Since(start); took < silent {
		t.Fatalf("the held bytes came %v after the tunnel began; want at least its %v", took, silent)
	}
	if l.Silent() {
		t.Fatal("the link is still silent after its tunnel")
	}
	io.WriteString(server, "after\n")
	if got := line(clientR, client); got != "after\n" {
		t.Fatalf("after the tunnel: %q", got)
	}
}

// TestATunnelDuringATunnelEndsAtTheLaterEnd: the silence lasts until the
// later of two tunnels' ends, not the first.
func TestATunnelDuringATunnelEndsAtTheLaterEnd(t *testing.T) {
	var g gate
	start := time.Now()
	g.shut(300 * time.Millisecond)
	g.shut(50 * time.Millisecond) // shorter: changes nothing
	g.shut(600 * time.Millisecond)
	shut := g.shutNow()
	select {
	case <-shut:
	case <-time.After(wait):
		t.Fatal("the gate never opened")
	}
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Fatalf("the gate opened after %v; want the later end, 600ms", took)
	}
}

// TestOutagesComeBackEveryPeriod: a profile with outages (the train) goes
// silent on its own, and comes back.
func TestOutagesComeBackEveryPeriod(t *testing.T) {
	p := fixed(0)
	p.OutageEvery, p.OutageFor = 100*time.Millisecond, 50*time.Millisecond
	l := startLink(t, p, "127.0.0.1:1")
	for range 2 {
		transportstest.Await(t, "an outage", l.Silent)
		transportstest.Await(t, "the end of the outage", func() bool { return !l.Silent() })
	}
	l.Close() // and again when the test ends, which does nothing
}
