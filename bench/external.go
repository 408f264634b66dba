package main

// -url: a fourway the bench did not start, such as one behind nginx. Every
// transport is measured the same way; the server's CPU and memory are not
// the bench's to read, unless -pids names its processes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"fourway/transports/wire"
)

// checkURL refuses a -url that cannot name a fourway: not http(s), no
// host, or a query or fragment the bench's paths would be appended after.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("-url %q: want an http:// or https:// base URL, such as http://127.0.0.1:8080", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("-url %q: no host", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Errorf("-url %q: a base URL has no query or fragment: the bench appends /api/... to it", raw)
	case u.User != nil:
		return fmt.Errorf("-url %q: no user information in the URL", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("-url %q: port %q is not 1 to 65535", raw, p)
		}
	}
	return nil
}

// parsePIDs reads -pids: process ids, comma-separated, each a process
// running now.
func parsePIDs(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-pids: %q is not a process id", f)
		}
		if _, err := procCPU(n); err != nil {
			return nil, fmt.Errorf("-pids: no process %d to read (/proc/%d/stat): %v", n, n, err)
		}
		if seen[n] {
			return nil, fmt.Errorf("-pids: %d given twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-pids %q names no process", s)
	}
	return out, nil
}

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
func pidParts(pids []int) func() []procPart {
	if len(pids) == 0 {
		return nil
	}
	parts := make([]procPart, len(pids))
	for i, p := range pids {
		parts[i] = procPart{Name: procName(p), CPU: []int{p}, RSS: []int{p}}
	}
	return func() []procPart { return parts }
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
	c := publisherClient(proto, 1)
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
