package targets

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
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

// nginxRun is one nginx the bench runs as a child (daemon off): its
// binary, its prefix dir (made by nginxPrefix, removed when it stops),
// its configuration, and the URL that answers 200 over proto once it
// serves.
type nginxRun struct {
	binary, dir, conf string
	readyURL, proto   string

	cmd    *exec.Cmd
	out    bytes.Buffer  // what nginx writes on stdout and stderr
	waited chan struct{} // closed once nginx has exited
}

// runNginx writes n's configuration into its prefix and runs nginx on it
// until its ready URL answers 200 and a worker runs. stop ends it
// gracefully and removes the prefix; the prefix is removed on error too.
func runNginx(ctx context.Context, n *nginxRun) (master int, stop func() error, err error) {
	if err := n.start(); err != nil {
		os.RemoveAll(n.dir)
		return 0, nil, err
	}
	if err := n.waitReady(ctx); err != nil {
		return 0, nil, err
	}
	return n.cmd.Process.Pid, n.stop, nil
}

// errorLog is where nginx writes its errors, in its prefix.
func (n *nginxRun) errorLog() string { return filepath.Join(n.dir, "logs", "error.log") }

// start writes the configuration and starts nginx.
func (n *nginxRun) start() error {
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(n.conf), 0o644); err != nil {
		return err
	}
	n.cmd = exec.Command(n.binary, "-p", n.dir+"/", "-c", confPath, "-e", n.errorLog(), "-g", "daemon off;")
	// Its own process group, so a Ctrl-C at the terminal reaches the
	// bench, which stops nginx itself; and SIGTERM should the bench die.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	n.waited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.waited) }()
	return nil
}

// waitReady waits until the ready URL answers 200 and the master has a
// worker, for 15 s at most. An nginx that exits first is said with its
// error log; one that does not answer is stopped.
func (n *nginxRun) waitReady(ctx context.Context) error {
	master := n.cmd.Process.Pid
	ready := load.PublisherClient(n.proto, 1)
	defer ready.CloseIdleConnections()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-n.waited:
			log, _ := os.ReadFile(n.errorLog())
			os.RemoveAll(n.dir)
			return fmt.Errorf("nginx exited: %s %s", bytes.TrimSpace(n.out.Bytes()), tail(log, 800))
		default:
		}
		resp, err := ready.Get(n.readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && len(load.ProcChildren(master)) > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			n.stop()
			return errors.New("nginx did not answer within 15 s")
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness, bounded by the deadline
	}
}

// stop ends nginx gracefully (SIGQUIT: the master and its workers finish
// their connections), then with SIGTERM after 10 s and SIGKILL after 5
// more, and removes its prefix.
func (n *nginxRun) stop() error {
	defer os.RemoveAll(n.dir)
	master := n.cmd.Process.Pid
	_ = syscall.Kill(master, syscall.SIGQUIT)
	select {
	case <-n.waited:
		return nil
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(master, syscall.SIGTERM)
	}
	select {
	case <-n.waited:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.waited
	}
	return errors.New("nginx did not stop gracefully")
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
