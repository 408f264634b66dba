package targets

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"fourway/bench/load"
	"fourway/bench/plan"
)

// The peer is started from nchan/nginx.conf in a fresh temporary prefix,
// as a child process of the bench (daemon off), on a free loopback port.

//go:embed nchan/nginx.conf
var nginxConf string

// nchanPackages are the Debian packages the peer needs.
const nchanPackages = "nginx libnginx-mod-nchan"

// nchanMissing says what is missing to run the peer, or "" if nothing is.
func nchanMissing(nginx string) string {
	if _, err := os.Stat(nginx); err != nil {
		return nginx + " not found: install the Debian packages " + nchanPackages
	}
	if _, err := os.Stat(plan.NchanModule); err != nil {
		return plan.NchanModule + " not found: install the Debian packages " + nchanPackages
	}
	return ""
}

// nchanConnections is the worker_connections a scenario needs: the
// subscribers' and publishers' connections and a margin, and never fewer
// than the 20,000 nchan/nginx.conf is read with by hand (start.sh).
func nchanConnections(sc plan.Scenario) int { return max(20000, int(plan.FilesNeeded(sc))) }

// startNchan starts nginx + Nchan with room for connections at once: its
// worker_connections, and twice that in worker_rlimit_nofile (an upstream
// or a temp file may hold a descriptor beside a connection). nginx starts
// as root here and sets its worker's limit before dropping to www-data;
// started as another user, nginx logs that it could not, and connections
// past the hard limit fail.
func startNchan(ctx context.Context, nginx string, connections int, proto string, compress bool) (*load.Server, error) {
	if m := nchanMissing(nginx); m != "" {
		return nil, errors.New(m)
	}
	dir, addr, user, err := nginxPrefix("fourway-nchan-")
	if err != nil {
		return nil, err
	}
	var tlsDir string
	if plan.ProtoTLS(proto) {
		if err := writeSelfSigned(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		tlsDir = dir
	}
	base := plan.SchemeFor(proto) + "://" + addr
	run := &nginxRun{binary: nginx, dir: dir, conf: nchanSite{addr, user, connections, proto, tlsDir, compress}.config(), readyURL: base + "/nchan_stub_status", proto: proto}
	master, stop, err := runNginx(ctx, run)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // guards master, which a restart replaces
	return &load.Server{
		Base: base,
		Parts: func() []load.ProcPart {
			mu.Lock()
			defer mu.Unlock()
			return []load.ProcPart{nginxPart("nginx", master)}
		},
		Stop: stop,
		Restart: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			// The master and its workers killed, as a crash would end
			// them (they are one process group), and nginx started again
			// on the same configuration: Nchan's messages, in its shared
			// memory, are gone.
			_ = syscall.Kill(-master, syscall.SIGKILL)
			<-run.waited
			if err := run.start(); err != nil {
				return err
			}
			if err := run.waitReady(ctx); err != nil {
				return err
			}
			master = run.cmd.Process.Pid
			return nil
		},
	}, nil
}

// nchanCompress is what the peer's server block says with -compress, as
// measured with nginx 1.22.1 and Nchan 1.3.6 (Debian 12):
//
//   - nchan_deflate_message_for_websocket keeps a deflated copy of each
//     message, made once, for every WebSocket that negotiated
//     permessage-deflate; Nchan answers gorilla/websocket's offer with
//     no context takeover both ways, which is what the client speaks.
//   - nginx's gzip filter compresses Nchan's poll and long-poll answers
//     only with gzip_types *: Nchan sets a message's Content-Type without
//     the length nginx's type match reads, so no list of types matches it
//     (with "application/json" listed, the answers came plain). Nchan's
//     SSE stream (eventsource) is never gzipped whatever the
//     configuration: its issue #194, "Gzip support for multipart,
//     eventsource, chunked, and raw subscribers", is open.
//   - gzip_comp_level 6 is gzip's and Go's default level, where nginx's
//     own default is 1; Nchan's deflate level is 6 by default.
const nchanCompress = `    # -compress: each message deflated once for every WebSocket that
    # negotiated permessage-deflate; poll and long-poll answers gzipped
    # for a client that offers it ("*": Nchan's answers match no type list).
    nchan_deflate_message_for_websocket on;
    gzip on;
    gzip_types *;
    gzip_comp_level 6;
`

// nchanSite is what nchan/nginx.conf's placeholders are filled with.
type nchanSite struct {
	listen, user string // host:port; the user the workers run as, "" for nginx's default
	connections  int    // each worker's connections
	proto        string // h1, h1tls or h2
	tlsDir       string // the certificate under h1tls and h2 (cert.pem, key.pem, see writeSelfSigned)
	compress     bool   // compress what Nchan can (nchanCompress)
}

// config is nchan/nginx.conf with its placeholders filled in. Under h1tls
// and h2 it listens with ssl (and http2 for h2: nginx 1.22's "listen ...
// ssl http2" syntax).
func (site nchanSite) config() string {
	listenTLS, tlsConf := "", ""
	if plan.ProtoTLS(site.proto) {
		listenTLS = " ssl"
		if site.proto == "h2" {
			listenTLS += " http2"
		}
		tlsConf = fmt.Sprintf("    ssl_certificate %s;\n    ssl_certificate_key %s;\n", filepath.Join(site.tlsDir, "cert.pem"), filepath.Join(site.tlsDir, "key.pem"))
	}
	compressConf := ""
	if site.compress {
		compressConf = nchanCompress
	}
	return strings.NewReplacer("{{COMPRESS}}", compressConf, "{{LISTEN}}", site.listen, "{{LISTEN_TLS}}", listenTLS, "{{TLS}}", tlsConf, "{{USER}}", site.user, "{{MODULE}}", plan.NchanModule,
		"{{CONNECTIONS}}", strconv.Itoa(site.connections), "{{NOFILE}}", strconv.Itoa(2*site.connections)).Replace(nginxConf)
}
