package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPublish(t *testing.T) {
	ts := startServer(t, "--max-message", "100")
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
			code, body := postMessage(t, ts.URL, c.contentType, c.body)
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
			_, page, _ := getRaw(t, ts.URL+"/api/poll?limit=1&since="+itoa(ack.ID-1))
			var a pollAnswer
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
	ts := startServer(t, "--publish-token", "s3cret")
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
			code, body := postMessage(t, ts.URL, "", "hi", hdr...)
			if code != c.code {
				t.Fatalf("status %d %s, want %d", code, body, c.code)
			}
		})
	}
}

func TestPublishRateLimit(t *testing.T) {
	ts := startServer(t, "--publish-rate", "1")
	if code, body := postMessage(t, ts.URL, "", "first"); code != 201 {
		t.Fatalf("first publish %d %s", code, body)
	}
	req := strings.NewReader("second")
	resp, err := httpPost(ts.URL+"/api/messages", req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("second publish within the second: %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
