package procmgr

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// cgroupHarness is a harness whose managers contain their processes in
// cgroups under a temporary root of the test's own. The hierarchy is made
// first, so that the managers are closed before it is removed.
func cgroupHarness(t *testing.T) *harness {
	if os.Getenv(cgroupTestsEnv) != "" {
		return newHarness(t)
	}
	hier := cgrouptest.Hierarchy(t)
	h := newHarness(t)
	h.cgroups = hier
	return h
}

// readPort waits for a helper to write its port to file.
func readPort(t *testing.T, file string) int {
	t.Helper()
	var port int
	waitFor(t, "the helper's port in "+file, func() bool {
		b, _ := os.ReadFile(file)
		port, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return port > 0
	})
	return port
}

// portFree reports whether the TCP port can be bound on 127.0.0.1.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// members lists the pids in alias's cgroup.
func members(t *testing.T, h *harness, alias string) []int {
	t.Helper()
	return cgroupProcs(t, h.cgroups, alias)
}

// Each way of leaving the process group or the parent chain leaves the
// process in its cgroup: the stop ends it, and its port is free.
func TestStopLeavesNoEscapedProcess(t *testing.T) {
	for _, mode := range []string{"escape-setsid", "escape-double-fork", "escape-ignore-term"} {
		t.Run(mode, func(t *testing.T) {
			h := cgroupHarness(t)
			portFile := filepath.Join(t.TempDir(), "port")
			sp := spec("p", helper(t, mode, portFile))
			sp.StopTimeout = 500 * time.Millisecond
			m := h.open(sp)
			s := mustStart(t, m, "p")
			port := readPort(t, portFile)
			if portFree(port) {
				t.Fatalf("port %d free while the helper runs", port)
			}
			if n := len(members(t, h, "p")); n < 2 {
				t.Fatalf("cgroup holds %d processes, want the helper and its escaped child", n)
			}
			got, err := m.Stop(ctxT(t), "p")
			if err != nil {
				t.Fatalf("stop: %v", err)
			}
			if got.Running || got.PID != 0 {
				t.Errorf("stop snapshot = %+v", got)
			}
			if pids := members(t, h, "p"); len(pids) != 0 {
				t.Errorf("cgroup still holds %v after the stop answered", pids)
			}
			if !portFree(port) {
				t.Errorf("port %d still bound after the stop answered", port)
			}
			if alive(s.PID) {
				t.Errorf("main pid %d alive", s.PID)
			}
		})
	}
}

