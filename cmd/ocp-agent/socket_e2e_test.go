package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIOverSocket runs the CLI against an agent with server.socket: it
// must go through the socket, where the peer's uid is the credential, so
// that neither --user nor a password matters.
func TestCLIOverSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "sock") // short: sun_path is 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	e := newEnv(t, demo("obstat2", 185, freePort(t), ""))
	cfg, _ := os.ReadFile(e.cfgPath)
	cfg = []byte(strings.Replace(string(cfg), "  name: test-host\n", "  name: test-host\n  socket: "+sock+"\n", 1))
	os.WriteFile(e.cfgPath, cfg, 0o600)
	a := e.start()
	a.waitStarted(185)

	wrong := []string{"OCP_AGENT_PASSWORD=wrong"}
	tests := []struct {
		name   string
		args   []string
		stdout string
	}{
		{"ps", []string{"ps"}, "obstat2"},
		{"stop", []string{"stop", "obstat2"}, "stopped obstat2 (id 185)"},
		{"start", []string{"start", "obstat2", "--user", "nobody"}, "started obstat2 (id 185)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, wrong, append(tc.args, "--config", e.cfgPath)...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("status %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
		})
	}
	// The stop went over the socket: the agent names the caller by uid.
	if log := grepLines(a.stderr.String(), "/185/stop"); !strings.Contains(log, fmt.Sprintf(`"user": "uid:%d"`, os.Getuid())) {
		t.Errorf("the stop did not go over the socket:\n%s", log)
	}
	if code := a.stop(); code != 0 {
		t.Fatalf("agent exit %d", code)
	}
	r := cli(t, nil, "ps", "--config", e.cfgPath)
	if r.code != 1 || !strings.Contains(r.stderr, "the agent is not running at "+sock) {
		t.Errorf("ps with the agent stopped: status %d, stderr %q", r.code, r.stderr)
	}
}
