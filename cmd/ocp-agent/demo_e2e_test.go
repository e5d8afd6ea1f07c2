package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
)

// TestMakeRunAndClean runs the demo as a developer does, in a copy of the
// tree with ports of its own: `make run`, Ctrl-C (SIGINT to the foreground
// process group), then `make clean`. The demo process outlives the agent
// by design, the recipe says how to stop it, and `make clean` stops it
// before it deletes the demo state.
func TestMakeRunAndClean(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the tree and runs the demo")
	}
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := copyTree(t, root)
	t.Cleanup(func() { killUnder(dir) })
	port := freeLoopbackPort(t)
	vars := []string{fmt.Sprintf("DEMO_PORT=%d", port), fmt.Sprintf("DEMO_LISTEN=127.0.0.1:%d", freeLoopbackPort(t))}
	// The demo's cgroups under a root of this test's own, never the host's.
	if cg, _ := cgrouptest.Root(t); cg != "" {
		vars = append(vars, "DEMO_CGROUP="+cg)
	} else {
		vars = append(vars, "DEMO_CGROUP=off")
	}
	demoAddr := fmt.Sprintf("127.0.0.1:%d", port)

	run := exec.Command("make", append([]string{"run"}, vars...)...)
	run.Dir = dir
	out := &syncBuffer{}
	run.Stdout, run.Stderr = out, out
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a foreground job of its own
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	defer func() { syscall.Kill(-run.Process.Pid, syscall.SIGKILL); <-exited }()

	// Building under load takes a while.
	deadline := time.Now().Add(5 * time.Minute)
	for !accepts(demoAddr) {
		select {
		case <-exited:
			t.Fatalf("make run exited before the demo process listened:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo process did not listen on %s within 5 minutes:\n%s", demoAddr, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	syscall.Kill(-run.Process.Pid, syscall.SIGINT) // Ctrl-C
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("make run did not end on SIGINT:\n%s", out)
	}
	t.Logf("make run:\n%s", out)
	if !strings.Contains(out.String(), "the demo processes keep running") || !strings.Contains(out.String(), "make clean") {
		t.Errorf("make run does not say how to stop the demo processes")
	}
	if !accepts(demoAddr) {
		t.Fatalf("the demo process did not outlive the agent")
	}

	clean := exec.Command("make", append([]string{"clean"}, vars...)...)
	clean.Dir = dir
	if b, err := clean.CombinedOutput(); err != nil {
		t.Fatalf("make clean: %v\n%s", err, b)
	} else {
		t.Logf("make clean:\n%s", b)
	}
	for deadline := time.Now().Add(30 * time.Second); accepts(demoAddr); {
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts after make clean", demoAddr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := pidsUnder(dir); len(pids) > 0 {
		t.Errorf("processes of the demo left after make clean: %v", pids)
	}
	if _, err := os.Stat(filepath.Join(dir, ".run")); !os.IsNotExist(err) {
		t.Errorf(".run not removed: %v", err)
	}
}

// copyTree copies the files git tracks under root (as they are in the
// work tree) to a new directory.
func copyTree(t *testing.T, root string) string {
	t.Helper()
	list, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	dir := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src, dst := filepath.Join(root, name), filepath.Join(dir, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, fi.Mode().Perm())
		if err == nil {
			_, err = io.Copy(o, in)
			o.Close()
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freeLoopbackPort returns a port nothing listens on now on 127.0.0.1,
// where the demo listens.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// pidsUnder returns the processes whose command line names dir: in a
// directory of the test's own, they can be nobody else's.
func pidsUnder(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killUnder kills what a failed run of the test left behind.
func killUnder(dir string) {
	for _, pid := range pidsUnder(dir) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
