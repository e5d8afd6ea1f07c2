package cgroup

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testHierarchy sets up a Hierarchy under a temporary root of this host's
// cgroup2 mount, removed at the end with whatever is left in it.
func testHierarchy(t *testing.T) *Hierarchy {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("creating cgroups needs root")
	}
	host, err := ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Resolve("auto", host)
	if err != nil || p.Mount == "" {
		t.Skipf("no writable cgroup2 here: %v %s", err, p.Reason)
	}
	b := make([]byte, 4)
	rand.Read(b)
	p.Root = filepath.Join(p.Mount, fmt.Sprintf("ocp-agent-test-cg-%d-%s", os.Getpid(), hex.EncodeToString(b)))
	p.Self = "" // the test process stays where it is
	h, err := setup(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(t, h) })
	return h
}

// removeTree kills what is left in h's cgroups and removes them and h.
func removeTree(t *testing.T, h *Hierarchy) {
	h.Close()
	es, _ := os.ReadDir(h.root)
	for _, e := range es {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(h.root, e.Name())
		writeFile(filepath.Join(dir, "cgroup.kill"), "1")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if err := syscall.Rmdir(dir); err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Errorf("cleanup: rmdir %s: %v", dir, err)
				}
				break
			}
		}
	}
	if err := syscall.Rmdir(h.root); err != nil {
		t.Errorf("cleanup: rmdir %s: %v", h.root, err)
	}
}

// startIn starts argv straight into c and reaps it at cleanup.
func startIn(t *testing.T, c *Cgroup, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, UseCgroupFD: true, CgroupFD: c.FD()}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v in %s: %v", argv, c.Dir(), err)
	}
	t.Cleanup(func() {
		c.Kill()
		cmd.Wait()
	})
	return cmd
}

