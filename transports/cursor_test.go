package transports

import (
	"net/http"
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
		{feed.Page{Next: 7}, `{"messages":[],"next":7}`},
		{feed.Page{Messages: []feed.Message{m(8), m(9)}, Next: 9},
			`{"messages":[{"id":8,"time":1.500,"data":"x"},{"id":9,"time":1.500,"data":"x"}],"next":9}`},
		{feed.Page{Messages: []feed.Message{m(4)}, Next: 4, Missed: 2}, `{"messages":[{"id":4,"time":1.500,"data":"x"}],"next":4,"missed":2}`},
		{feed.Page{Next: 0, Reset: true}, `{"messages":[],"next":0,"reset":true}`},
	}
	for _, c := range cases {
		if got := string(appendPage(nil, c.page)); got != c.want {
			t.Errorf("appendPage = %s\nwant %s", got, c.want)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	s := New(feed.NewMemory(1), Config{AllowedOrigins: []string{"http://localhost:3000", "https://app.example/"}})
	cases := []struct {
		host, origin string
		ok           bool
	}{
		{"127.0.0.1:8080", "", true}, // not a browser
		{"127.0.0.1:8080", "http://127.0.0.1:8080", true},
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
