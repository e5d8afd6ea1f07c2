package procmgr

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// sameFacts compares what does not move between two listings (CPU time
// and elapsed time do).
func sameFacts(a, b Facts) bool {
	return a.Alive == b.Alive && a.User == b.User && a.Cmdline == b.Cmdline &&
		slices.Equal(a.Ports, b.Ports) && a.PortsKnown == b.PortsKnown &&
		a.Processes == b.Processes && (a.MemoryBytes == nil) == (b.MemoryBytes == nil)
}

// TestHeldFilesAnswerAsFresh lists the same targets with fresh files and
// with held ones, opened by the first listing and read again by the next:
// the facts are the same, with cgroups and without.
func TestHeldFilesAnswerAsFresh(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	web := startInCgroup(t, h, "web", "listen-setsid", filepath.Join(dir, "web"))
	readPorts(t, filepath.Join(dir, "web"), 2)
	outside, _ := startListenerOutside(t)
	moved, err := h.Create("moved")
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if err := moved.Move(outside.Process.Pid); err != nil {
		t.Fatal(err)
	}
	st, _ := procfs.Default.Stat(outside.Process.Pid)
	nocg, _ := startListenerOutside(t)
	nst, _ := procfs.Default.Stat(nocg.Process.Pid)
	self, _ := procfs.Default.Stat(os.Getpid())
	// The agent's own listener, which its held files must not hide.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	targets := []Target{
		web,
		{PID: outside.Process.Pid, Ticks: st.StartTicks, Alias: "moved", Adopted: true},
		{PID: nocg.Process.Pid, Ticks: nst.StartTicks, Alias: "nocgroup"},
		{PID: os.Getpid(), Ticks: self.StartTicks, Agent: true},
		{PID: web.PID, Ticks: web.Ticks + 1, Alias: "gone"}, // another start time
	}
	for _, tc := range []struct {
		name string
		h    *cgroup.Hierarchy
	}{{"cgroups", h}, {"no cgroups", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			_, want, err := observeFacts(procfs.Default, tc.h, nil, targets)
			if err != nil {
				t.Fatal(err)
			}
			if agent := want[3]; !slices.Contains(agent.Ports, uint16(ln.Addr().(*net.TCPAddr).Port)) {
				t.Errorf("agent's ports %v lack its listener's", agent.Ports)
			}
			var files openFiles
			defer files.close()
			for i := range 2 {
				_, got, err := observeFacts(procfs.Default, tc.h, &files, targets)
				if err != nil {
					t.Fatal(err)
				}
				for k := range targets {
					if !sameFacts(got[k], want[k]) {
						t.Errorf("listing %d, %s: held %+v, fresh %+v", i, targets[k].Alias, got[k], want[k])
					}
				}
			}
			// Held: files for the live targets with an alias, none for
			// the one of another start time.
			for _, alias := range []string{"web", "moved", "nocgroup", "gone"} {
				e := files.byAlias[alias]
				if held := e != nil && e.proc != nil; held != (alias != "gone") {
					t.Errorf("%s: files held %v", alias, held)
				}
			}
			if e := files.byAlias["web"]; (e.cg != nil) != (tc.h != nil) {
				t.Errorf("web: cgroup files %v with cgroups %v", e.cg != nil, tc.h != nil)
			}
		})
	}
}

// heldFDs returns the fds f holds, each with the file it names now.
func heldFDs(f *openFiles) map[int]string {
	fds := map[int]string{}
	for _, e := range f.byAlias {
		var all []int
		if e.proc != nil {
			p := e.proc.FDs()
			all = append(all, p[:]...)
		}
		if e.cg != nil {
			all = append(all, e.cg.fds()...)
		}
		for _, fd := range all {
			if fd >= 0 {
				fds[fd], _ = os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			}
		}
	}
	return fds
}

// checkClosed fails unless each of fds is closed (or another file now)
// and f has none marked held.
func checkClosed(t *testing.T, f *openFiles, fds map[int]string) {
	t.Helper()
	checkFDsClosed(t, fds)
	if slices.ContainsFunc(f.held, func(w uint64) bool { return w != 0 }) || f.count != 0 {
		t.Errorf("fds still marked held: %x, count %d", f.held, f.count)
	}
}

// checkFDsClosed fails unless each of fds is closed (or another file now).
func checkFDsClosed(t *testing.T, fds map[int]string) {
	t.Helper()
	for fd, name := range fds {
		if now, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && now == name {
			t.Errorf("fd %d (%s) still open", fd, name)
		}
	}
}

