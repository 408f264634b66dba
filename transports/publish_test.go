package transports_test

// Publishing (CONTRACT.md, "Publishing"), over HTTP and over WebSocket: the
// same questions first, the same data refused.

import (
	"encoding/json"
	"fourway/transports"
	"fourway/transports/transportstest"
	"fourway/transports/wire"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestPublish(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxMessage = 100 })
	cases := []struct {
		name, contentType, body string
		code                    int
		data                    string // the data the feed must carry, for 201
	}{
		{"JSON value becomes data, compacted", "application/json", `{"user": "ana", "text": "hi"}`, 201, `{"user":"ana","text":"hi"}`},
		{"JSON with charset", "application/json; charset=utf-8", `[1, 2]`, 201, `[1,2]`},
		{"JSON string", "application/json", `"x"`, 201, `"x"`},
		{"plain text becomes a JSON string", "text/plain", "hello", 201, `"hello"`},
		{"no content type is text", "", "hi there", 201, `"hi there"`},
		{"a form body is text too", "application/x-www-form-urlencoded", "a=1&b=2", 201, `"a=1&b=2"`},
		{"text with quotes and newlines stays one line", "text/plain", "say \"hi\"\nbye", 201, `"say \"hi\"\nbye"`},
		{"HTML is data, not markup, and not escaped", "text/plain", `<img src=x onerror=alert(1)>`, 201, `"<img src=x onerror=alert(1)>"`},
		{"exactly the limit", "application/json", `"` + strings.Repeat("a", 98) + `"`, 201, `"` + strings.Repeat("a", 98) + `"`},
		{"empty body", "text/plain", "", 400, ""},
		{"empty JSON body", "application/json", "", 400, ""},
		{"invalid JSON", "application/json", `{"a":`, 400, ""},
		{"two JSON values", "application/json", `1 2`, 400, ""},
		{"invalid UTF-8", "text/plain", "a\xffb", 400, ""},
		{"one byte over the limit", "application/json", `"` + strings.Repeat("a", 99) + `"`, 413, ""},
		{"far over the limit", "text/plain", strings.Repeat("a", 10000), 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := ts.Post(t, c.contentType, c.body)
			if code != c.code {
				t.Fatalf("status %d (%s), want %d", code, body, c.code)
			}
			if code != 201 {
				var e struct{ Error string }
				if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
					t.Fatalf("error answer %s is not a JSON error", body)
				}
				return
			}
			var ack struct {
				ID   uint64
				Time float64
			}
			if err := json.Unmarshal([]byte(body), &ack); err != nil || ack.ID == 0 || ack.Time == 0 {
				t.Fatalf("ack %s", body)
			}
			_, page, _ := ts.Get(t, "/api/poll?limit=1&since="+strconv.FormatUint(ack.ID-1, 10))
			var a wire.Page
			json.Unmarshal([]byte(page), &a)
			var m struct{ Data json.RawMessage }
			json.Unmarshal(a.Messages[0], &m)
			if string(m.Data) != c.data {
				t.Fatalf("data %s, want %s", m.Data, c.data)
			}
		})
	}
}

func TestPublishToken(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.PublishToken = "s3cret" })
	for _, c := range []struct {
		name, auth string
		code       int
	}{
		{"missing", "", 401},
		{"wrong", "Bearer nope", 401},
		{"not bearer", "Basic s3cret", 401},
		{"right", "Bearer s3cret", 201},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.auth != "" {
				hdr = []string{"Authorization", c.auth}
			}
			code, body := ts.Post(t, "", "hi", hdr...)
			if code != c.code {
				t.Fatalf("status %d %s, want %d", code, body, c.code)
			}
		})
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.PublishToken = "s3cret" })
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		if code, body := ts.Post(t, "", "hi", "Authorization", scheme+" s3cret"); code != 201 {
			t.Errorf("Authorization: %s s3cret: %d %s, want 201", scheme, code, body)
		}
	}
}

