package transports

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"fourway/feed"
)

func TestParseCursor(t *testing.T) {
	cases := []struct {
		in     string
		want   uint64
		ok     bool
		hasErr bool
	}{
		{"", 0, false, false},
		{"0", 0, true, false},
		{"42", 42, true, false},
		{"007", 7, true, false},
		{"18446744073709551615", 1<<64 - 1, true, false},
		{"18446744073709551616", 0, false, true},
		{"-1", 0, false, true},
		{"+1", 0, false, true},
		{"1.5", 0, false, true},
		{"1e3", 0, false, true},
		{"0x10", 0, false, true},
		{" 1", 0, false, true},
		{"abc", 0, false, true},
	}
	for _, c := range cases {
		got, ok, err := parseCursor("since", c.in)
		if got != c.want || ok != c.ok || (err != nil) != c.hasErr {
			t.Errorf("parseCursor(%q) = %d, %v, %v; want %d, %v, error %v", c.in, got, ok, err, c.want, c.ok, c.hasErr)
		}
	}
}

func TestAppendPageBytes(t *testing.T) {
	m := func(id uint64) feed.Message { return feed.Message{ID: id, JSON: feed.Encode(id, 1.5, []byte(`"x"`))} }
	cases := []struct {
		page feed.Page
		want string
	}{
		{feed.Page{Epoch: "k3x9AbCd", Next: 7}, `{"epoch":"k3x9AbCd","messages":[],"next":7}`},
		{feed.Page{Epoch: "k3x9AbCd", Messages: []feed.Message{m(8), m(9)}, Next: 9},
			`{"epoch":"k3x9AbCd","messages":[{"id":8,"time":1.500,"data":"x"},{"id":9,"time":1.500,"data":"x"}],"next":9}`},
		{feed.Page{Epoch: "k3x9AbCd", Messages: []feed.Message{m(4)}, Next: 4, Missed: 2},
			`{"epoch":"k3x9AbCd","messages":[{"id":4,"time":1.500,"data":"x"}],"next":4,"missed":2}`},
		{feed.Page{Epoch: "k3x9AbCd", Next: 0, Reset: true}, `{"epoch":"k3x9AbCd","messages":[],"next":0,"reset":true}`},
		{feed.Page{Epoch: "k3x9AbCd", Messages: []feed.Message{m(1)}, Next: 1, More: true},
			`{"epoch":"k3x9AbCd","messages":[{"id":1,"time":1.500,"data":"x"}],"next":1,"more":true}`},
		{feed.Page{Epoch: "-_", Messages: []feed.Message{m(4)}, Next: 4, Missed: 3, Reset: true, More: true},
			`{"epoch":"-_","messages":[{"id":4,"time":1.500,"data":"x"}],"next":4,"missed":3,"reset":true,"more":true}`},
	}
	for _, c := range cases {
		if got := string(appendPage(nil, c.page)); got != c.want {
			t.Errorf("appendPage = %s\nwant %s", got, c.want)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	for _, c := range []struct {
		in, want string
		hasErr   bool
	}{
		{"", "", false}, // none: no check
		{"k3x9AbCd", "k3x9AbCd", false},
		{"a", "a", false},
		{"A-z_09", "A-z_09", false},
		{strings.Repeat("e", 32), strings.Repeat("e", 32), false},
		{strings.Repeat("e", 33), "", true},
		{"a.b", "", true},
		{"a:b", "", true},
		{"a b", "", true},
		{" a", "", true},
		{"é", "", true},
		{"a/b", "", true},
		{"a+b", "", true},
		{"a=", "", true},
	} {
		got, err := parseEpoch("epoch", c.in)
		if got != c.want || (err != nil) != c.hasErr {
			t.Errorf("parseEpoch(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.hasErr)
		}
		if err != nil && !strings.Contains(err.Error(), "epoch") {
			t.Errorf("parseEpoch(%q): error %q does not name the parameter", c.in, err)
		}
	}
}

func TestParseEventID(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   position
		hasErr bool
	}{
		{"k3x9AbCd:42", position{epoch: "k3x9AbCd", cursor: 42}, false},
		{"k3x9AbCd:0", position{epoch: "k3x9AbCd", cursor: 0}, false},
		{"42", position{cursor: 42}, false}, // a bare cursor: no epoch check
		{"0", position{cursor: 0}, false},
		{"e:18446744073709551615", position{epoch: "e", cursor: 1<<64 - 1}, false},
		{"e:18446744073709551616", position{}, true},
		{":42", position{}, true},
		{"k3x9AbCd:", position{}, true},
		{"k3x9AbCd:-1", position{}, true},
		{"k3x9AbCd:+1", position{}, true},
		{"k3x9AbCd: 1", position{}, true},
		{"k3x9AbCd:1:2", position{}, true},
		{"a.b:1", position{}, true},
		{strings.Repeat("e", 33) + ":1", position{}, true},
		{"abc", position{}, true},
		{"1.5", position{}, true},
		{"", position{}, true},
	} {
		got, err := parseEventID("Last-Event-ID", c.in)
		if got != c.want || (err != nil) != c.hasErr {
			t.Errorf("parseEventID(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.hasErr)
		}
		if err != nil && !strings.Contains(err.Error(), "Last-Event-ID") {
			t.Errorf("parseEventID(%q): error %q does not name the header", c.in, err)
		}
	}
}

func TestEventIDIsReadBack(t *testing.T) {
	for _, p := range []position{{"k3x9AbCd", 0}, {"k3x9AbCd", 42}, {"-_", 1<<64 - 1}} {
		id := eventID(p.epoch, p.cursor)
		if want := p.epoch + ":" + strconv.FormatUint(p.cursor, 10); string(id) != want {
			t.Errorf("eventID(%q, %d) = %q, want %q", p.epoch, p.cursor, id, want)
		}
		if got, err := parseEventID("Last-Event-ID", string(id)); err != nil || got != p {
			t.Errorf("parseEventID(%q) = %+v, %v; want %+v", id, got, err, p)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	s := newServer(t, 1, func(c *Config) { c.AllowedOrigins = []string{"http://localhost:3000", "https://app.example/"} })
	cases := []struct {
		host, origin string
		ok           bool
	}{
		{"127.0.0.1:8080", "", true}, // not a browser
		{"127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"127.0.0.1:8080", "https://127.0.0.1:8080", false}, // the scheme is part of the origin
		{"127.0.0.1:8080", "ws://127.0.0.1:8080", false},
		{"127.0.0.1:8080", "127.0.0.1:8080", false},
		{"127.0.0.1:8080", "http://localhost:8080", false}, // another host name is another origin
		{"127.0.0.1:8080", "http://127.0.0.1:9999", false},
		{"127.0.0.1:8080", "http://localhost:3000", true},
		{"127.0.0.1:8080", "https://app.example", true},
		{"127.0.0.1:8080", "http://app.example", false},
		{"127.0.0.1:8080", "null", false},
		{"127.0.0.1:8080", "http://evil.example", false},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "http://"+c.host+"/api/ws", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := s.originAllowed(r); got != c.ok {
			t.Errorf("Host %s, Origin %q: allowed = %v, want %v", c.host, c.origin, got, c.ok)
		}
	}
}