// TestHeldFilesFollowChanges: held files give what is true now: a member
// that joined the cgroup, a process that exited (its files closed), a
// cgroup made again for a new start (opened again); the files of aliases
// a listing did not show, and at the end all of them, are closed.
func TestHeldFilesFollowChanges(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	var files openFiles
	list := func(targets ...Target) []Facts {
		t.Helper()
		_, facts, err := observeFacts(procfs.Default, h, &files, targets)
		if err != nil {
			t.Fatal(err)
		}
		return facts
	}
	web := startInCgroup(t, h, "web", "listen-one", filepath.Join(dir, "web"))
	if f := list(web)[0]; !f.Alive || f.Processes != 1 {
		t.Fatalf("web: %+v", f)
	}
	// A second member, started into web's cgroup.
	exe, _ := os.Executable()
	c, err := h.Lookup("web")
	if err != nil {
		t.Fatal(err)
	}
	second := exec.Command(exe, "helper", "listen-one", filepath.Join(dir, "second"))
	second.SysProcAttr = &syscall.SysProcAttr{Setsid: true, UseCgroupFD: true, CgroupFD: c.FD()}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	t.Cleanup(func() { second.Process.Kill(); second.Wait() })
	ports := append(readPorts(t, filepath.Join(dir, "web"), 1), readPorts(t, filepath.Join(dir, "second"), 1)...)
	slices.Sort(ports)
	if f := list(web)[0]; f.Processes != 2 || !slices.Equal(f.Ports, ports) {
		t.Errorf("with a second member: processes %d, ports %v; want 2, %v", f.Processes, f.Ports, ports)
	}
	oldID := files.byAlias["web"].cg.id

	// Both exit; the cgroup is made again for a new start, as Create does.
	syscall.Kill(web.PID, syscall.SIGKILL)
	second.Process.Kill()
	second.Wait()
	waitFor(t, "web's exit", func() bool { return !list(web)[0].Alive })
	var ws syscall.WaitStatus
	syscall.Wait4(web.PID, &ws, 0, nil) // reaped, so that its cgroup is empty
	if e := files.byAlias["web"]; e.proc != nil {
		t.Error("the files of an exited process are still held")
	}
	again := startInCgroup(t, h, "web", "listen-one", filepath.Join(dir, "again"))
	want := readPorts(t, filepath.Join(dir, "again"), 1)
	if f := list(again)[0]; !f.Alive || f.Processes != 1 || !slices.Equal(f.Ports, want) {
		t.Errorf("web started again: %+v, want ports %v", f, want)
	}
	if e := files.byAlias["web"]; e.cg == nil || e.cg.id == oldID {
		t.Errorf("the cgroup made again was not opened again (id %d, before %d)", e.cg.id, oldID)
	}

	other := startInCgroup(t, h, "other", "listen-one", filepath.Join(dir, "other"))
	list(again, other)
	otherFDs := heldFDs(&openFiles{byAlias: map[string]*aliasFiles{"other": files.byAlias["other"]}})
	files.keepOnly([]Target{again})
	if _, ok := files.byAlias["other"]; ok || len(otherFDs) != 5 {
		t.Errorf("keepOnly kept the files of an alias not listed (%d fds)", len(otherFDs))
	}
	checkFDsClosed(t, otherFDs)
	fds := heldFDs(&files)
	files.close()
	checkClosed(t, &files, fds)
	// Closed, it holds nothing and listings read fresh files.
	if f := list(again)[0]; !f.Alive || len(files.byAlias) != 0 {
		t.Errorf("after close: %+v, %d aliases held", f, len(files.byAlias))
	}
}

