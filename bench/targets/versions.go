package targets

import (
	"debug/buildinfo"
	"os/exec"
	"slices"
	"strings"

	"fourway/bench/plan"
)

// Versions names what was measured: the fourway built from the
// repository at its commit (and whether the server's files differed from
// it), or the binary given with -fourway; nats-server, nginx and Nchan.
func Versions(cfg plan.Config) []string {
	var v []string
	if cfg.Fourway != "" {
		v = append(v, binaryVersion(cfg.Fourway))
	} else if out, err := execOutput("git", "rev-parse", "--short", "HEAD"); err == nil {
		commit := "fourway " + strings.TrimSpace(out)
		if st, err := execOutput("git", "status", "--porcelain", "--", "main.go", "feed", "transports", "public", "go.mod", "go.sum"); err == nil && strings.TrimSpace(st) != "" {
			commit += " with uncommitted changes in main.go, feed/, transports/, public/ or go.mod"
		}
		v = append(v, commit)
	}
	if cfg.Cluster {
		if out, err := execOutput(cfg.NatsServer, "--version"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
	}
	if slices.Contains(cfg.Targets, "nchan") || cfg.Cluster {
		if out, err := execOutput(cfg.Nginx, "-v"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
		if out, err := execOutput("dpkg-query", "-W", "-f", "${Package} ${Version}", "libnginx-mod-nchan"); err == nil {
			v = append(v, strings.TrimSpace(out))
		}
	}
	return v
}

// binaryVersion names a fourway binary and the commit it was built from,
// as Go recorded it in the binary.
func binaryVersion(path string) string {
	s := "fourway binary " + path
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return s
	}
	for _, kv := range info.Settings {
		switch {
		case kv.Key == "vcs.revision":
			s += ", commit " + kv.Value[:min(7, len(kv.Value))]
		case kv.Key == "vcs.modified" && kv.Value == "true":
			s += " with uncommitted changes"
		}
	}
	return s
}

// execOutput runs a program and returns what it wrote.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
