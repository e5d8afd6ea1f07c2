package procmgr

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// testCgroups opens a Hierarchy of the test's own (see cgrouptest).
func testCgroups(tb testing.TB) *cgroup.Hierarchy {
	return cgrouptest.Hierarchy(tb)
}

// startInCgroup creates the cgroup of alias in h and starts the helper in
// it, in a session of its own, as the agent starts a process; it is
// reaped at the end (testCgroups' cleanup kills the cgroup first).
func startInCgroup(tb testing.TB, h *cgroup.Hierarchy, alias string, args ...string) Target {
	tb.Helper()
	c, err := h.Create(alias)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"helper"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, UseCgroupFD: true, CgroupFD: c.FD()}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s in %s: %v", args, c.Dir(), err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	st, err := procfs.Default.Stat(cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return Target{PID: cmd.Process.Pid, Ticks: st.StartTicks, Alias: alias}
}

// readPorts waits for a helper's file of space-separated ports.
func readPorts(t *testing.T, path string, n int) []uint16 {
	t.Helper()
	var ports []uint16
	waitFor(t, path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var ps [3]uint16
		if k, _ := fmt.Sscan(string(b), &ps[0], &ps[1], &ps[2]); k < n {
			return false
		}
		ports = slices.Clone(ps[:n])
		return true
	})
	slices.Sort(ports)
	return ports
}

// TestObserveCgroupPorts lists a process that listens and whose setsid'd
// child listens too: both ports come from the dump by the cgroup's id,
// with no pass over the host's processes; a listener outside the cgroup
// is not the process's.
func TestObserveCgroupPorts(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	web := startInCgroup(t, h, "web", "listen-setsid", filepath.Join(dir, "web"))
	want := readPorts(t, filepath.Join(dir, "web"), 2)
	other := startInCgroup(t, h, "other", "listen-one", filepath.Join(dir, "other"))
	otherPorts := readPorts(t, filepath.Join(dir, "other"), 1)

	o, facts, err := observeFacts(procfs.Default, h, nil, []Target{web, other})
	if err != nil {
		t.Fatal(err)
	}
	if o.tree != nil {
		t.Error("the host's process table was scanned for targets that all have cgroups")
	}
	if o.byCgroup == nil {
		t.Skip("this kernel's sock_diag gives no cgroup ids (before 5.9)")
	}
	for i, tc := range []struct {
		name string
		want []uint16
	}{{"web", want}, {"other", otherPorts}} {
		f := facts[i]
		if !f.Alive || !slices.Equal(f.Ports, tc.want) || !f.PortsKnown {
			t.Errorf("%s: alive %v, ports %v (known %v), want %v", tc.name, f.Alive, f.Ports, f.PortsKnown, tc.want)
		}
	}
	// Two processes in web's cgroup (pids.current counts threads too,
	// where the pids controller is on).
	if f := facts[0]; f.Processes < 2 || (!slices.Contains(h.Controllers(), "pids") && f.Processes != 2) {
		t.Errorf("web: processes = %d, want 2", f.Processes)
	}
}

