package targets

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"fourway/bench/load"
	"fourway/transports/wire"
)

// -url: a fourway the bench did not start, such as one behind nginx. Every
// transport is measured the same way; the server's CPU and memory are not
// the bench's to read, unless -pids names its processes.

// procName is a process's command name (/proc/PID/comm) and id: "nginx 812".
func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	name := strings.TrimSpace(string(b))
	if err != nil || name == "" {
		name = "pid"
	}
	return fmt.Sprintf("%s %d", name, pid)
}

// pidParts are -pids as the processes of an external server: each its
// own CPU and memory.
func pidParts(pids []int) func() []load.ProcPart {
	if len(pids) == 0 {
		return nil
	}
	parts := make([]load.ProcPart, len(pids))
	for i, p := range pids {
		parts[i] = load.ProcPart{Name: procName(p), CPU: []int{p}, RSS: []int{p}}
	}
	return func() []load.ProcPart { return parts }
}

// checkFourwayURL makes sure base answers as fourway does: GET
// /api/config is fourway's configuration (poll limits, the SSE writer,
// the WebSocket close codes). A server that is not there, or is not
// fourway, stops the run before any scenario with what it answered.
func checkFourwayURL(ctx context.Context, base, proto string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/config", nil)
	if err != nil {
		return fmt.Errorf("-url %s: %w", base, err)
	}
	c := load.PublisherClient(proto, 1)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("-url %s: cannot reach it: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	notFourway := func(why string) error {
		return fmt.Errorf("-url %s does not look like fourway: GET /api/config %s (is the URL fourway's base, the page's address?)", base, why)
	}
	if resp.StatusCode != http.StatusOK {
		return notFourway(fmt.Sprintf("answered %s: %s", resp.Status, tail(body, 200)))
	}
	var cfg wire.Config
	if err := json.Unmarshal(body, &cfg); err != nil {
		return notFourway(fmt.Sprintf("answered %d bytes of %s that are not fourway's JSON: %v", len(body), resp.Header.Get("Content-Type"), err))
	}
	if cfg.Poll.LimitMax <= 0 || len(cfg.WS.CloseCodes) == 0 || cfg.SSE.Writer == "" {
		return notFourway("answered JSON without poll.limit_max, ws.close_codes and sse.writer")
	}
	if cfg.PublishNeedsToken {
		return fmt.Errorf("-url %s: this fourway needs a token to publish (--publish-token), and the bench publishes without one", base)
	}
	return nil
}
