package procmgr

import (
	"errors"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// noticedWithin bounds how long an exit may take to be noticed. The
// watch is woken by the kernel at the exit, not by a timer: this only
// leaves room for a loaded test machine.
const noticedWithin = 5 * time.Second

// startWatch runs an exitWatch for the test, closed when it ends.
func startWatch(t *testing.T) *exitWatch {
	t.Helper()
	w, err := newExitWatch()
	if err != nil {
		t.Fatal(err)
	}
	go w.run()
	t.Cleanup(func() {
		w.close()
		<-w.done
	})
	return w
}

// spawnSleep spawns a sleep watched by w, as a manager starts a process.
func spawnSleep(t *testing.T, w *exitWatch, args ...string) *instance {
	t.Helper()
	if len(args) == 0 {
		args = []string{"1000"}
	}
	cmd := exec.Command("sleep", args...)
	cmd.SysProcAttr = sysProcAttr(nil)
	in, err := spawn(cmd, procfs.Default, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(in.pid, syscall.SIGKILL) })
	return in
}

// adoptSleep starts a sleep as the test's own child (reaped by the test)
// and adopts it as a manager adopts a process it did not start.
func adoptSleep(t *testing.T, w *exitWatch) (*instance, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	st, err := procfs.Default.Stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	in, err := adopt(w, procfs.Default, cmd.Process.Pid, st.StartTicks, false)
	if err != nil {
		t.Fatal(err)
	}
	return in, cmd
}

// awaitExited fails the test unless in's exit is noticed within d.
func awaitExited(t *testing.T, in *instance, d time.Duration) {
	t.Helper()
	select {
	case <-in.exited:
	case <-time.After(d):
		t.Fatalf("the exit of pid %d was not noticed within %v", in.pid, d)
	}
}

// reaped reports whether pid is gone from the process table: exited and
// reaped, not a zombie.
func reaped(pid int) bool {
	_, err := procfs.Default.Stat(pid)
	return errors.Is(err, fs.ErrNotExist)
}

func registered(pid int) bool {
	spawned.mu.Lock()
	defer spawned.mu.Unlock()
	return spawned.pids[pid]
}

func TestExitWatchAdopted(t *testing.T) {
	w := startWatch(t)
	in, cmd := adoptSleep(t, w)
	if in.hasExited() {
		t.Fatal("a running process is said to have exited")
	}
	cmd.Process.Kill()
	awaitExited(t, in, noticedWithin)
	if in.status != -1 {
		t.Errorf("status of an adopted process = %d, want -1 (unknown)", in.status)
	}
	// The exit was taken out of the set: releasing it after is harmless.
	in.release()
}

func TestExitWatchSpawned(t *testing.T) {
	w := startWatch(t)
	cmd := exec.Command("sh", "-c", "read x; exit 3")
	cmd.SysProcAttr = sysProcAttr(nil)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := spawn(cmd, procfs.Default, w)
	if err != nil {
		t.Fatal(err)
	}
	if in.hasExited() || !registered(in.pid) {
		t.Fatalf("running child: exited %v, registered %v", in.hasExited(), registered(in.pid))
	}
	stdin.Close()
	awaitExited(t, in, noticedWithin)
	if in.status != 3 {
		t.Errorf("status = %d, want 3", in.status)
	}
	// exited is closed once the child is reaped, not before.
	if !reaped(in.pid) || registered(in.pid) {
		t.Errorf("after its exit: reaped %v, registered %v; want reaped and forgotten", reaped(in.pid), registered(in.pid))
	}
	in.release()
}