// startListenerOutside starts a helper listening on one port in the
// test's own cgroup, and returns it once it listens, with its port.
func startListenerOutside(t *testing.T) (*exec.Cmd, []uint16) {
	t.Helper()
	exe, _ := os.Executable()
	out := filepath.Join(t.TempDir(), "port")
	cmd := exec.Command(exe, "helper", "listen-one", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, readPorts(t, out, 1)
}

// TestObserveCgroupMoved is a process that made its socket before it was
// moved into its cgroup: the dump files that socket under its old cgroup,
// so only an adopted target, whose members' fds are scanned too, shows it.
func TestObserveCgroupMoved(t *testing.T) {
	h := testCgroups(t)
	cmd, want := startListenerOutside(t)
	c, err := h.Create("moved")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Move(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	st, _ := procfs.Default.Stat(cmd.Process.Pid)
	target := Target{PID: cmd.Process.Pid, Ticks: st.StartTicks, Alias: "moved"}
	for _, adopted := range []bool{false, true} {
		target.Adopted = adopted
		o, facts, err := observeFacts(procfs.Default, h, nil, []Target{target})
		if err != nil {
			t.Fatal(err)
		}
		if o.byCgroup == nil {
			t.Skip("this kernel's sock_diag gives no cgroup ids (before 5.9)")
		}
		f := facts[0]
		switch {
		case adopted && !slices.Equal(f.Ports, want):
			t.Errorf("adopted: ports %v, want %v (from its fds)", f.Ports, want)
		case !adopted && len(f.Ports) != 0:
			t.Errorf("started: ports %v, want none (its socket belongs to its old cgroup)", f.Ports)
		}
		if f.Processes != 1 {
			t.Errorf("adopted=%v: processes = %d, want 1", adopted, f.Processes)
		}
	}
}

// TestObserveCgroupUsage: a busy process's CPU time grows; its memory is
// memory.current where the memory controller is on, null where not.
func TestObserveCgroupUsage(t *testing.T) {
	h := testCgroups(t)
	busy := startInCgroup(t, h, "busy", "busy")
	var first float64
	waitFor(t, "CPU time of the busy process", func() bool {
		_, facts, err := observeFacts(procfs.Default, h, nil, []Target{busy})
		if err != nil {
			t.Fatal(err)
		}
		f := facts[0]
		if !f.Alive {
			t.Fatalf("busy: alive %v, cpuSeconds %v", f.Alive, f.CPUSeconds)
		}
		if first == 0 {
			first = f.CPUSeconds
			return false
		}
		return f.CPUSeconds > first && f.CPUSeconds > 0.01
	})
	_, facts, _ := observeFacts(procfs.Default, h, nil, []Target{busy})
	mem := facts[0].MemoryBytes
	t.Run("no memory controller", func(t *testing.T) {
		if slices.Contains(h.Controllers(), "memory") {
			t.Skip("the memory controller is on here")
		}
		if mem != nil {
			t.Errorf("memoryBytes = %d without the memory controller, want nil", *mem)
		}
	})
	t.Run("memory controller", func(t *testing.T) {
		if !slices.Contains(h.Controllers(), "memory") {
			t.Skipf("the memory controller is not enabled in %s (%s)", h.Dir(), h.Describe())
		}
		if mem == nil || *mem < 1<<20 {
			t.Errorf("memoryBytes = %v, want the busy process's memory (over 1 MiB)", mem)
		}
	})
}

// TestObserveCgroupFallbacks: a target whose alias has no cgroup falls
// back to its family (taking the tree late), and the agent's own target
// reports its own sockets and CPU time.
func TestObserveCgroupFallbacks(t *testing.T) {
	h := testCgroups(t)
	cmd, want := startListenerOutside(t)
	st, _ := procfs.Default.Stat(cmd.Process.Pid)
	self, _ := procfs.Default.Stat(os.Getpid())
	_, facts, err := observeFacts(procfs.Default, h, nil, []Target{
		{PID: cmd.Process.Pid, Ticks: st.StartTicks, Alias: "nocgroup"},
		{PID: os.Getpid(), Ticks: self.StartTicks, Agent: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := facts[0]; !slices.Equal(f.Ports, want) || !f.PortsKnown || f.Processes != 1 || f.MemoryBytes != nil {
		t.Errorf("no cgroup: ports %v (known %v), processes %d, memory %v; want %v, 1, nil", f.Ports, f.PortsKnown, f.Processes, f.MemoryBytes, want)
	}
	if f := facts[1]; !f.Alive || f.Processes != 1 || f.CPUSeconds <= 0 {
		t.Errorf("agent: %+v", f)
	}
}

// TestObserveWithoutCgroups: without cgroups, the count is the family's
// and there is no CPU or memory figure.
func TestObserveWithoutCgroups(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ports")
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "helper", "listen", out)
	// In a group of its own, which its child joins: the cleanup kills
	// both, or the child would outlive the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	readPorts(t, out, 3)
	st, _ := procfs.Default.Stat(cmd.Process.Pid)
	_, facts, err := ObserveFacts(procfs.Default, []Target{{PID: cmd.Process.Pid, Ticks: st.StartTicks, Alias: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if f := facts[0]; f.Processes != 2 || f.CPUSeconds < 0 || f.MemoryBytes != nil {
		t.Errorf("processes %d, cpu %v, memory %v; want 2 (it and its child), >= 0, nil", f.Processes, f.CPUSeconds, f.MemoryBytes)
	}
	// A busy process's CPU time, from its stat, grows.
	busy := exec.Command(exe, "helper", "busy")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Process.Kill(); busy.Wait() })
	bst, _ := procfs.Default.Stat(busy.Process.Pid)
	waitFor(t, "CPU time of a busy process without cgroups", func() bool {
		_, facts, err := ObserveFacts(procfs.Default, []Target{{PID: busy.Process.Pid, Ticks: bst.StartTicks}})
		return err == nil && facts[0].Alive && facts[0].CPUSeconds >= 0.05
	})
}

// TestCgroupLimitsRefused: limits that cannot be set are refused by New
// (cgroups off) and by CheckCgroupLimits (a controller not enabled),
// naming the key; where a controller is on, applyLimits writes its file.
func TestCgroupLimitsRefused(t *testing.T) {
	h := newHarness(t)
	s := spec("capped", "sleep 100")
	s.CgroupLimits = cgroup.Limits{MemoryMax: 1 << 30}
	_, err := New(Options{Store: h.store, OutputDir: t.TempDir()}, []Spec{s})
	if !errors.Is(err, cgroup.ErrNoController) || !containsAll(err.Error(), "capped", "memory_max", "cgroups are off") {
		t.Errorf("New with memory_max and no cgroups: %v", err)
	}
	hi := testCgroups(t)
	for _, tc := range []struct {
		key        string
		controller string
		l          cgroup.Limits
		file, want string
	}{
		{"memory_max", "memory", cgroup.Limits{MemoryMax: 1 << 30}, "memory.max", "1073741824"},
		{"cpu_max", "cpu", cgroup.Limits{CPUMax: "50000 100000"}, "cpu.max", "50000 100000"},
		{"pids_max", "pids", cgroup.Limits{PidsMax: 64}, "pids.max", "64"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := CheckCgroupLimits(hi, tc.l)
			if !slices.Contains(hi.Controllers(), tc.controller) {
				if !errors.Is(err, cgroup.ErrNoController) || !containsAll(err.Error(), tc.key+" needs the "+tc.controller+" controller", hi.Dir()) {
					t.Errorf("CheckCgroupLimits: %v", err)
				}
				p := &proc{spec: Spec{Alias: "l-" + tc.controller, CgroupLimits: tc.l}}
				c, err := hi.Create(p.spec.Alias)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := p.applyLimits(c); !errors.Is(err, cgroup.ErrNoController) {
					t.Errorf("applyLimits without the controller: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckCgroupLimits with %s on: %v", tc.controller, err)
			}
			p := &proc{spec: Spec{Alias: "l-" + tc.controller, CgroupLimits: tc.l}}
			c, err := hi.Create(p.spec.Alias)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := p.applyLimits(c); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(c.Dir(), tc.file))
			if got := string(b); got != tc.want+"\n" {
				t.Errorf("%s = %q, want %q", tc.file, got, tc.want)
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestReadSmallGrows: a file longer than the buffer (a cgroup.procs of
// many processes) is read whole.
func TestReadSmallGrows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procs")
	want := strings.Repeat("1234567\n", 2000)
	os.WriteFile(path, []byte(want), 0o644)
	for _, size := range []int{0, 1, 4096, 16000, 16001} {
		got, err := readSmall(path, make([]byte, 0, size+1))
		if err != nil || string(got) != want {
			t.Errorf("buffer %d: read %d bytes, %v", size+1, len(got), err)
		}
	}
}

// TestManagerObserveCgroups goes through the real start: a Manager with
// cgroups spawns the process into its alias's cgroup, and its listing
// finds both ports, the setsid'd child's too, from the dump.
func TestManagerObserveCgroups(t *testing.T) {
	hi := testCgroups(t)
	h := newHarness(t)
	out := filepath.Join(t.TempDir(), "ports")
	m, err := New(Options{Store: h.store, OutputDir: h.outDir, Cgroups: hi}, []Spec{spec("web", helper(t, "listen-setsid", out))})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	s := mustStart(t, m, "web")
	want := readPorts(t, out, 2)
	o, facts, err := m.ObserveFacts([]Target{{PID: s.PID, Ticks: s.StartTicks, Alias: "web", Adopted: s.Adopted}})
	if err != nil {
		t.Fatal(err)
	}
	if o.byCgroup == nil {
		t.Skip("this kernel's sock_diag gives no cgroup ids (before 5.9)")
	}
	if f := facts[0]; s.Adopted || o.tree != nil || !slices.Equal(f.Ports, want) || f.Processes != 2 {
		t.Errorf("adopted %v, tree taken %v, ports %v (want %v), processes %d (want 2)", s.Adopted, o.tree != nil, f.Ports, want, f.Processes)
	}
}