// TestManagerHoldsFiles: a Manager's listing holds the files of what it
// listed, closes those of a process no longer listed, and all of them
// when it closes.
func TestManagerHoldsFiles(t *testing.T) {
	hi := testCgroups(t)
	h := newHarness(t) // closes the manager and ends web if the test fails
	h.cgroups = hi
	out := filepath.Join(t.TempDir(), "ports")
	m := h.open(spec("web", helper(t, "listen-one", out)))
	s := mustStart(t, m, "web")
	readPorts(t, out, 1)
	target := Target{PID: s.PID, Ticks: s.StartTicks, Alias: "web", Adopted: s.Adopted}
	for range 2 {
		if _, facts, err := m.ObserveFacts([]Target{target}); err != nil || !facts[0].Alive {
			t.Fatalf("%+v, %v", facts, err)
		}
	}
	if e := m.files.byAlias["web"]; e == nil || e.proc == nil || e.cg == nil {
		t.Fatalf("files held for web: %+v", e)
	}
	if _, _, err := m.ObserveFacts(nil); err != nil {
		t.Fatal(err)
	}
	if len(m.files.byAlias) != 0 {
		t.Error("files held for a process no longer listed")
	}
	m.ObserveFacts([]Target{target})
	fds := heldFDs(&m.files)
	if len(fds) != 5 {
		t.Errorf("%d fds held for web, want 5: %v", len(fds), fds)
	}
	if _, err := m.Stop(ctxT(t), "web"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	h.m = nil
	checkClosed(t, &m.files, fds)
}

// TestHeldFilesConcurrent: listings at once, while their files are
// dropped again and again, all answer as fresh files would.
func TestHeldFilesConcurrent(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	var targets []Target
	var want [][]uint16
	for _, alias := range []string{"a", "b", "c"} {
		targets = append(targets, startInCgroup(t, h, alias, "listen-one", filepath.Join(dir, alias)))
		want = append(want, readPorts(t, filepath.Join(dir, alias), 1))
	}
	var files openFiles
	defer files.close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				files.keepOnly(targets[:1])
				runtime.Gosched()
			}
		}
	})
	var listers sync.WaitGroup
	for range 4 {
		listers.Add(1)
		go func() {
			defer listers.Done()
			for range 25 {
				_, facts, err := observeFacts(procfs.Default, h, &files, targets)
				if err != nil {
					t.Error(err)
					return
				}
				for i, f := range facts {
					if !f.Alive || f.Processes != 1 || !slices.Equal(f.Ports, want[i]) {
						t.Errorf("%s: %+v, want ports %v", targets[i].Alias, f, want[i])
					}
				}
			}
		}()
	}
	listers.Wait()
	close(stop)
	wg.Wait()
	files.close()
	checkClosed(t, &files, nil)
}

// TestHeldFilesBudget: beyond the fds it may hold, a listing reads fresh
// files, with the same answers.
func TestHeldFilesBudget(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	var targets []Target
	for _, alias := range []string{"a", "b"} {
		targets = append(targets, startInCgroup(t, h, alias, "listen-one", filepath.Join(dir, alias)))
		readPorts(t, filepath.Join(dir, alias), 1)
	}
	_, want, err := observeFacts(procfs.Default, h, nil, targets)
	if err != nil {
		t.Fatal(err)
	}
	// Room for one process's files and its cgroup's.
	files := openFiles{budget: 6, budgetSet: true}
	defer files.close()
	for range 2 {
		_, got, err := observeFacts(procfs.Default, h, &files, targets)
		if err != nil {
			t.Fatal(err)
		}
		for i := range targets {
			if !sameFacts(got[i], want[i]) {
				t.Errorf("%s: held %+v, fresh %+v", targets[i].Alias, got[i], want[i])
			}
		}
	}
	if files.count > 6 || files.count < 5 {
		t.Errorf("%d fds held, budget 6", files.count)
	}
	if fdBudget() <= 0 {
		t.Errorf("fdBudget %d", fdBudget())
	}
}

// TestHeldFilesAgentPorts: the agent's own ports are found beside the
// held files, which its scan of its fds skips.
func TestHeldFilesAgentPorts(t *testing.T) {
	h := testCgroups(t)
	dir := t.TempDir()
	self, _ := procfs.Default.Stat(os.Getpid())
	agent := Target{PID: os.Getpid(), Ticks: self.StartTicks, Agent: true}
	targets := []Target{agent}
	for i := range 12 {
		alias := "p" + strconv.Itoa(i)
		targets = append(targets, startInCgroup(t, h, alias, "listen-one", filepath.Join(dir, alias)))
		readPorts(t, filepath.Join(dir, alias), 1)
	}
	var files openFiles
	defer files.close()
	if _, _, err := observeFacts(procfs.Default, h, &files, targets); err != nil {
		t.Fatal(err)
	}
	if files.count < 12*5 {
		t.Fatalf("%d fds held for 12 processes", files.count)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // above the held files
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	_, facts, err := observeFacts(procfs.Default, h, &files, targets)
	if err != nil {
		t.Fatal(err)
	}
	if f := facts[0]; !f.PortsKnown || !slices.Contains(f.Ports, port) {
		t.Errorf("agent's ports %v (known %v) lack its listener's %d", f.Ports, f.PortsKnown, port)
	}
	for i, f := range facts[1:] {
		if !f.Alive || len(f.Ports) != 1 {
			t.Errorf("%s: %+v", targets[i+1].Alias, f)
		}
	}
}