func TestPublishRateLimit(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.PublishRate = 1 })
	if code, body := ts.Post(t, "", "first"); code != 201 {
		t.Fatalf("first publish %d %s", code, body)
	}
	req := strings.NewReader("second")
	resp, err := http.Post(ts.URL+"/api/messages", "text/plain", req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("second publish within the second: %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestWSPublishNeedsTheTokenAndKeepsTheRate(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) {
		c.PublishToken = "s3cret"
		c.PublishRate = 1
	})
	publish := `{"type":"publish","data":"hi","ref":"r"}`

	anon := ts.DialWS(t, "")
	anon.Hello(t)
	anon.Send(t, publish)
	if b := anon.ReadText(t); !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), "token") {
		t.Fatalf("a publish without the token got %s, want an error frame about the token", b)
	}
	if _, resp, err := ts.TryDialWS(t, "token=wrong"); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("a wrong ?token: err %v, response %v; want 401 before the upgrade", err, resp)
	}

	byQuery := ts.DialWS(t, "token=s3cret")
	byQuery.Hello(t)
	byQuery.Send(t, publish)
	for { // the ack and the message itself, in either order
		if b := byQuery.ReadText(t); strings.Contains(string(b), `"type":"published"`) {
			break
		} else if strings.Contains(string(b), `"type":"error"`) {
			t.Fatalf("a publish with ?token= got %s", b)
		}
	}

	// The same address, another path: the rate is the client's, not the socket's.
	byHeader := ts.DialWS(t, "", "Authorization", "bearer s3cret")
	byHeader.Hello(t)
	byHeader.Send(t, publish)
	var refusal struct {
		Type, Error  string
		RetryAfterMS int64 `json:"retry_after_ms"`
	}
	for {
		b := byHeader.ReadText(t)
		if json.Unmarshal(b, &refusal) == nil && refusal.Type == "error" {
			break
		}
	}
	if refusal.RetryAfterMS <= 0 || refusal.RetryAfterMS > 1000 {
		t.Fatalf("over the rate: %+v, want retry_after_ms in (0, 1000]", refusal)
	}
	if code, body := ts.Post(t, "", "hi", "Authorization", "Bearer s3cret"); code != 429 {
		t.Fatalf("HTTP publish right after a WebSocket one: %d %s, want 429", code, body)
	}
	for range 10 { // a client that keeps going is closed
		byHeader.Send(t, publish)
	}
	byHeader.ClosedWith(t, websocket.ClosePolicyViolation)
	if last := ts.Stats(t).Feed.LastID; last != 1 {
		t.Fatalf("the feed holds %d messages, want the 1 publish that was allowed", last)
	}
}

func TestPoisonDataIsRefused(t *testing.T) {
	ts := transportstest.Start(t, nil)
	for _, c := range []struct{ name, data, want string }{
		{"nested 9,999 deep", strings.Repeat("[", 9999) + strings.Repeat("]", 9999), "nested"},
		{"nested 65 deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), "nested"},
		{"a number no float64 holds", `[1e999]`, "float"},
		{"a negative one", `{"n":-1e400}`, "float"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, body := ts.Post(t, "application/json", c.data); code != 400 || !strings.Contains(body, c.want) {
				t.Fatalf("HTTP: %d %s, want 400 mentioning %q", code, body, c.want)
			}
			ws, _ := ts.DialWSHello(t, "")
			ws.Send(t, `{"type":"publish","data":`+c.data+`}`)
			if b := ws.ReadText(t); !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), c.want) {
				t.Fatalf("WebSocket: %.200s, want an error mentioning %q", b, c.want)
			}
		})
	}
	if code, body := ts.Post(t, "application/json", strings.Repeat("[", 64)+strings.Repeat("]", 64)); code != 201 {
		t.Fatalf("64 deep: %d %s, want 201", code, body)
	}
	if last := ts.Stats(t).Feed.LastID; last != 1 {
		t.Fatalf("the feed has %d messages, want only the 64-deep one", last)
	}
}

func TestTextIsNotHTMLEscaped(t *testing.T) {
	ts := transportstest.Start(t, func(c *transports.Config) { c.MaxMessage = 30000 })
	text := strings.Repeat("<&>", 7000) // 21 KB of text, 126 KB if escaped
	if code, body := ts.Post(t, "text/plain", text); code != 201 {
		t.Fatalf("21 KB of text: %d %.200s, want 201", code, body)
	}
	_, body, _ := ts.Get(t, "/api/poll?since=0")
	if !strings.Contains(body, `"data":"<&><&>`) {
		t.Fatalf("the message is %.100s..., want the text as it was", body)
	}
}
