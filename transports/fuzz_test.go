package transports

// Fuzz targets for everything a client sends: cursors, epochs, event ids,
// the polls' query, publish bodies and WebSocket frames. Each is seeded
// with the hostile cases of issue 7; CI runs each for a bounded time
// (.ci/run), and a crasher found goes into testdata/fuzz as a seed.

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

var hostileCursors = []string{"", "0", "42", "007", "18446744073709551615", "18446744073709551616", "-1", "+1",
	"1.5", "1e3", "0x10", " 1", "1 ", "abc", "\x00", "٣", "9999999999999999999999999"}

func FuzzParseCursor(f *testing.F) {
	for _, s := range hostileCursors {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, err := parseCursor("since", s)
		if err != nil || !ok {
			return
		}
		if back, _, err := parseCursor("since", strconv.FormatUint(n, 10)); err != nil || back != n {
			t.Fatalf("%q -> %d does not round-trip", s, n)
		}
		if strings.Trim(s, "0123456789") != "" {
			t.Fatalf("accepted %q, which is not only digits", s)
		}
	})
}

func FuzzParseEventID(f *testing.F) {
	for _, s := range hostileCursors {
		f.Add(s)
	}
	for _, s := range []string{"k3x9:42", ":42", "k3x9:", "a:b:1", strings.Repeat("e", 33) + ":1", "e-_:0", "é:1", "k3x9:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := parseEpoch("epoch", s); err == nil && e != "" && (len(e) > maxEpoch || strings.ContainsAny(e, ": \x00")) {
			t.Fatalf("parseEpoch accepted %q", s)
		}
		pos, err := parseEventID("Last-Event-ID", s)
		if err != nil {
			return
		}
		id := string(eventID(pos.epoch, pos.cursor))
		if pos.epoch == "" {
			id = strings.TrimPrefix(id, ":")
		}
		if back, err := parseEventID("Last-Event-ID", id); err != nil || back != pos {
			t.Fatalf("%q -> %+v -> %q does not round-trip (%v)", s, pos, id, err)
		}
	})
}

// FuzzPollQuery throws whole query strings at the polls' parameters.
func FuzzPollQuery(f *testing.F) {
	for _, q := range []string{"since=0&limit=5", "limit=0", "limit=1001", "limit=-1", "limit=1e3", "timeout=121",
		"timeout=0", "timeout=99999999999999999999", "since=1&epoch=k3x9", "epoch=" + strings.Repeat("a", 33),
		"epoch=a%3Ab", "since=%00", "since=1&since=2", "limit=%20%31"} {
		f.Add(q)
	}
	s := newServer(f, 10, nil)
	e := echo.New()
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := url.ParseQuery(q); err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/api/poll", nil)
		r.URL.RawQuery = q // as net/http hands it over, spaces and all
		c := e.NewContext(r, httptest.NewRecorder())
		_, limit, err := s.pollParams(c)
		if err == nil && (limit < 1 || limit > maxLimit) {
			t.Fatalf("?%s: limit %d accepted", q, limit)
		}
		if secs, err := parseInt(c, "timeout", 0, 1, maxLongPollTimeout); err == nil && c.QueryParam("timeout") != "" && (secs < 1 || secs > maxLongPollTimeout) {
			t.Fatalf("?%s: timeout %d accepted", q, secs)
		}
	})
}

// FuzzPublish checks that whatever is accepted can be read back by any Go
// poller: the page that carries it decodes with encoding/json.
func FuzzPublish(f *testing.F) {
	for _, b := range []string{`{"user":"ana","text":"hi"}`, `"x"`, `[1e999]`, `{"n":-1e400}`, `1e-400`, `{} {}`, ``, "\xff",
		strings.Repeat("[", 9999) + strings.Repeat("]", 9999), strings.Repeat("[", 64) + strings.Repeat("]", 64),
		`{"a":"\ud800"}`, "<img src=x onerror=alert(1)>", `12345678901234567890123456789`} {
		f.Add("application/json", []byte(b))
		f.Add("text/plain", []byte(b))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		s := newServer(t, 4, func(c *Config) { c.MaxMessage = 4096 })
		fd := s.feed
		data, err := publishBody(contentType, body)
		if err != nil {
			return
		}
		m, err := s.publish(data)
		if err != nil {
			return
		}
		page := appendPage(nil, fd.Read("", m.ID-1, 10))
		var p struct{ Messages []json.RawMessage }
		if err := json.Unmarshal(page, &p); err != nil || len(p.Messages) != 1 {
			t.Fatalf("published %q, but its page %q does not decode: %v", body, page, err)
		}
	})
}

// FuzzWSFrame checks that every frame a client sends is answered with one
// well-formed frame, never a panic.
func FuzzWSFrame(f *testing.F) {
	for _, fr := range []string{`ping`, `{"type":"ping"}`, `{"type":"publish","data":"hi","ref":"r1"}`, `{"type":"publish"}`,
		`{"type":"publish","data":[1e999]}`, `{"type":"publish","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{"type":"nope"}`, `{"type":"publish","data":1,"ref":{"a":[1,2]}}`, `null`, `[]`, "\xff\xfe", `{"type":"publish","data":"x","ref":"\ud800"}`} {
		f.Add([]byte(fr))
	}
	s := newServer(f, 4, func(c *Config) { c.MaxMessage, c.PublishRate = 4096, 1e6 })
	f.Fuzz(func(t *testing.T, frame []byte) {
		wc := &wsConn{s: s, addr: "192.0.2.1"}
		reply, _ := wc.handleFrame(frame)
		if string(reply) == "pong" {
			return
		}
		var r struct{ Type string }
		if err := json.Unmarshal(reply, &r); err != nil || r.Type == "" {
			t.Fatalf("frame %q got reply %q (%v), want a JSON frame with a type", frame, reply, err)
		}
	})
}
