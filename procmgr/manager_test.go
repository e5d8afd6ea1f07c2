package procmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/internal/freezer"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// harness runs managers over one store, as successive agent lifetimes
// would, and kills whatever its processes left behind when the test ends.
type harness struct {
	t             *testing.T
	store         *state.Memory
	outDir        string
	outputMaxSize int64
	backoff       Backoff
	killWait      time.Duration
	log           *zap.Logger       // nil: the test's log
	cgroups       *cgroup.Hierarchy // nil: no containment (the default of these tests)
	m             *Manager
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, store: state.NewMemory(), outDir: t.TempDir()}
	if os.Getenv(cgroupTestsEnv) != "" {
		// Made before h.cleanup is registered, so that the managers are
		// closed before the hierarchy is removed.
		h.cgroups = cgrouptest.Hierarchy(t)
	}
	t.Cleanup(h.cleanup)
	return h
}

// cgroupTestsEnv, when set, runs every harness's managers with cgroups
// (under a temporary root), so that the whole suite runs in both modes;
// by default they run without (process groups and the subreaper), and the
// tests of containment_test.go make their own cgroup harnesses.
const cgroupTestsEnv = "OCP_AGENT_TEST_CGROUPS"

// open starts a manager (an agent lifetime) on the harness's store.
func (h *harness) open(specs ...Spec) *Manager {
	h.t.Helper()
	if h.m != nil {
		h.m.Close()
	}
	log := h.log
	if log == nil {
		log = zaptest.NewLogger(h.t)
	}
	m, err := New(Options{Store: h.store, OutputDir: h.outDir, PidDir: filepath.Join(h.outDir, "run"),
		OutputMaxSize: h.outputMaxSize, Backoff: h.backoff, KillWait: h.killWait, Logger: log, Cgroups: h.cgroups}, specs)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	h.m = m
	return m
}

func (h *harness) cleanup() {
	if h.m == nil {
		return
	}
	snaps := h.m.Snapshots()
	h.m.Close()
	for _, s := range snaps {
		if s.PID > 0 {
			syscall.Kill(-s.PID, syscall.SIGKILL)
			syscall.Kill(s.PID, syscall.SIGKILL)
		}
	}
}

