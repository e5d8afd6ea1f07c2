package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogsFollowsNoLink: a managed user (nobody) plants symbolic links
// among its log files, and the log directory itself is a link it made;
// `ocp-agent logs` as root prints the user's regular log file and never
// the root-only file the links point to.
func TestLogsFollowsNoLink(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the attack is a nobody-owned link read by root")
	}
	// The root-only secret.
	private := t.TempDir()
	secretFile := filepath.Join(private, "shadow.log")
	secret := fmt.Sprintf("SECRET-%d", time.Now().UnixNano())
	write(t, secretFile, secret+"\n", os.O_CREATE|os.O_WRONLY)
	os.Chmod(secretFile, 0o600)

	nobody := func(path string) {
		if err := os.Lchown(path, nobodyUID, nobodyGID); err != nil {
			t.Fatal(err)
		}
	}
	logs := openDir(t, nil)
	nobody(logs)
	// A regular log, older than the link, with an escape sequence in it.
	own := filepath.Join(logs, "app.log.1")
	write(t, own, "own line\n\x1b]0;pwned\x07\n", os.O_CREATE|os.O_WRONLY)
	nobody(own)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(own, old, old)
	link := filepath.Join(logs, "app.log")
	if err := os.Symlink(secretFile, link); err != nil {
		t.Fatal(err)
	}
	nobody(link)
	// A directory link: the pattern's directory is nobody's link to root's.
	dirLink := filepath.Join(logs, "dir")
	if err := os.Symlink(private, dirLink); err != nil {
		t.Fatal(err)
	}
	nobody(dirLink)
	os.Chtimes(secretFile, time.Now(), time.Now())

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, cfg, fmt.Sprintf(`host:
  id: 20
cgroup: off
state_dir: %s
processes:
  - alias: app
    start_command: sleep 1
    log_file_pattern: %s/app.log*
  - alias: sneaky
    start_command: sleep 1
    log_file_pattern: %s/shadow.log*
`, t.TempDir(), logs, dirLink))

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"link among the files", []string{"logs", "app"}, 0, "own line\n\x1b]0;pwned\x07\n"},
		{"link as the directory", []string{"logs", "sneaky"}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, append(tc.args, "--config", cfg)...)
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Fatalf("the root-only file was printed:\n%s%s", r.stdout, r.stderr)
			}
			// Not a terminal: the lines are printed as they are.
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout)
			}
			if tc.code != 0 && !strings.Contains(r.stderr, "symbolic link; not followed") {
				t.Errorf("stderr does not say why: %q", r.stderr)
			}
		})
	}
}

// TestLogsOfTheAgent: `logs ocp_agentd` reads log.file, or says where the
// log of an agent on stderr goes.
func TestLogsOfTheAgent(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "agent.log")
	write(t, logFile, "first\nsecond\n", os.O_CREATE|os.O_WRONLY)
	base := fmt.Sprintf("host:\n  id: 20\ncgroup: off\nstate_dir: %s\n", dir)
	withFile := filepath.Join(dir, "file.yaml")
	writeConfig(t, withFile, base+"log:\n  file: "+logFile+"\n")
	onStderr := filepath.Join(dir, "stderr.yaml")
	writeConfig(t, onStderr, base)

	r := cli(t, nil, "logs", "ocp_agentd", "-n", "1", "--config", withFile)
	if r.code != 0 || r.stdout != "second\n" {
		t.Errorf("log.file: status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli(t, nil, "logs", "ocp_agentd", "-n", "100", "--config", onStderr)
	if r.code != 1 || !strings.Contains(r.stderr, "ocp_agentd logs to stderr") || !strings.Contains(r.stderr, "journalctl -u ocp-agent -n 100") {
		t.Errorf("stderr: status %d, stderr %q", r.code, r.stderr)
	}
}
