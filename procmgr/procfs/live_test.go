//go:build linux

package procfs

// Tests against the running kernel, with real child processes and sockets.

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary re-runs itself as user nobody with helperEnv set, to read
// /proc as an unprivileged user (TestLiveSocketInodesPermission).
const (
	helperEnv    = "PROCFS_TEST_HELPER_PID"
	nobody       = 65534
	pollTimeout  = 5 * time.Second
	pollInterval = 10 * time.Millisecond
)

func TestMain(m *testing.M) {
	if pid := os.Getenv(helperEnv); pid != "" {
		os.Exit(permissionHelper(pid))
	}
	if os.Getenv(listenHelperEnv) != "" {
		os.Exit(listenHelper())
	}
	os.Exit(m.Run())
}

// startChild starts a command and kills it (and its process group when it
// has its own) when the test ends.
func startChild(t *testing.T, attr *syscall.SysProcAttr, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if attr != nil && attr.Setpgid && attr.Pgid == 0 {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// waitFor polls cond until it holds or pollTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(pollTimeout); !cond(); time.Sleep(pollInterval) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
}

func TestLiveStat(t *testing.T) {
	self, err := Default.Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.PPID != os.Getppid() || self.PGRP != syscall.Getpgrp() || self.Session != sid {
		t.Errorf("self: got %+v, want pid %d ppid %d pgrp %d session %d",
			self, os.Getpid(), os.Getppid(), syscall.Getpgrp(), sid)
	}

	child := startChild(t, &syscall.SysProcAttr{Setpgid: true}, "sleep", "30")
	pid := child.Process.Pid
	got, err := Default.Stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{PID: pid, PPID: os.Getpid(), PGRP: pid, Session: sid, Comm: "sleep", State: got.State, StartTicks: got.StartTicks}
	if got != want {
		t.Errorf("child: got %+v, want %+v", got, want)
	}
	if !strings.ContainsRune("RS", rune(got.State)) {
		t.Errorf("child state %q, want R or S", got.State)
	}
	if got.StartTicks < self.StartTicks {
		t.Errorf("child started at tick %d, before the test process (%d)", got.StartTicks, self.StartTicks)
	}
	// The start time identifies the process: it does not change.
	time.Sleep(30 * time.Millisecond)
	again, err := Default.Stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if again.StartTicks != got.StartTicks {
		t.Errorf("start ticks changed from %d to %d", got.StartTicks, again.StartTicks)
	}
}

func TestLiveZombieThenGone(t *testing.T) {
	child := startChild(t, nil, "sleep", "30")
	pid := child.Process.Pid
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not yet reaped: a zombie, whose stat and status remain.
	waitFor(t, "the child to become a zombie", func() bool {
		s, err := Default.Stat(pid)
		return err == nil && s.State == 'Z'
	})
	if args, err := Default.Cmdline(pid); err != nil || len(args) != 0 {
		t.Errorf("zombie Cmdline: %q, %v; want empty, nil", args, err)
	}
	if inodes, err := Default.SocketInodes(pid); err != nil || len(inodes) != 0 {
		t.Errorf("zombie SocketInodes: %v, %v; want none, nil", inodes, err)
	}
	if _, err := Default.RealUID(pid); err != nil {
		t.Errorf("zombie RealUID: %v", err)
	}

	child.Wait() // reaped: gone
	if _, err := Default.Stat(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat: %v, want fs.ErrNotExist", err)
	}
	if _, err := Default.Cmdline(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Cmdline: %v, want fs.ErrNotExist", err)
	}
	if _, err := Default.RealUID(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RealUID: %v, want fs.ErrNotExist", err)
	}
	if _, err := Default.SocketInodes(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SocketInodes: %v, want fs.ErrNotExist", err)
	}
	stats, err := Default.AllStats()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(stats, func(s Stat) bool { return s.PID == pid }) {
		t.Errorf("AllStats lists the reaped pid %d", pid)
	}
}

func TestLiveAllStatsAndTree(t *testing.T) {
	// sh (own group) ─┬─ sleep            (same group)
	//                 └─ setsid sleep     (own session and group)
	// test ── sleep (joins sh's group, not a descendant of sh)
	sh := startChild(t, &syscall.SysProcAttr{Setpgid: true},
		"sh", "-c", "sleep 30 & setsid sleep 30 & wait")
	shPID := sh.Process.Pid
	sibling := startChild(t, &syscall.SysProcAttr{Setpgid: true, Pgid: shPID}, "sleep", "30")

	var stats []Stat
	var inGroup, ownGroup int
	waitFor(t, "both grandchildren to run sleep", func() bool {
		var err error
		if stats, err = Default.AllStats(); err != nil {
			t.Fatal(err)
		}
		inGroup, ownGroup = 0, 0
		for _, s := range stats {
			if s.PPID == shPID && s.Comm == "sleep" {
				if s.PGRP == shPID {
					inGroup = s.PID
				} else if s.PGRP == s.PID {
					ownGroup = s.PID
				}
			}
		}
		return inGroup != 0 && ownGroup != 0
	})
	t.Cleanup(func() { syscall.Kill(ownGroup, syscall.SIGKILL) }) // not in sh's group

	if !slices.IsSortedFunc(stats, func(a, b Stat) int { return a.PID - b.PID }) {
		t.Error("AllStats is not sorted by PID")
	}
	for _, pid := range []int{1, os.Getpid(), shPID, sibling.Process.Pid} {
		if !slices.ContainsFunc(stats, func(s Stat) bool { return s.PID == pid }) {
			t.Errorf("AllStats lacks pid %d", pid)
		}
	}

	tree := NewTree(KinOf(stats))
	family := []int{shPID, inGroup, ownGroup, sibling.Process.Pid}
	slices.Sort(family)
	group := []int{shPID, inGroup, sibling.Process.Pid}
	slices.Sort(group)
	desc := []int{inGroup, ownGroup}
	slices.Sort(desc)
	if got := tree.Descendants(shPID); !slices.Equal(got, desc) {
		t.Errorf("Descendants(sh) = %v, want %v", got, desc)
	}
	if got := tree.Group(shPID); !slices.Equal(got, group) {
		t.Errorf("Group(sh) = %v, want %v", got, group)
	}
	if got := tree.Family(shPID); !slices.Equal(got, family) {
		t.Errorf("Family(sh) = %v, want %v", got, family)
	}
	mine := tree.Descendants(os.Getpid())
	for _, pid := range family {
		if !slices.Contains(mine, pid) {
			t.Errorf("Descendants(test) = %v lacks %d", mine, pid)
		}
	}
}

func TestLiveCmdline(t *testing.T) {
	self, err := Default.Cmdline(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(self, os.Args) {
		t.Errorf("own Cmdline %q, want os.Args %q", self, os.Args)
	}
	// sh stays (its last command is a builtin) with this argv; an empty
	// argument in the middle survives, spaces stay inside an argument.
	args := []string{"-c", "sleep 30; :", "a b", "", "c"}
	child := startChild(t, nil, "sh", args...)
	// Until the child has exec'd, its cmdline is its parent's (or empty).
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, err = Default.Cmdline(child.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 && got[0] == "sh" {
			break
		}
	}
	if want := append([]string{"sh"}, args...); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