// create makes the cgroup of alias in h, closed at the end.
func create(t *testing.T, h *Hierarchy, alias string) *Cgroup {
	t.Helper()
	c, err := h.Create(alias)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func relPath(t *testing.T, c *Cgroup) string {
	host, _ := ReadHost()
	p, _ := Resolve("auto", host)
	return strings.TrimPrefix(c.Dir(), p.Mount)
}

// TestStartIntoCgroup checks clone3 CLONE_INTO_CGROUP on this kernel: the
// program's own first read of /proc/self/cgroup already names its cgroup.
func TestStartIntoCgroup(t *testing.T) {
	h := testHierarchy(t)
	c := create(t, h, "into")
	cmd := exec.Command("cat", "/proc/self/cgroup")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: c.FD()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSelfCgroup(out)
	if want := relPath(t, c); err != nil || got != want {
		t.Fatalf("child's cgroup %q, %v; want %q", got, err, want)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(c.Dir(), &st); err != nil || st.Ino != c.ID() {
		t.Errorf("ID %d, inode %d (%v)", c.ID(), st.Ino, err)
	}
}

// escapeScript double-forks a TERM-ignoring sleep into a session of its
// own, then sleeps itself: the classic process-group escape.
const escapeScript = `setsid sh -c 'trap "" TERM; sleep 1000 & exit 0' & sleep 1000`

// TestKillEscapees: Kill empties a cgroup whose members left the group and
// the parent chain and ignore SIGTERM, and Empty says so without timers.
func TestKillEscapees(t *testing.T) {
	h := testHierarchy(t)
	c := create(t, h, "escape")
	cmd := startIn(t, c, "sh", "-c", escapeScript)
	var pids []int
	waitFor(t, "sh, its sleep and a sleep escaped from its session", func() bool {
		pids, _ = c.Procs()
		escaped := 0
		for _, pid := range pids {
			// The escaped sleep itself, not the setsid'd shell before it
			// has set its trap (a TERM then would end it, and no sleep
			// would escape).
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if sid, err := getsid(pid); err == nil && sid != cmd.Process.Pid && string(comm) == "sleep\n" {
				escaped++
			}
		}
		return len(pids) >= 3 && escaped > 0
	})
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // sh dies of TERM; the escaped sleep ignores it
	waitFor(t, "the TERM-ignoring sleep alone", func() bool {
		pids, _ = c.Procs()
		return len(pids) == 1
	})
	empty, err := c.Empty()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-empty:
		t.Fatal("empty while a member lives")
	default:
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-empty:
	case <-time.After(30 * time.Second):
		t.Fatal("Empty did not fire after Kill")
	}
	if pop, err := c.Populated(); pop || err != nil {
		t.Errorf("populated %v, %v after Kill", pop, err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

// TestKillAllFallback is Kill on kernels without cgroup.kill: freeze and
// SIGKILL each member until none is left.
func TestKillAllFallback(t *testing.T) {
	h := testHierarchy(t)
	c := create(t, h, "fallback")
	cmd := startIn(t, c, "sh", "-c", escapeScript)
	waitFor(t, "three members", func() bool { p, _ := c.Procs(); return len(p) >= 3 })
	if err := c.killAll(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if p, _ := c.Procs(); len(p) != 0 {
		t.Fatalf("left: %v", p)
	}
	if b, _ := os.ReadFile(filepath.Join(c.Dir(), "cgroup.freeze")); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("cgroup.freeze = %q after killAll, want thawed", b)
	}
}

// TestEmptyManyCgroups: one watcher goroutine serves many cgroups, each
// Empty fires when its own cgroup empties and not before, and at once for
// a cgroup that is empty already.
func TestEmptyManyCgroups(t *testing.T) {
	h := testHierarchy(t)
	const n = 20
	var cgs []*Cgroup
	var chans []<-chan struct{}
	before := runtime.NumGoroutine()
	for i := range n {
		c, err := h.Create("many-" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		startIn(t, c, "sleep", "1000")
		waitFor(t, "a member", func() bool { p, _ := c.Populated(); return p })
		ch, err := c.Empty()
		if err != nil {
			t.Fatal(err)
		}
		cgs, chans = append(cgs, c), append(chans, ch)
	}
	if d := runtime.NumGoroutine() - before; d > n/2 {
		t.Errorf("%d goroutines more for %d watched cgroups", d, n)
	}
	for i, c := range cgs {
		if err := c.Kill(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-chans[i]:
		case <-time.After(30 * time.Second):
			t.Fatalf("Empty of %d did not fire", i)
		}
		for j := i + 1; j < n; j++ {
			select {
			case <-chans[j]:
				t.Fatalf("Empty of %d fired when %d was killed", j, i)
			default:
			}
		}
	}
	again, err := cgs[0].Empty()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-again:
	case <-time.After(30 * time.Second):
		t.Fatal("Empty of an empty cgroup did not fire")
	}
}

func TestStats(t *testing.T) {
	h := testHierarchy(t)
	c := create(t, h, "stats")
	startIn(t, c, "sh", "-c", "sleep 1000 & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; wait")
	var s Stats
	var err error
	waitFor(t, "two processes and some CPU time", func() bool {
		s, err = c.Stats()
		return err == nil && s.Processes == 2 && s.CPUSeconds > 0
	})
	hasMem := slices.Contains(h.Controllers(), "memory")
	if (s.MemoryBytes != nil) != hasMem {
		t.Errorf("memory %v with the memory controller on: %v", s.MemoryBytes, hasMem)
	}
	t.Logf("%s: %+v", h.Describe(), s)
}

// TestLimits: limits apply where the controller is on, and are a clear
// error where not (the hybrid hosts these tests run on have none).
func TestLimits(t *testing.T) {
	h := testHierarchy(t)
	c := create(t, h, "limits")
	for _, tc := range []struct {
		ctl, key, file, want string
		l                    Limits
	}{
		{"memory", "memory_max", "memory.max", "1073741824", Limits{MemoryMax: 1 << 30}},
		{"cpu", "cpu_max", "cpu.max", "200000 100000", Limits{CPUMax: "200000 100000"}},
		{"pids", "pids_max", "pids.max", "100", Limits{PidsMax: 100}},
	} {
		t.Run(tc.ctl, func(t *testing.T) {
			err := c.SetLimits(tc.l)
			if !slices.Contains(h.Controllers(), tc.ctl) {
				if !errors.Is(err, ErrNoController) || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), h.Dir()) {
					t.Fatalf("err = %v, want ErrNoController naming %s and %s", err, tc.key, h.Dir())
				}
				if h.CheckLimits(tc.l) == nil {
					t.Error("CheckLimits passed")
				}
				t.Logf("error path: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(c.Dir(), tc.file))
			if got := strings.TrimSpace(string(b)); err != nil || got != tc.want {
				t.Errorf("%s = %q, %v; want %q", tc.file, got, err, tc.want)
			}
		})
	}
	if err := c.SetLimits(Limits{}); err != nil {
		t.Errorf("no limits: %v", err)
	}
}

// TestLimitsEnabled needs a cgroup2 with controllers (a unified host).
func TestLimitsEnabled(t *testing.T) {
	h := testHierarchy(t)
	if len(h.Controllers()) == 0 {
		t.Skipf("no controller can be enabled in %s on this host (hybrid cgroup v1/v2): %s", h.Dir(), h.Describe())
	}
	TestLimits(t)
}

// TestMoveLookupRemove: an adopted process moved in, found again by alias
// as an agent restart would, and the cgroup removed only once empty.
func TestMoveLookupRemove(t *testing.T) {
	h := testHierarchy(t)
	c, err := h.Create("adopted")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := c.Move(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := h.Create("adopted"); !errors.Is(err, ErrPopulated) {
		t.Fatalf("Create of a populated cgroup: %v, want ErrPopulated", err)
	}
	if _, err := h.Lookup("absent"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Lookup of absent: %v, want ErrNotExist", err)
	}
	l, err := h.Lookup("adopted")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := l.Procs(); !slices.Equal(p, []int{cmd.Process.Pid}) {
		t.Errorf("members %v, want [%d]", p, cmd.Process.Pid)
	}
	if as, err := h.Aliases(); err != nil || !slices.Equal(as, []string{"adopted"}) {
		t.Errorf("Aliases = %v, %v", as, err)
	}
	if err := l.Remove(); !errors.Is(err, ErrPopulated) {
		t.Fatalf("Remove of a populated cgroup: %v", err)
	}
	if err := l.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", l.Dir(), err)
	}
}

// TestHolds: membership from /proc/PID/cgroup, and from cgroup.procs when
// that file's path cannot be matched.
func TestHolds(t *testing.T) {
	h := testHierarchy(t)
	a, b := create(t, h, "a"), create(t, h, "b")
	pid := startIn(t, a, "sleep", "1000").Process.Pid
	if a.procPath != relPath(t, a) {
		t.Errorf("procPath %q, want %q", a.procPath, relPath(t, a))
	}
	l, err := h.Lookup("a")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unmapped := *a
	unmapped.procPath = ""
	wrong := *a
	wrong.procPath = "/elsewhere"
	for _, tc := range []struct {
		name string
		c    *Cgroup
		pid  int
		want bool
	}{
		{"member", a, pid, true},
		{"member, looked up", l, pid, true},
		{"member, path unknown", &unmapped, pid, true},
		{"member, path mapped wrong", &wrong, pid, true},
		{"another cgroup's", b, pid, false},
		{"outside", a, os.Getpid(), false},
		{"no such process", a, 1 << 30, false},
	} {
		if got, err := tc.c.Holds(tc.pid); err != nil || got != tc.want {
			t.Errorf("%s: Holds(%d) = %v, %v; want %v", tc.name, tc.pid, got, err, tc.want)
		}
	}
}

// TestAgentLeaf: a process living in the root (the agent under systemd)
// is moved into AgentLeaf when the root is set up.
func TestAgentLeaf(t *testing.T) {
	h := testHierarchy(t)
	root := filepath.Join(h.Dir(), "svc")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Rmdir(filepath.Join(root, AgentLeaf)); syscall.Rmdir(root) })
	self, _ := os.ReadFile("/proc/self/cgroup")
	selfPath, _ := ParseSelfCgroup(self)
	host, _ := ReadHost()
	p, _ := Resolve("auto", host)
	// Move the test process itself in, then let setup move it out again.
	if err := writeFile(filepath.Join(root, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
		t.Fatal(err)
	}
	defer writeFile(filepath.Join(p.Mount, selfPath, "cgroup.procs"), strconv.Itoa(os.Getpid()))
	if _, err := setup(Plan{Root: root, Mount: p.Mount, Self: root}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("/proc/self/cgroup")
	if got, _ := ParseSelfCgroup(b); got != strings.TrimPrefix(filepath.Join(root, AgentLeaf), p.Mount) {
		t.Errorf("own cgroup %q, want the leaf", got)
	}
}

// TestOpen: the config's setting as the agent gives it.
func TestOpen(t *testing.T) {
	if h, desc, err := Open("off"); h != nil || err != nil || !strings.HasPrefix(desc, "off: process groups and a child subreaper") {
		t.Errorf("off: %v, %q, %v", h, desc, err)
	}
	if _, _, err := Open("/tmp/not-a-cgroup"); err == nil || !strings.Contains(err.Error(), "not under a cgroup2 mount") {
		t.Errorf("path outside cgroup2: %v", err)
	}
	if _, _, err := Open("sometimes"); err == nil {
		t.Error("bad setting accepted")
	}
	th := testHierarchy(t) // a root of the tests' own, as a path setting
	dir := filepath.Join(th.Dir(), "root")
	h, desc, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Dir() != dir || !strings.HasPrefix(desc, "cgroup v2 at "+dir) {
		t.Errorf("Open(%s) = %s, %q", dir, h.Dir(), desc)
	}
	c, err := h.Create("open")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Rmdir(dir); err != nil {
		t.Fatal(err)
	}
}
