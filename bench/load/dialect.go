package load

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"fourway/transports/wire"
)

// dialect is how the bench talks to one kind of server.
type dialect interface {
	name() string
	publish(ctx context.Context, c *http.Client, base string, data []byte) error
	primer(ctx context.Context, c *http.Client, base string) (cursor string, err error)
	subscriber(transport string) func(context.Context, *sub)
	// config is the server's settings the page's clients follow: its
	// long poll's hold, its WebSocket heartbeat.
	config(ctx context.Context, c *http.Client, base string) (wire.Config, error)
}

// postJSON POSTs a JSON body to url and returns the answer's status and body.
func postJSON(ctx context.Context, c *http.Client, url string, data []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