// A program that daemonizes without pid_file: its launcher exits 0, and
// the process it left in the cgroup is the one followed, then stopped.
func TestDaemonWithoutPidFileIsFollowed(t *testing.T) {
	h := cgroupHarness(t)
	pidFile := filepath.Join(t.TempDir(), "d.pid") // written by the daemon; not configured
	sp := spec("p", helper(t, "daemonize", pidFile))
	sp.StartWait = 3 * time.Second
	m := h.open(sp)
	s := mustStart(t, m, "p")
	b, _ := os.ReadFile(pidFile)
	if want, _ := strconv.Atoi(strings.TrimSpace(string(b))); s.PID != want {
		t.Fatalf("following pid %d, the daemon is %d", s.PID, want)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if alive(s.PID) {
		t.Errorf("daemon %d alive after stop", s.PID)
	}
}

// A launcher that exits 0 and leaves nothing is a failed start, as before.
func TestLauncherLeavingNothingFailsTheStart(t *testing.T) {
	h := cgroupHarness(t)
	m := h.open(spec("p", "true"))
	if _, err := m.Start(ctxT(t), "p"); err == nil {
		t.Fatal("start of `true` succeeded")
	}
}

// The cgroup named after the alias is an identity that survives a lost
// state_dir: a fresh agent adopts what runs in it instead of starting a
// second copy.
func TestFreshAgentAdoptsItsCgroup(t *testing.T) {
	h := cgroupHarness(t)
	sp := spec("p", "sleep 1000")
	m := h.open(sp)
	s := mustStart(t, m, "p")
	m.Close()
	h.m = nil
	h.store = state.NewMemory() // the state_dir is lost
	sp.Autostart = true
	m = h.open(sp)
	got, _ := m.Snapshot("p")
	if !got.Running || got.PID != s.PID {
		t.Fatalf("fresh agent: %+v, want pid %d adopted", got, s.PID)
	}
	again := mustStart(t, m, "p")
	if again.PID != s.PID {
		t.Errorf("start gave pid %d, want the adopted %d", again.PID, s.PID)
	}
	if pids := members(t, h, "p"); !slices.Equal(pids, []int{s.PID}) {
		t.Errorf("cgroup holds %v, want only %d (no second copy)", pids, s.PID)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
}

// An agent killed in the middle of a stop of a group whose leader died on
// SIGTERM while a member ignores it: the next agent finishes the stop,
// with cgroups (the member is in the cgroup) and without (the member still
// carries the recorded group's ids).
func TestInterruptedStopIsFinished(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			if mode == "cgroup" {
				h = cgroupHarness(t)
			}
			sp := spec("p", `sh -c 'trap "" TERM; exec sleep 1003' & sleep 1004`)
			sp.StopTimeout = 500 * time.Millisecond
			m := h.open(sp)
			s := mustStart(t, m, "p")
			var member int
			waitFor(t, "sleep 1003", func() bool {
				member = groupMember(s.PID, "sleep 1003")
				return member != 0
			})
			t.Cleanup(func() { syscall.Kill(member, syscall.SIGKILL) })
			// The agent dies; the stop it began has recorded STOPPED and
			// sent SIGTERM, which the leader died of.
			m.Close()
			h.m = nil
			rec, _, _ := h.store.Get("p")
			rec.Desired = state.DesiredStopped
			h.store.Put(rec)
			syscall.Kill(-s.PID, syscall.SIGTERM)
			waitFor(t, "the leader's death", func() bool { return !alive(s.PID) })
			if !alive(member) {
				t.Fatalf("member %d died of SIGTERM", member)
			}
			m = h.open(sp)
			waitFor(t, "the stop finished", func() bool {
				got, _ := m.Snapshot("p")
				return !alive(member) && !got.Running && got.Phase == "stopped"
			})
		})
	}
}

// groupMember returns the pid of the live member of process group pgid
// whose command line is cmdline, or 0.
func groupMember(pgid int, cmdline string) int {
	stats, _ := procfs.Default.AllStats()
	for _, st := range stats {
		if st.PGRP != pgid || st.PID == pgid || st.State == 'Z' {
			continue
		}
		if argv, _ := procfs.Default.Cmdline(st.PID); strings.Join(argv, " ") == cmdline {
			return st.PID
		}
	}
	return 0
}

// Without cgroups the agent is a child subreaper: a double-forked
// descendant is reparented to it rather than to init, and reaped by it
// once it exits (no zombie is left).
func TestSubreaperKeepsDoubleForkedChild(t *testing.T) {
	if os.Getenv(cgroupTestsEnv) != "" {
		t.Skip("the subreaper is the mode without cgroups")
	}
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "sleeper")
	m := h.open(spec("p", helper(t, "double-fork-sleep", pidFile)))
	mustStart(t, m, "p")
	sleeper := readPort(t, pidFile) // a pid, written like a port
	t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
	var st procfs.Stat
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, _ = procfs.Default.Stat(sleeper)
		if st.PPID == os.Getpid() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("double-forked sleeper %d has parent %d, want the agent %d", sleeper, st.PPID, os.Getpid())
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(sleeper, syscall.SIGKILL)
	waitFor(t, "the orphan reaped", func() bool {
		_, err := procfs.Default.Stat(sleeper)
		return err != nil
	})
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
}

// The cgroup of an alias removed from the config goes with it: on a reload
// once its stop emptied it, and at the agent's start when it is empty.
func TestRemovedAliasLosesItsCgroup(t *testing.T) {
	h := cgroupHarness(t)
	stale, err := h.cgroups.Create("stale")
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	a, b := spec("a", "sleep 1000"), spec("b", "sleep 1000")
	b.ID = 2
	m := h.open(a, b)
	if _, err := h.cgroups.Lookup("stale"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty cgroup of an unconfigured alias kept: %v", err)
	}
	s := mustStart(t, m, "a")
	if _, err := m.Update([]Spec{b}); err != nil {
		t.Fatal(err)
	}
	if alive(s.PID) {
		t.Errorf("removed alias's pid %d alive", s.PID)
	}
	if _, err := h.cgroups.Lookup("a"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup of the removed alias kept: %v", err)
	}
}
