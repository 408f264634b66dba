package targets

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"fourway/bench/load"
	"fourway/transports"
)

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
	ready := load.PublisherClient(proto, 1)
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
			if resp.StatusCode == http.StatusOK && len(load.ProcChildren(master)) > 0 {
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
func nginxPart(name string, master int) load.ProcPart {
	workers := load.ProcChildren(master)
	rss := master
	if len(workers) > 0 {
		rss = workers[0]
	}
	return load.ProcPart{Name: name, CPU: append([]int{master}, workers...), RSS: []int{rss}}
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
