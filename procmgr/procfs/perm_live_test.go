//go:build linux

package procfs

// Tests of what an unprivileged reader of /proc sees, with real processes
// run as nobody.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// permissionHelper prints what SocketInodes and RealUID of pid return.
func permissionHelper(pidStr string) int {
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	_, err = Default.SocketInodes(pid)
	fmt.Printf("SocketInodes: ErrPermission=%v err=%v\n", errors.Is(err, fs.ErrPermission), err)
	uid, err := Default.RealUID(pid)
	fmt.Printf("RealUID: %d err=%v\n", uid, err)
	return 0
}

func TestLiveRealUID(t *testing.T) {
	if uid, err := Default.RealUID(os.Getpid()); err != nil || uid != os.Getuid() {
		t.Errorf("own RealUID = %d, %v; want %d", uid, err, os.Getuid())
	}
	requireRoot(t)
	child := startChild(t, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}, "sleep", "30")
	if uid, err := Default.RealUID(child.Process.Pid); err != nil || uid != nobody {
		t.Errorf("RealUID of a child run as nobody = %d, %v; want %d", uid, err, nobody)
	}
}

// runAsNobody runs a copy of the test binary as user nobody with args and
// extra environment, and returns its output.
func runAsNobody(t *testing.T, env []string, args ...string) string {
	t.Helper()
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go test work directory is private to root: copy the binary where
	// nobody can run it.
	dir, err := os.MkdirTemp("", "procfs-helper")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "procfs.test")
	if err := copyFile(exe, helper, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as nobody: %v\n%s", helper, err, out)
	}
	return string(out)
}

func TestLiveSocketInodesPermission(t *testing.T) {
	// nobody reads the fds of a root-owned sleep: the kernel refuses
	// (EACCES on /proc/PID/fd), and SocketInodes must say fs.ErrPermission,
	// not "no sockets".
	requireRoot(t)
	target := startChild(t, nil, "sleep", "30")
	out := runAsNobody(t, []string{helperEnv + "=" + strconv.Itoa(target.Process.Pid)})
	t.Logf("helper as nobody reading pid %d:\n%s", target.Process.Pid, out)
	if !strings.Contains(out, "SocketInodes: ErrPermission=true") {
		t.Errorf("SocketInodes as nobody of a root process:\n%s", out)
	}
	// status is world-readable: the user of another user's process is known.
	if !strings.Contains(out, "RealUID: 0 err=<nil>") {
		t.Errorf("RealUID as nobody of a root process:\n%s", out)
	}
}

func TestLiveUnprivileged(t *testing.T) {
	// Runs as nobody the tests whose outcome depends on privilege: the
	// mode-000 fixture (skipped as root) and a zombie's fds, which only an
	// unprivileged reader is refused.
	tests := []string{"TestSocketInodesPermissionFixture", "TestLiveZombieThenGone"}
	out := runAsNobody(t, nil, "-test.v", "-test.run=^("+strings.Join(tests, "|")+")$")
	for _, name := range tests {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass as nobody:\n%s", name, out)
		}
	}
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