// spec returns a Spec with short timings for tests.
func spec(alias, command string) Spec {
	return Spec{
		Alias: alias, ID: 1, Command: command, StopSignal: syscall.SIGTERM,
		StopTimeout: 2 * time.Second, StartWait: 200 * time.Millisecond,
		// The agent's environment is not passed on: helpers built with
		// -race need this one to exit at once (TestMain).
		Environment: map[string]string{"GORACE": "atexit_sleep_ms=0"},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, err := procfs.Default.Stat(pid)
	return err == nil && st.State != 'Z'
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustStart(t *testing.T, m *Manager, alias string) Snapshot {
	t.Helper()
	s, err := m.Start(ctxT(t), alias)
	if err != nil {
		t.Fatalf("start %s: %v", alias, err)
	}
	if !s.Running || s.PID <= 0 || !alive(s.PID) {
		t.Fatalf("start %s: snapshot %+v, alive %v", alias, s, alive(s.PID))
	}
	return s
}

// waitReady waits for the ignore-term helper of alias to say "ready": its
// SIGTERM handler is in place. start_wait alone does not promise that on a
// loaded machine, and a SIGTERM before it would end the helper.
func (h *harness) waitReady(t *testing.T, alias string) {
	t.Helper()
	waitFor(t, alias+" ready", func() bool {
		out, _ := os.ReadFile(filepath.Join(h.outDir, alias+".log"))
		return strings.Contains(string(out), "ready")
	})
}

func TestStopSequences(t *testing.T) {
	tests := []struct {
		name        string
		command     func(t *testing.T, dir string) string
		timeout     time.Duration
		minDuration time.Duration
		exitCode    int
	}{
		{
			name:     "cooperative process exits on SIGTERM",
			command:  func(*testing.T, string) string { return "sleep 1000" },
			timeout:  5 * time.Second,
			exitCode: 128 + int(syscall.SIGTERM),
		},
		{
			name:        "process ignoring SIGTERM is killed after the grace",
			command:     func(t *testing.T, _ string) string { return helper(t, "ignore-term") },
			timeout:     300 * time.Millisecond,
			minDuration: 300 * time.Millisecond,
			exitCode:    128 + int(syscall.SIGKILL),
		},
		{
			name:        "shell command line runs under sh and is stopped",
			command:     func(*testing.T, string) string { return "sleep 1000; echo never" },
			timeout:     5 * time.Second,
			minDuration: 0,
			exitCode:    128 + int(syscall.SIGTERM),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sp := spec("p", tc.command(t, t.TempDir()))
			sp.StopTimeout = tc.timeout
			m := h.open(sp)
			s := mustStart(t, m, "p")
			if tc.minDuration > 0 {
				h.waitReady(t, "p")
			}
			t0 := time.Now()
			got, err := m.Stop(ctxT(t), "p")
			took := time.Since(t0)
			if err != nil {
				t.Fatalf("stop: %v", err)
			}
			if got.Running || got.PID != 0 || got.Phase != "stopped" || got.Desired != state.DesiredStopped {
				t.Errorf("stop snapshot = %+v", got)
			}
			if alive(s.PID) {
				t.Errorf("pid %d still alive after the stop answered", s.PID)
			}
			if took < tc.minDuration {
				t.Errorf("stop took %v, before the grace of %v ended", took, tc.minDuration)
			}
			if got.LastExitCode == nil || *got.LastExitCode != tc.exitCode {
				t.Errorf("lastExitCode = %v, want %d", got.LastExitCode, tc.exitCode)
			}
			// The answer comes before the write of the exit (see
			// TestStopAnswersBeforeRecordingTheExit); the write follows.
			var rec state.Record
			waitFor(t, "the stop recorded", func() bool {
				rec, _, _ = h.store.Get("p")
				return rec.PID == 0
			})
			if rec.Desired != state.DesiredStopped || rec.LastExitCode == nil || *rec.LastExitCode != tc.exitCode {
				t.Errorf("record after stop = %+v", rec)
			}
		})
	}
}

func TestStopKillsChildThatIgnoresTerm(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	sp := spec("p", helper(t, "child-ignores-term", pidFile))
	sp.StopTimeout = 300 * time.Millisecond
	m := h.open(sp)
	s := mustStart(t, m, "p")
	var child int
	waitFor(t, "child pid", func() bool {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(string(b))
		return child > 0
	})
	if !alive(child) {
		t.Fatalf("child %d not alive", child)
	}
	got, err := m.Stop(ctxT(t), "p")
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if alive(s.PID) || alive(child) {
		t.Errorf("after stop: leader %d alive %v, child %d alive %v", s.PID, alive(s.PID), child, alive(child))
	}
	if got.Running {
		t.Errorf("snapshot still running: %+v", got)
	}
}

func TestStopIsIdempotent(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "sleep 1000"))
	mustStart(t, m, "p")
	first, err := m.Stop(ctxT(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	second, err := m.Stop(ctxT(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	if second.Running || second.LastExitCode == nil || *second.LastExitCode != *first.LastExitCode ||
		!second.UpdateTime.Equal(first.UpdateTime) {
		t.Errorf("second stop changed the record: first %+v second %+v", first, second)
	}
}

func TestConcurrentStopsShareOneSequence(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", helper(t, "ignore-term"))
	sp.StopTimeout = 500 * time.Millisecond
	m := h.open(sp)
	mustStart(t, m, "p")
	h.waitReady(t, "p")
	const n = 8
	var wg sync.WaitGroup
	results := make([]Snapshot, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = m.Stop(ctxT(t), "p")
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("stop %d: %v", i, errs[i])
		}
		if results[i] != results[0] {
			t.Errorf("stop %d got %+v, stop 0 got %+v", i, results[i], results[0])
		}
	}
	out, _ := os.ReadFile(filepath.Join(h.outDir, "p.log"))
	if c := strings.Count(string(out), "got SIGTERM"); c != 1 {
		t.Errorf("process got %d SIGTERMs, want 1 (output %q)", c, out)
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name      string
		command   string
		status    int
		output    string
		wantCause bool
	}{
		{name: "exits during start-up", command: "echo first; echo boom >&2; exit 3", status: 3, output: "first\nboom"},
		{name: "killed by a signal during start-up", command: "kill -9 $$", status: 137},
		{name: "command not found", command: "/nonexistent/program --flag", status: -1, wantCause: true},
		{name: "not executable", command: "/etc/hostname", status: -1, wantCause: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sp := spec("p", tc.command)
			sp.StartWait = time.Second
			m := h.open(sp)
			_, err := m.Start(ctxT(t), "p")
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("start error = %v, want *StartError", err)
			}
			if se.ExitStatus != tc.status {
				t.Errorf("exit status = %d, want %d", se.ExitStatus, tc.status)
			}
			if (se.Cause != nil) != tc.wantCause {
				t.Errorf("cause = %v", se.Cause)
			}
			if !strings.Contains(se.Output, tc.output) {
				t.Errorf("output = %q, want it to hold %q", se.Output, tc.output)
			}
			if s, _ := m.Snapshot("p"); s.Running {
				t.Errorf("snapshot after failed start: %+v", s)
			}
		})
	}
}

