package transports_test

// The API's surface (routes.go): what a client must know of the server's
// settings, and the errors of requests the API has no answer for.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// TestConfigSaysWhatAClientMustKnow: GET /api/config says the server's own
// settings, so the page repeats none of them: the poll limits, the long
// poll's hold, SSE's retry, keepalive and writer, the WebSocket heartbeat and the
// close-code table, what a heartbeat period costs on the wire, the
// ticker's period (off in transportstest), the message limit and whether
// publishing needs a token.
func TestConfigSaysWhatAClientMustKnow(t *testing.T) {
	const codes = `"close_codes":[` +
		`{"code":1001,"meaning":"@","reconnect":"backoff"},{"code":1003,"meaning":"@","reconnect":"never"},` +
		`{"code":1007,"meaning":"@","reconnect":"never"},{"code":1008,"meaning":"@","reconnect":"never"},{"code":1009,"meaning":"@","reconnect":"never"},` +
		`{"code":1012,"meaning":"@","reconnect":"now"},` +
		`{"code":1013,"meaning":"@","reconnect":"backoff"},{"code":4001,"meaning":"@","reconnect":"now"},` +
		`{"code":4500,"meaning":"@","reconnect":"never"}]`
	cases := []struct {
		name string
		set  func(*transports.Config)
		want string // the body, each close code's meaning written @
	}{
		{"the defaults", nil, `{"poll":{"limit_default":100,"limit_max":1000},` +
			`"longpoll":{"timeout_ms":30000,"timeout_max_ms":120000,"writer":"nethttp"},"sse":{"retry_ms":2000,"keepalive_ms":15000,"writer":"r3labs"},` +
			`"ws":{"heartbeat_ms":25000,` + codes + `},"heartbeats":{"sse_bytes":13,"ws_bytes":46},"ticker_ms":0,"max_message":65536,"publish_needs_token":false,"compress":false}`},
		{"its own settings", func(c *transports.Config) {
			c.LongPollTimeout, c.SSEKeepalive, c.Heartbeat = 7*time.Second, 1500*time.Millisecond, 4*time.Second
			c.MaxMessage, c.PublishToken, c.SSEWriter, c.LongPollWriter = 1000, "s3cret", "direct", "direct"
		}, `{"poll":{"limit_default":100,"limit_max":1000},` +
			`"longpoll":{"timeout_ms":7000,"timeout_max_ms":120000,"writer":"direct"},"sse":{"retry_ms":2000,"keepalive_ms":1500,"writer":"direct"},` +
			`"ws":{"heartbeat_ms":4000,` + codes + `},"heartbeats":{"sse_bytes":13,"ws_bytes":46},"ticker_ms":0,"max_message":1000,"publish_needs_token":true,"compress":false}`},
		{"compressing", func(c *transports.Config) { c.Compress = true }, `{"poll":{"limit_default":100,"limit_max":1000},` +
			`"longpoll":{"timeout_ms":30000,"timeout_max_ms":120000,"writer":"nethttp"},"sse":{"retry_ms":2000,"keepalive_ms":15000,"writer":"r3labs"},` +
			`"ws":{"heartbeat_ms":25000,` + codes + `},"heartbeats":{"sse_bytes":13,"ws_bytes":46},"ticker_ms":0,"max_message":65536,"publish_needs_token":false,"compress":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := transportstest.Start(t, tc.set)
			code, body, resp := ts.Get(t, "/api/config")
			if code != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET /api/config: %d, Cache-Control %q; want 200 and no-store", code, resp.Header.Get("Cache-Control"))
			}
			// The meanings are words for people: each must be there, whatever it says.
			var c struct {
				WS struct {
					CloseCodes []struct{ Meaning string } `json:"close_codes"`
				}
			}
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			got := body
			for _, cc := range c.WS.CloseCodes {
				if cc.Meaning == "" {
					t.Errorf("a close code without its meaning: %s", body)
				}
				got = strings.Replace(got, `"meaning":`+jsonQuote(t, cc.Meaning), `"meaning":"@"`, 1)
			}
			if got = strings.TrimSpace(got); got != tc.want {
				t.Errorf("GET /api/config:\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

func jsonQuote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRequestsWithNoRouteGetJSONErrors: a path the API does not have is
// 404 and a method a path does not take is 405, each with the contract's
// JSON error, like every other error; a HEAD gets the status alone.
func TestRequestsWithNoRouteGetJSONErrors(t *testing.T) {
	ts := transportstest.Start(t, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/nope", http.StatusNotFound},
		{"GET", "/", http.StatusNotFound}, // no page served: Config.Static is nil
		{"DELETE", "/api/messages", http.StatusMethodNotAllowed},
		{"POST", "/api/poll", http.StatusMethodNotAllowed},
		{"PUT", "/api/stats", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			transportstest.JSONError(t, resp, body, tc.status)
		})
	}
	resp, err := http.Head(ts.URL + "/api/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.ContentLength > 0 {
		t.Errorf("HEAD /api/nope: %d with %d bytes, want 404 and no body", resp.StatusCode, resp.ContentLength)
	}
}
