package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// rootVictim is a root-owned file that must come out of a test as it went
// in: content, mode and owner.
func rootVictim(t *testing.T) (path string, unchanged func()) {
	t.Helper()
	path = filepath.Join(openTempDir(t), "passwd")
	if err := os.WriteFile(path, []byte("root:x:0:0::/root:/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		b, _ := os.ReadFile(path)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return fmt.Sprintf("%q %v %d:%d", b, fi.Mode(), st.Uid, st.Gid)
	}
	was := state()
	return path, func() {
		t.Helper()
		if now := state(); now != was {
			t.Errorf("victim changed: %q -> %q", was, now)
		}
	}
}

// TestSocketInUserWritableDirRefused: nobody, who can write the socket's
// directory, swaps symlinks to a root-owned victim in place of the socket
// as fast as it can; the agent refuses the directory, naming it, and the
// victim keeps its mode and owner even with a group to give the socket.
func TestSocketInUserWritableDirRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs the attacker as nobody")
	}
	victim, unchanged := rootVictim(t)
	cases := []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"owned by nobody", func(d string) error { return os.Chown(d, 65534, 65534) }, "owned by uid 65534"},
		{"world-writable", func(d string) error { return os.Chmod(d, 0o777) }, "writable by everyone"},
		{"sticky like /tmp", func(d string) error { return os.Chmod(d, 0o777|os.ModeSticky) }, "writable by everyone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(openTempDir(t), "run")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "agent.sock")
			attacker := exec.Command("/bin/sh", "-c", `while :; do ln -sfn "$1" "$2.new" 2>/dev/null && mv -f "$2.new" "$2" 2>/dev/null; rm -f "$2"; done`, "sh", victim, path)
			attacker.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Setpgid: true}
			if err := attacker.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(-attacker.Process.Pid, syscall.SIGKILL); attacker.Wait() })
			for range 20 {
				ln, err := listenSocket(socketSpec{path: path, group: 65534, hasGroup: true})
				if err == nil {
					ln.Close()
					t.Fatal("listenSocket accepted a directory nobody can write")
				}
				if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("listenSocket = %v, want %s named and %q", err, dir, tc.want)
				}
			}
			unchanged()
		})
	}
}

// TestSocketAccessNeverThroughSymlink: even in a trusted directory, a
// symlink in the socket's place (as only root could put there) is not
// chmod-ed nor chown-ed through.
func TestSocketAccessNeverThroughSymlink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chowns to nogroup")
	}
	victim, unchanged := rootVictim(t)
	path := filepath.Join(openTempDir(t), "agent.sock")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := setSocketAccess(path, 65534, 0o666); err == nil {
		t.Fatal("setSocketAccess went through a symlink")
	}
	regular := filepath.Join(filepath.Dir(victim), "plain")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := setSocketAccess(regular, 65534, 0o666); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("setSocketAccess on a regular file = %v", err)
	}
	unchanged()
}