// Many exits at once are each noticed, with a child's status.
func TestExitWatchMany(t *testing.T) {
	w := startWatch(t)
	var children, adopted []*instance
	for range 60 {
		children = append(children, spawnSleep(t, w))
	}
	var cmds []*exec.Cmd
	for range 10 {
		in, cmd := adoptSleep(t, w)
		adopted, cmds = append(adopted, in), append(cmds, cmd)
	}
	for _, in := range children {
		syscall.Kill(in.pid, syscall.SIGKILL)
	}
	for _, c := range cmds {
		c.Process.Kill()
	}
	for _, in := range append(children, adopted...) {
		awaitExited(t, in, 10*time.Second)
	}
	for _, in := range children {
		if in.status != 128+int(syscall.SIGKILL) {
			t.Errorf("pid %d: status %d, want %d", in.pid, in.status, 128+int(syscall.SIGKILL))
		}
		if !reaped(in.pid) {
			t.Errorf("pid %d not reaped", in.pid)
		}
	}
	w.mu.Lock()
	left := len(w.ins)
	w.mu.Unlock()
	if left != 0 {
		t.Errorf("%d instances still watched after every exit", left)
	}
}

// A child released while it runs (the manager closing) is still reaped
// once it exits, by the process's reaper: it never stays a zombie.
func TestExitWatchReleasedChildIsReaped(t *testing.T) {
	w := startWatch(t)
	in := spawnSleep(t, w)
	in.release()
	if registered(in.pid) {
		t.Fatal("a released child is still registered as the manager's")
	}
	syscall.Kill(in.pid, syscall.SIGKILL)
	waitFor(t, "the released child to be reaped", func() bool { return reaped(in.pid) })
	if in.hasExited() {
		t.Error("a released instance's exit was reported")
	}
}

// close ends the watch's goroutine, and the children it watched are
// still reaped once they exit.
func TestExitWatchClose(t *testing.T) {
	w, err := newExitWatch()
	if err != nil {
		t.Fatal(err)
	}
	go w.run()
	child := spawnSleep(t, w)
	adoptSleep(t, w)
	w.close()
	select {
	case <-w.done:
	case <-time.After(noticedWithin):
		t.Fatal("the watch goroutine did not end on close")
	}
	w.close() // twice is harmless
	if registered(child.pid) {
		t.Error("a child of a closed watch is still registered")
	}
	syscall.Kill(child.pid, syscall.SIGKILL)
	waitFor(t, "the child of a closed watch to be reaped", func() bool { return reaped(child.pid) })
	// Adding to a closed watch watches nothing, and does not fail: a
	// manager closing while an owner adopts must not start a second copy.
	late := spawnSleep(t, w)
	if late.hasExited() || registered(late.pid) {
		t.Errorf("child spawned after close: exited %v, registered %v", late.hasExited(), registered(late.pid))
	}
	child.release()
	late.release()
}

// goroutinesIn counts the goroutines with f on their stacks.
func goroutinesIn(f string) int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, f) {
			n++
		}
	}
	return n
}

// Closing a manager ends its exit watch, and nothing of the exits'
// waiting is left behind, though its process still runs.
func TestCloseEndsExitWatch(t *testing.T) {
	waiters := []string{"procmgr.(*exitWatch).run", "procmgr.waitExit"}
	before := map[string]int{}
	for _, f := range waiters {
		before[f] = goroutinesIn(f) // other tests' managers, if any are open
	}
	h := newHarness(t)
	m := h.open(spec("p", helper(t, "ignore-term")))
	s := mustStart(t, m, "p")
	w := m.exits
	if n := goroutinesIn(waiters[0]); n != before[waiters[0]]+1 {
		t.Errorf("%d goroutines in %s with one manager open, want %d", n, waiters[0], before[waiters[0]]+1)
	}
	m.Close()
	h.m = nil
	t.Cleanup(func() { syscall.Kill(-s.PID, syscall.SIGKILL) })
	select {
	case <-w.done:
	default:
		t.Fatal("Close returned with the exit watch still running")
	}
	for _, f := range waiters {
		if n := goroutinesIn(f); n > before[f] {
			t.Errorf("%d goroutines in %s after Close, %d before New", n, f, before[f])
		}
	}
	if !alive(s.PID) {
		t.Error("Close stopped the process")
	}
	syscall.Kill(-s.PID, syscall.SIGKILL)
	waitFor(t, "the process of a closed manager to be reaped", func() bool { return reaped(s.PID) })
}
