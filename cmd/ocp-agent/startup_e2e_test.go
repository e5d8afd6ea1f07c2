package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// markerProcess is a process entry that, once started, creates marker:
// its absence proves the agent started nothing.
func markerProcess(marker string) string {
	return fmt.Sprintf("  - alias: marker\n    id: 301\n    start_command: 'touch %s; exec sleep 1000'\n    start_wait: 200ms\n    stop_timeout: 2s\n", marker)
}

// TestStartRefusedBeforeAnyProcess: when the start fails on a port in
// use or on a state_dir the managed user could change, the agent exits 1
// with a message naming the cause, and no managed process was started
// (they would be left running unsupervised). A victim file planted through
// the user's state_dir keeps its content, mode and owner.
func TestStartRefusedBeforeAnyProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the state_dir case gives a directory to nobody")
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, e *testEnv) (victimCheck func())
		want  []string
	}{
		{"port in use", func(t *testing.T, e *testEnv) func() {
			ln, err := net.Listen("tcp", e.listen)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			return nil
		}, []string{"listen on", "address already in use"}},
		{"state_dir under a user's home", func(t *testing.T, e *testEnv) func() {
			// /home/admin/ocp_agent/state, admin being nobody, who plants a
			// symlink to a root-owned victim where the output will go.
			home := filepath.Join(openDir(t, nil), "home", "admin") // t.TempDir is private to root
			state := filepath.Join(home, "ocp_agent", "state")
			victim := filepath.Join(e.dir, "passwd")
			if err := os.WriteFile(victim, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(home, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(home, nobodyUID, nobodyGID); err != nil {
				t.Fatal(err)
			}
			plant := exec.Command("/bin/sh", "-c", `mkdir -p "$1/output" && ln -s "$2" "$1/output/marker.log"`, "sh", state, victim)
			plant.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID}}
			if out, err := plant.CombinedOutput(); err != nil {
				t.Fatalf("plant as nobody: %v %s", err, out)
			}
			cfg, _ := os.ReadFile(e.cfgPath)
			cfg = bytes.Replace(cfg, []byte("state_dir: "+e.stateDir), []byte("state_dir: "+state), 1)
			if err := os.WriteFile(e.cfgPath, cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			e.stateDir = state
			before := fileState(t, victim)
			return func() {
				if after := fileState(t, victim); after != before {
					t.Errorf("victim changed: %s -> %s", before, after)
				}
			}
		}, []string{"state_dir", "is not safe for the agent", "owned by uid 65534", "does not start"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			e := newEnv(t, markerProcess(marker))
			check := tc.setup(t, e)
			a := e.launch()
			select {
			case <-a.exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("the agent did not exit\n%s", a.stderr)
			}
			stderr := a.stderr.String()
			if code := a.cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit status %d, want 1\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("a managed process was started before the start failed (%v)", err)
			}
			if check != nil {
				check()
				// config check reports the same finding.
				out, err := exec.Command(filepath.Join(binDir, "ocp-agent"), "config", "check", "--config", e.cfgPath).CombinedOutput()
				if err == nil || !strings.Contains(string(out), "owned by uid 65534") {
					t.Errorf("config check: %v\n%s", err, out)
				}
			}
		})
	}
}

func fileState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%q %v %d:%d", b, fi.Mode(), st.Uid, st.Gid)
}
