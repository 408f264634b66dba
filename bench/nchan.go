package main

import (
	"bytes"
	"context"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"fourway/transports"
	"fourway/transports/wire"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nchan speaks to nginx + Nchan as configured in nchan/nginx.conf: one
// channel, published with POST /pub, read over /sub/poll (interval poll),
// /sub/longpoll, /sub/sse and /sub/ws.
//
// Nchan's ways differ from fourway's, and the bench follows them:
//   - a message id is "<unix seconds>:<tag>", not a counter; the bench checks
//     loss and duplicates with the seq it puts in every message's data, on
//     both servers alike;
//   - a poll or long-poll response carries one message: the client asks
//     again at once after a 200, and an interval poll ends its tick on 304;
//   - the cursor travels as Last-Modified + Etag, sent back as
//     If-Modified-Since + If-None-Match, or as Last-Event-ID;
//   - SSE needs Accept: text/event-stream; WebSocket carries ids only with
//     the ws+meta.nchan subprotocol, which the bench uses so that both
//     servers' WebSockets can resume;
//   - nothing signals a gap: a cursor older than the buffer silently skips.
type nchan struct{}

func (nchan) name() string { return "nchan" }

func (nchan) publish(ctx context.Context, c *http.Client, base string, data []byte) error {
	status, _, err := postJSON(ctx, c, base+"/pub", data)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusAccepted { // 202: no subscriber yet
		return fmt.Errorf("publish: %d", status)
	}
	return nil
}

// primer publishes a message and returns its id, read back from the
// channel's info (Nchan's publish answer carries none for this use).
func (n nchan) primer(ctx context.Context, c *http.Client, base string) (string, error) {
	if err := n.publish(ctx, c, base, []byte(`{"primer":true}`)); err != nil {
		return "", fmt.Errorf("primer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/pub", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("channel info: %w", err)
	}
	defer resp.Body.Close()
	var info struct {
		LastMessageID string `json:"last_message_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.LastMessageID == "" {
		return "", fmt.Errorf("channel info: %s %v", resp.Status, err)
	}
	return info.LastMessageID, nil
}

func (nchan) subscriber(transport string) func(context.Context, *sub) {
	switch transport {
	case "poll":
		return nchanPoll
	case "longpoll":
		return nchanLongPoll
	case "sse":
		return nchanSSE
	case "ws":
		return nchanWS
	}
	return nil
}

// nchanCursor is where a poll client is: the id it started from, then the
// Last-Modified and Etag of the last answer.
type nchanCursor struct {
	id, lastModified, etag string
}

func (c *nchanCursor) set(req *http.Request) {
	if c.lastModified != "" {
		req.Header.Set("If-Modified-Since", c.lastModified)
		req.Header.Set("If-None-Match", c.etag)
		return
	}
	req.Header.Set("If-None-Match", c.id) // "<seconds>:<tag>" alone
}

func (c *nchanCursor) update(resp *http.Response) {
	if lm, et := resp.Header.Get("Last-Modified"), resp.Header.Get("Etag"); lm != "" && et != "" {
		c.lastModified, c.etag = lm, et
	}
}

// nchanGet sends one poll and returns the message body, or nil on 304.
func nchanGet(ctx context.Context, s *sub, c *http.Client, path string, cur *nchanCursor, onWritten func()) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, err
	}
	cur.set(req)
	resp, err := s.do(ctx, c, req, onWritten)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		cur.update(resp)
		return body, nil
	case http.StatusNotModified, http.StatusRequestTimeout:
		cur.update(resp)
		return nil, nil
	}
	return nil, fmt.Errorf("%s %s", path, resp.Status)
}

func nchanPoll(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur := &nchanCursor{id: s.cursor}
	var k int64
	for s.waitTick(ctx, &k) {
		for { // one message per answer: ask again until 304
			before := s.snapshot()
			body, err := nchanGet(ctx, s, c, "/sub/poll", cur, nil)
			if isPermanent(err) {
				s.giveUp(ctx, err)
				return
			}
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			s.markReady()
			if body == nil {
				s.exchange(before)
				break
			}
			s.got(body)
			s.unit()
			s.exchange(before)
		}
	}
}

func nchanLongPoll(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	cur := &nchanCursor{id: s.cursor}
	for ctx.Err() == nil {
		before := s.snapshot()
		body, err := nchanGet(ctx, s, c, "/sub/longpoll", cur, s.markReady)
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if body != nil {
			s.got(body)
			s.unit()
		}
		s.exchange(before)
	}
}

func nchanSSE(ctx context.Context, s *sub) {
	c := s.w.httpClient(s.proto)
	defer c.CloseIdleConnections()
	lastID := s.cursor
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/sub/sse", nil)
		if err != nil {
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", lastID)
		resp, err := s.do(ctx, c, req, nil)
		if isPermanent(err) {
			s.giveUp(ctx, err)
			return
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			s.retryPause(ctx, errors.New("sse: "+resp.Status))
			continue
		}
		// Nchan sends no hello event: the stream is ready with its headers.
		s.connected(before)
		s.markReady()
		err = readNchanSSE(s, resp.Body, &lastID)
		resp.Body.Close()
		s.retryPause(ctx, err)
	}
}

// readNchanSSE reads one stream until it ends: every event with data is a
// message, and its id is what the next connection sends back.
func readNchanSSE(s *sub, body io.Reader, lastID *string) error {
	r := wire.NewSSEReader(body)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if ev.Data != nil {
			s.got(ev.Data)
			s.unit()
		}
		if ev.ID != "" {
			*lastID = ev.ID
		}
	}
}

func nchanWS(ctx context.Context, s *sub) {
	d := wsDialer(s, "ws+meta.nchan")
	wsBase := "ws" + strings.TrimPrefix(s.base, "http")
	lastID := s.cursor
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.reconnects++
		}
		before := s.snapshot()
		s.w.requests.Add(1)
		conn, resp, err := d.DialContext(ctx, wsBase+"/sub/ws?last_event_id="+url.QueryEscape(lastID), s.headers)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			s.retryPause(ctx, err)
			continue
		}
		if err := checkWSProto(s, conn, resp); err != nil {
			conn.Close()
			s.giveUp(ctx, err)
			return
		}
		s.connected(before)
		s.markReady()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		var buf bytes.Buffer
		for {
			b, err := wire.ReadFrame(conn, &buf)
			if err != nil {
				s.retryPause(ctx, err)
				break
			}
			// ws+meta.nchan: "id: <id>\ncontent-type: <type>\n\n<body>"
			meta, body, ok := bytes.Cut(b, []byte("\n\n"))
			if !ok {
				s.anomalies++
				continue
			}
			if id, ok := bytes.CutPrefix(meta, []byte("id: ")); ok {
				id, _, _ = bytes.Cut(id, []byte("\n"))
				lastID = string(id)
			}
			s.got(body)
			s.unit()
		}
		stop()
		conn.Close()
	}
}

// The peer is started from nchan/nginx.conf in a fresh temporary prefix,
// as a child process of the bench (daemon off), on a free loopback port.

//go:embed nchan/nginx.conf
var nginxConf string

const (
	defaultNginx  = "/usr/sbin/nginx"
	nchanModule   = "/usr/lib/nginx/modules/ngx_nchan_module.so"
	nchanPackages = "nginx libnginx-mod-nchan"
)

// nchanMissing says what is missing to run the peer, or "" if nothing is.
func nchanMissing(nginx string) string {
	if _, err := os.Stat(nginx); err != nil {
		return nginx + " not found: install the Debian packages " + nchanPackages
	}
	if _, err := os.Stat(nchanModule); err != nil {
		return nchanModule + " not found: install the Debian packages " + nchanPackages
	}
	return ""
}

// nchanConnections is the worker_connections a scenario needs: the
// subscribers' and publishers' connections and a margin, and never fewer
// than the 20,000 nchan/nginx.conf is read with by hand (start.sh).
func nchanConnections(sc Scenario) int { return max(20000, int(filesNeeded(sc))) }

// startNchan starts nginx + Nchan with room for connections at once: its
// worker_connections, and twice that in worker_rlimit_nofile (an upstream
// or a temp file may hold a descriptor beside a connection). nginx starts
// as root here and sets its worker's limit before dropping to www-data;
// started as another user, nginx logs that it could not, and connections
// past the hard limit fail.
func startNchan(ctx context.Context, nginx string, connections int, proto string) (*server, error) {
	if m := nchanMissing(nginx); m != "" {
		return nil, errors.New(m)
	}
	dir, addr, user, err := nginxPrefix("fourway-nchan-")
	if err != nil {
		return nil, err
	}
	var tlsDir string
	if protoTLS(proto) {
		if err := writeSelfSigned(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		tlsDir = dir
	}
	base := schemeFor(proto) + "://" + addr
	master, stop, err := runNginx(ctx, nginx, dir, nchanConfig(addr, user, connections, proto, tlsDir), base+"/nchan_stub_status", proto)
	if err != nil {
		return nil, err
	}
	return &server{
		base:  base,
		parts: func() []procPart { return []procPart{nginxPart("nginx", master)} },
		stop:  stop,
	}, nil
}

// nginxPrefix makes a fresh temporary prefix for an nginx (its logs and
// temp files) and picks a free loopback address for it to listen on. user
// is the "user" line nginx needs when it starts as root.
func nginxPrefix(pattern string) (dir, addr, user string, err error) {
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return "", "", "", err
	}
	// Workers run as www-data when nginx starts as root: they must reach
	// the prefix and write their temp files.
	_ = os.Chmod(dir, 0o755)
	for _, d := range []string{"logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o777); err != nil {
			os.RemoveAll(dir)
			return "", "", "", err
		}
		_ = os.Chmod(filepath.Join(dir, d), 0o777)
	}
	ln, err := listenLoopback()
	if err != nil {
		os.RemoveAll(dir)
		return "", "", "", err
	}
	addr = ln.Addr().String()
	ln.Close() // nginx binds it a moment later; loopback ports are not reused that fast
	if os.Geteuid() == 0 {
		user = "user www-data;"
	}
	return dir, addr, user, nil
}

// runNginx writes conf into the prefix dir and runs nginx on it as a child
// (daemon off) until readyURL answers 200 and a worker runs. stop ends it
// gracefully and removes dir; dir is removed on error too.
func runNginx(ctx context.Context, nginx, dir, conf, readyURL, proto string) (master int, stop func() error, err error) {
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return 0, nil, err
	}
	errLog := filepath.Join(dir, "logs", "error.log")
	cmd := exec.Command(nginx, "-p", dir+"/", "-c", confPath, "-e", errLog, "-g", "daemon off;")
	// Its own process group, so a Ctrl-C at the terminal reaches the
	// bench, which stops nginx itself; and SIGTERM should the bench die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return 0, nil, fmt.Errorf("start nginx: %w", err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	master = cmd.Process.Pid
	stop = func() error {
		defer os.RemoveAll(dir)
		_ = syscall.Kill(master, syscall.SIGQUIT) // graceful: master and its workers
		select {
		case <-waited:
			return nil
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(master, syscall.SIGTERM)
		}
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
		return errors.New("nginx did not stop gracefully")
	}
	ready := publisherClient(proto, 1)
	defer ready.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-waited:
			log, _ := os.ReadFile(errLog)
			os.RemoveAll(dir)
			return 0, nil, fmt.Errorf("nginx exited: %s %s", bytes.TrimSpace(out.Bytes()), tail(log, 800))
		default:
		}
		resp, err := ready.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && len(procChildren(master)) > 0 {
				return master, stop, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return 0, nil, errors.New("nginx did not answer within 15 s")
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness, bounded by the deadline
	}
}

// nginxPart is an nginx as one part of a server: CPU of its master and
// workers, resident memory of its first worker (the master's does not
// grow with the connections).
func nginxPart(name string, master int) procPart {
	workers := procChildren(master)
	rss := master
	if len(workers) > 0 {
		rss = workers[0]
	}
	return procPart{Name: name, CPU: append([]int{master}, workers...), RSS: []int{rss}}
}

// nchanConfig is nchan/nginx.conf with its placeholders filled in. Under
// h1tls and h2 it listens with ssl (and http2 for h2: nginx 1.22's
// "listen ... ssl http2" syntax), its certificate in tlsDir (cert.pem,
// key.pem, see writeSelfSigned).
func nchanConfig(listen, user string, connections int, proto, tlsDir string) string {
	listenTLS, tlsConf := "", ""
	if protoTLS(proto) {
		listenTLS = " ssl"
		if proto == "h2" {
			listenTLS += " http2"
		}
		tlsConf = fmt.Sprintf("    ssl_certificate %s;\n    ssl_certificate_key %s;\n", filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem"))
	}
	return strings.NewReplacer("{{LISTEN}}", listen, "{{LISTEN_TLS}}", listenTLS, "{{TLS}}", tlsConf, "{{USER}}", user, "{{MODULE}}", nchanModule,
		"{{CONNECTIONS}}", strconv.Itoa(connections), "{{NOFILE}}", strconv.Itoa(2*connections)).Replace(nginxConf)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost (the fourway server's own, transports.SelfSignedTLS) into dir
// as cert.pem and key.pem, PEM encoded, for nginx.
func writeSelfSigned(dir string) error {
	cfg, _, err := transports.SelfSignedTLS()
	if err != nil {
		return err
	}
	cert := cfg.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("self-signed key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return err
	}
	// Workers run as www-data when nginx starts as root; the master reads
	// the key before it drops privileges, so 0600 is enough.
	return os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
}