func TestStartIsIdempotent(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "sleep 1000"))
	first := mustStart(t, m, "p")
	second := mustStart(t, m, "p")
	if second.PID != first.PID {
		t.Errorf("second start made pid %d, first %d: a second copy", second.PID, first.PID)
	}
}

func TestRestartMakesNewInstance(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "sleep 1000"))
	first := mustStart(t, m, "p")
	got, err := m.Restart(ctxT(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Running || got.PID == first.PID || alive(first.PID) || !alive(got.PID) {
		t.Errorf("restart: old %d (alive %v), new %+v", first.PID, alive(first.PID), got)
	}
}

func TestAgentRestartAdoptsRunningProcess(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.Autostart = true
	m := h.open(sp)
	var first Snapshot
	waitFor(t, "autostart", func() bool { first, _ = m.Snapshot("p"); return first.Phase == "running" })

	m = h.open(sp) // the agent restarts
	got, _ := m.Snapshot("p")
	if !got.Running || got.PID != first.PID || got.StartTicks != first.StartTicks {
		t.Fatalf("after agent restart: %+v, want pid %d adopted", got, first.PID)
	}
	// The adopted process is stopped through its group, and its exit is
	// noticed although it is no child of this manager.
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if alive(first.PID) {
		t.Errorf("pid %d alive after stop", first.PID)
	}
}

func TestDesiredStoppedSurvivesAgentRestart(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.Autostart = true
	m := h.open(sp)
	waitFor(t, "autostart", func() bool { s, _ := m.Snapshot("p"); return s.Phase == "running" })
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	m = h.open(sp)
	time.Sleep(300 * time.Millisecond)
	if s, _ := m.Snapshot("p"); s.Running || s.Desired != state.DesiredStopped {
		t.Errorf("after agent restart a stopped process is %+v", s)
	}
}

func TestRecycledPidIsNeverAdoptedNorSignalled(t *testing.T) {
	h := newHarness(t)
	// A process this test started, recorded with a start time that is not
	// its own, as if its pid had been reused since the record was written.
	stranger := startSleep(t, "1000")
	st, err := procfs.Default.Stat(stranger)
	if err != nil {
		t.Fatal(err)
	}
	boot, _ := procfs.Default.BootID()
	h.store.Put(state.Record{Alias: "p", ID: 1, PID: stranger, StartTicks: st.StartTicks - 1, BootID: boot,
		Group: true, Desired: state.DesiredStopped})
	m := h.open(spec("p", "sleep 1000"))
	if s, _ := m.Snapshot("p"); s.Running {
		t.Fatalf("recycled pid adopted: %+v", s)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if !alive(stranger) {
		t.Errorf("the agent signalled pid %d, which it never started", stranger)
	}
}

func TestRebootInvalidatesRecordedPid(t *testing.T) {
	h := newHarness(t)
	stranger := startSleep(t, "1000")
	st, _ := procfs.Default.Stat(stranger)
	h.store.Put(state.Record{Alias: "p", ID: 1, PID: stranger, StartTicks: st.StartTicks, BootID: "another-boot",
		Desired: state.DesiredStopped})
	m := h.open(spec("p", "sleep 1000"))
	if s, _ := m.Snapshot("p"); s.Running {
		t.Fatalf("pid from another boot adopted: %+v", s)
	}
	if !alive(stranger) {
		t.Errorf("pid %d signalled", stranger)
	}
}

// startSleep starts a process outside any manager and kills it at the end.
func startSleep(t *testing.T, seconds string) int {
	t.Helper()
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", seconds}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p.Pid
}

func TestAutorestartAfterCrash(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.Autorestart = true
	m := h.open(sp)
	first := mustStart(t, m, "p")
	syscall.Kill(first.PID, syscall.SIGKILL)
	var got Snapshot
	waitFor(t, "restart", func() bool {
		got, _ = m.Snapshot("p")
		return got.Phase == "running" && got.PID != first.PID
	})
	if got.RestartCount != 1 || got.LastExitCode == nil || *got.LastExitCode != 137 {
		t.Errorf("after crash and restart: %+v (exit %v)", got, got.LastExitCode)
	}
}

func TestNoAutorestartLeavesItStopped(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "sleep 1000"))
	first := mustStart(t, m, "p")
	syscall.Kill(first.PID, syscall.SIGKILL)
	waitFor(t, "exit noticed", func() bool { s, _ := m.Snapshot("p"); return !s.Running })
	time.Sleep(1500 * time.Millisecond)
	if s, _ := m.Snapshot("p"); s.Running || s.Phase != "stopped" {
		t.Errorf("restarted without autorestart: %+v", s)
	}
}

