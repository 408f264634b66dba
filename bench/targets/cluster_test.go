package targets

import (
	"os"
	"strings"
	"testing"
)

// TestDeployNginxConfig: the bench fills deploy/nginx.conf in as
// deploy/cluster.sh does, with room for the scenario's connections, and
// refuses a config it could not fill.
func TestDeployNginxConfig(t *testing.T) {
	path, err := findDeployConf()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := deployNginxConfig(string(b), "127.0.0.1:9000", "", []string{"127.0.0.1:9001", "127.0.0.1:9002"}, 30000)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:9000;", "server 127.0.0.1:9001 max_fails=1 fail_timeout=3s;", "server 127.0.0.1:9002 ",
		"proxy_read_timeout 90s;", "worker_connections 30000;", "worker_rlimit_nofile 60000;", "proxy_buffering off;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "{{") {
		t.Errorf("a placeholder is left:\n%s", conf)
	}
	if _, err := deployNginxConfig(strings.ReplaceAll(string(b), "{{UPSTREAMS}}", ""), "127.0.0.1:9000", "", []string{"127.0.0.1:9001"}, 10); err == nil || !strings.Contains(err.Error(), "{{UPSTREAMS}}") {
		t.Errorf("a config without {{UPSTREAMS}}: error %v, want one naming it", err)
	}
}