func TestStopDuringBackoffWins(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.Autorestart = true
	m := h.open(sp)
	first := mustStart(t, m, "p")
	syscall.Kill(first.PID, syscall.SIGKILL)
	waitFor(t, "backoff", func() bool { s, _ := m.Snapshot("p"); return s.Phase == "backoff" })
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the first back-off
	if s, _ := m.Snapshot("p"); s.Running {
		t.Errorf("restarted after an explicit stop: %+v", s)
	}
}

func TestStopDuringStartWinsOnceSettled(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.StartWait = 500 * time.Millisecond
	m := h.open(sp)
	startDone := make(chan error, 1)
	go func() { _, err := m.Start(ctxT(t), "p"); startDone <- err }()
	waitFor(t, "starting", func() bool { s, _ := m.Snapshot("p"); return s.Phase == "starting" })
	got, err := m.Stop(ctxT(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-startDone; err != nil {
		t.Errorf("start: %v", err)
	}
	if got.Running {
		t.Errorf("stop during start: %+v", got)
	}
}

func TestRunAsNobody(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running as another user needs root")
	}
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.User = "nobody"
	m := h.open(sp)
	s := mustStart(t, m, "p")
	o, err := Observe(procfs.Default)
	if err != nil {
		t.Fatal(err)
	}
	if f := o.Facts(s.PID, s.StartTicks); f.User != "nobody" {
		t.Errorf("user = %q, want nobody", f.User)
	}
}

func TestFollowsDaemonThroughPidFile(t *testing.T) {
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "d.pid")
	sp := spec("p", helper(t, "daemonize", pidFile))
	sp.PidFile = pidFile
	// Long enough for the race-built helper to start and write its pid
	// on a loaded machine.
	sp.StartWait = 3 * time.Second
	// Whatever happens to the start, the daemon this test made goes: the
	// one whose command line names this test's own pid file.
	t.Cleanup(func() {
		b, _ := os.ReadFile(pidFile)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			if argv, err := procfs.Default.Cmdline(pid); err == nil && slices.Contains(argv, pidFile) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	m := h.open(sp)
	s := mustStart(t, m, "p")
	b, _ := os.ReadFile(pidFile)
	if want, _ := strconv.Atoi(strings.TrimSpace(string(b))); s.PID != want {
		t.Fatalf("following pid %d, pid file says %d", s.PID, want)
	}
	t.Cleanup(func() { killIfSame(s) })
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if alive(s.PID) {
		t.Errorf("daemon %d alive after stop", s.PID)
	}
}

func TestMatchAdoptsInstanceStartedElsewhere(t *testing.T) {
	h := newHarness(t)
	// A duration no other test uses, so that only this test's process matches.
	unique := fmt.Sprintf("1000.%d", time.Now().UnixNano()%1e9)
	stranger := startSleep(t, unique)
	sp := spec("p", "sleep "+unique)
	sp.Match = regexp.MustCompile(`^sleep ` + regexp.QuoteMeta(unique) + `$`)
	sp.Autostart = true
	m := h.open(sp)
	s, _ := m.Snapshot("p")
	if !s.Running || s.PID == 0 {
		t.Fatalf("match did not adopt: %+v", s)
	}
	// The oldest match is adopted: the stranger, or an older sleep 1000.
	if st, _ := procfs.Default.Stat(s.PID); st.StartTicks > mustTicks(t, stranger) {
		t.Errorf("adopted pid %d, younger than %d", s.PID, stranger)
	}
}

func mustTicks(t *testing.T, pid int) uint64 {
	st, err := procfs.Default.Stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st.StartTicks
}

// cuttingStore is a store whose writes can be cut off, as if the agent
// were killed: once cut, a write blocks until released and never lands.
type cuttingStore struct {
	*state.Memory
	mu      sync.Mutex
	pass    int           // writes still let through before the cut; -1: no cut
	held    chan struct{} // closed when a write is held at the cut
	release chan struct{} // closed to let held writes return (unwritten)
}

// newCuttingStore is a cuttingStore that lets every write through until
// cutAfter.
func newCuttingStore() *cuttingStore {
	return &cuttingStore{Memory: state.NewMemory(), pass: -1,
		held: make(chan struct{}), release: make(chan struct{})}
}

// cutAfter lets n more writes through, then holds the next; -1 lets all
// through again.
func (s *cuttingStore) cutAfter(n int) {
	s.mu.Lock()
	s.pass = n
	s.mu.Unlock()
}

// openCutting opens a manager of one process p (sleep 1000) on cs, its
// output and pid files in outDir, as an agent started again would.
func openCutting(t *testing.T, cs *cuttingStore, outDir string) *Manager {
	t.Helper()
	m, err := New(Options{Store: cs, OutputDir: outDir, PidDir: filepath.Join(outDir, "run"),
		Logger: zaptest.NewLogger(t)}, []Spec{spec("p", "sleep 1000")})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *cuttingStore) Put(r state.Record) error {
	return s.write(func() error { return s.Memory.Put(r) })
}

// PutAll is one write, as it is one commit.
func (s *cuttingStore) PutAll(rs []state.Record) error {
	return s.write(func() error { return s.Memory.PutAll(rs) })
}

func (s *cuttingStore) write(put func() error) error {
	s.mu.Lock()
	cut := s.pass == 0
	if s.pass > 0 {
		s.pass--
	}
	s.mu.Unlock()
	if !cut {
		return put()
	}
	select {
	case <-s.held:
	default:
		close(s.held)
	}
	<-s.release
	return errors.New("killed before the write")
}

// TestStopAnswersBeforeRecordingTheExit: the stop is answered once the
// process is gone, without waiting for the write of how it ended; an
// agent killed before that write records the stop with an unknown exit
// on its next start, and starts nothing.
func TestStopAnswersBeforeRecordingTheExit(t *testing.T) {
	cs := newCuttingStore()
	outDir := t.TempDir()
	open := func() *Manager { return openCutting(t, cs, outDir) }
	m := open()
	s := mustStart(t, m, "p")
	t.Cleanup(func() { killIfSame(s) })
	// The write that the start lasted start_wait follows its answer; the
	// cut below is for the stop's writes alone.
	waitFor(t, "the write after the start's answer", func() bool {
		rec, _, _ := cs.Memory.Get("p")
		return rec.PID == s.PID && rec.Launch == ""
	})

	cs.cutAfter(1) // the desired state lands; the next write is cut
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := m.Stop(ctx, "p")
	if err != nil {
		close(cs.release)
		m.Close()
		t.Fatalf("stop waited for the write of the exit: %v", err)
	}
	if got.Running || alive(s.PID) {
		t.Fatalf("stop answered %+v while pid %d alive=%v", got, s.PID, alive(s.PID))
	}
	select {
	case <-cs.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the exit was never written")
	}
	close(cs.release) // the agent dies; the held write never lands
	m.Close()

	rec, _, err := cs.Memory.Get("p")
	if err != nil || rec.Desired != state.DesiredStopped || rec.PID != s.PID {
		t.Fatalf("record before the next start: %+v, %v; want desired stopped, pid %d", rec, err, s.PID)
	}
	cs.cutAfter(-1)
	m = open()
	defer m.Close()
	time.Sleep(300 * time.Millisecond) // time for a wrong autostart
	after, _ := m.Snapshot("p")
	if after.Running || after.PID != 0 || after.Desired != state.DesiredStopped || after.LastExitCode != nil {
		t.Errorf("after the agent restart: %+v; want stopped, no pid, exit unknown", after)
	}
	if rec, _, _ := cs.Memory.Get("p"); rec.PID != 0 {
		t.Errorf("record after the agent restart still names pid %d", rec.PID)
	}
}

// pidfds counts this process's open pidfds.
func pidfds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:[pidfd]" {
			n++
		}
	}
	return n
}

// threads is the number of this process's threads.
func threads(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestOnePidfdPerChild: the manager holds one pidfd per process it
// started (Go's own duplicate is released) and no thread (the exit is
// awaited in the runtime's poller), and no pidfd once they stopped; exit
// statuses still come through, reaped by the manager.
func TestOnePidfdPerChild(t *testing.T) {
	h := newHarness(t)
	var specs []Spec
	for i := range 20 {
		sp := spec(fmt.Sprintf("p%d", i), "sleep 1000")
		sp.ID = int64(i + 1)
		sp.StartWait = 10 * time.Millisecond
		specs = append(specs, sp)
	}
	before, threadsBefore := pidfds(t), threads(t)
	m := h.open(specs...)
	for _, sp := range specs {
		mustStart(t, m, sp.Alias)
	}
	if got := pidfds(t) - before; got != len(specs) {
		t.Errorf("%d pidfds for %d running children, want one each", got, len(specs))
	}
	// A thread blocked per child would add 20; the runtime may add a few.
	if got := threads(t) - threadsBefore; got >= len(specs)/2 {
		t.Errorf("%d more threads with %d children running", got, len(specs))
	}
	for _, sp := range specs {
		s, err := m.Stop(ctxT(t), sp.Alias)
		if err != nil {
			t.Fatal(err)
		}
		if s.LastExitCode == nil || *s.LastExitCode != 128+int(syscall.SIGTERM) {
			t.Errorf("%s: lastExitCode %v, want %d (SIGTERM)", sp.Alias, s.LastExitCode, 128+int(syscall.SIGTERM))
		}
	}
	if got := pidfds(t) - before; got != 0 {
		t.Errorf("%d pidfds left after the stops", got)
	}
}

// TestStopOfAProcessThatSurvivesSIGKILL: a process frozen in the kernel
// outlives SIGKILL; the stop gives up after KillWait with ErrSurvivedKill
// (40013) instead of hanging, the process stays listed as running, and
// when it finally dies it is recorded stopped and not restarted.
func TestStopOfAProcessThatSurvivesSIGKILL(t *testing.T) {
	h := newHarness(t)
	h.killWait = 500 * time.Millisecond
	sp := spec("p", "sleep 1000")
	sp.StopTimeout = 300 * time.Millisecond
	sp.Autorestart = true
	m := h.open(sp)
	s := mustStart(t, m, "p")
	thaw := freezer.Freeze(t, s.PID)

	t0 := time.Now()
	_, err := m.Stop(ctxT(t), "p")
	took := time.Since(t0)
	if !errors.Is(err, ErrSurvivedKill) {
		t.Fatalf("stop of a frozen process: %v, want ErrSurvivedKill", err)
	}
	if took < sp.StopTimeout+h.killWait {
		t.Errorf("gave up after %v, before the grace and KillWait (%v)", took, sp.StopTimeout+h.killWait)
	}
	if got, _ := m.Snapshot("p"); !got.Running || got.PID != s.PID || got.Desired != state.DesiredStopped {
		t.Errorf("after the failed stop: %+v; want still running, desired stopped", got)
	}
	if !alive(s.PID) {
		t.Fatalf("pid %d died while frozen", s.PID)
	}

	thaw() // the pending SIGKILL takes effect
	waitFor(t, "the thawed process recorded stopped", func() bool {
		got, _ := m.Snapshot("p")
		return !got.Running
	})
	time.Sleep(300 * time.Millisecond) // time for a wrong restart
	got, _ := m.Snapshot("p")
	if got.Running || got.Desired != state.DesiredStopped || alive(s.PID) {
		t.Errorf("after the thaw: %+v (pid alive %v); want stopped, not restarted", got, alive(s.PID))
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Errorf("stop after the thaw: %v", err)
	}
}

// killIfSame kills the process of s, for a test that failed before its
// stop: only if its pid still names that process (same start time), so
// that a cleanup never kills whoever reused the pid.
func killIfSame(s Snapshot) {
	if st, err := procfs.Default.Stat(s.PID); err == nil && st.StartTicks == s.StartTicks {
		syscall.Kill(s.PID, syscall.SIGKILL)
	}
}
