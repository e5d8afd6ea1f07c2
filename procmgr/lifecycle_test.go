package procmgr

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

func TestPidFileFollowsTheProcess(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "sleep 1000"))
	s := mustStart(t, m, "p")
	path := filepath.Join(h.outDir, "run", "p.pid")
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.PID) {
		t.Fatalf("pid file = %q, %v; want %d", b, err, s.PID)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	// Removed right after the answer, which does not wait for it.
	waitFor(t, "the pid file removed", func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	})
}

func TestCrashLoopBacksOff(t *testing.T) {
	h := newHarness(t)
	starts := filepath.Join(t.TempDir(), "starts")
	sp := spec("p", "echo x >> "+starts+"; exit 7")
	sp.Autorestart = true
	sp.StartWait = 100 * time.Millisecond
	m := h.open(sp)
	if _, err := m.Start(ctxT(t), "p"); err == nil {
		t.Fatal("start of a crashing process succeeded")
	}
	// Back-off 1 s, 2 s, 4 s: within 3.5 s the process starts 3 times
	// (at 0, 1 and 3 s). Without back-off it would be dozens; the bounds
	// leave room for a slow machine.
	time.Sleep(3500 * time.Millisecond)
	b, _ := os.ReadFile(starts)
	n := bytes.Count(b, []byte("x"))
	if n < 2 || n > 4 {
		t.Errorf("%d starts in 3.5 s, want 3 (back-off 1 s doubling)", n)
	}
	s, _ := m.Snapshot("p")
	if s.RestartCount != n-1 || s.LastExitCode == nil || *s.LastExitCode != 7 {
		t.Errorf("record: restarts %d (starts %d), last exit %v", s.RestartCount, n, s.LastExitCode)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // longer than the next back-off was
	b, _ = os.ReadFile(starts)
	if after := bytes.Count(b, []byte("x")); after != n {
		t.Errorf("started %d more times after an explicit stop", after-n)
	}
}

// TestOutputRotation: the watch rotates a file as soon as it passes the
// limit, keeps at most the limit in each backup and at most 3 backups, and
// the writer goes on at the start of the truncated file.
func TestOutputRotation(t *testing.T) {
	h := newHarness(t)
	h.outputMaxSize = 4096
	m := h.open(spec("p", "while :; do echo 0123456789012345678901234567890123456789; sleep 0.002; done"))
	mustStart(t, m, "p")
	path := filepath.Join(h.outDir, "p.log")
	// One copy per second at most: three backups within a few seconds.
	waitFor(t, "three backups", func() bool { _, err := os.Stat(path + ".3"); return err == nil })
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(fmt.Sprintf("%s.%d", path, i))
		if err != nil || len(b) == 0 || len(b) > 4096 {
			t.Errorf("backup %d: %d bytes (want 1..4096), %v", i, len(b), err)
		}
	}
	if _, err := os.Stat(path + ".4"); !os.IsNotExist(err) {
		t.Errorf("more than 3 backups kept: %v", err)
	}
	cur, _ := os.ReadFile(path)
	if len(cur) > 4*4096 {
		t.Errorf("current file has %d bytes: not rotated promptly", len(cur))
	}
	// O_APPEND: writes land at the new end, not after a hole of zeros.
	if bytes.IndexByte(cur, 0) >= 0 {
		t.Errorf("current file has NUL bytes: the writer kept its old offset")
	}
	if m.rotated.copied.Load() == 0 {
		t.Errorf("no copy counted")
	}
}

func TestUpdateAddsRemovesAndChanges(t *testing.T) {
	h := newHarness(t)
	keep := spec("keep", "sleep 1000")
	keep.ID, keep.Autostart = 1, true
	change := spec("change", "sleep 1001")
	change.ID, change.Autostart = 2, true
	gone := spec("gone", "sleep 1002")
	gone.ID, gone.Autostart = 3, true
	m := h.open(keep, change, gone)
	running := map[string]Snapshot{}
	for _, a := range []string{"keep", "change", "gone"} {
		waitFor(t, a+" running", func() bool { s, _ := m.Snapshot(a); running[a] = s; return s.Phase == "running" })
	}

	changed := change
	changed.Command = "sleep 1003"
	added := spec("added", "sleep 1004")
	added.ID, added.Autostart = 4, true
	ch, err := m.Update([]Spec{keep, changed, added})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ch.Added, ",") != "added" || strings.Join(ch.Removed, ",") != "gone" || strings.Join(ch.Changed, ",") != "change" {
		t.Errorf("changes = %+v", ch)
	}
	if alive(running["gone"].PID) {
		t.Errorf("removed process %d still alive", running["gone"].PID)
	}
	if _, ok, _ := h.store.Get("gone"); ok {
		t.Errorf("removed process's record kept")
	}
	if _, ok := m.Snapshot("gone"); ok {
		t.Errorf("removed process still managed")
	}
	for _, a := range []string{"keep", "change"} {
		if s, _ := m.Snapshot(a); s.PID != running[a].PID || !alive(s.PID) {
			t.Errorf("%s was touched by the reload: %+v, before %+v", a, s, running[a])
		}
	}
	waitFor(t, "added running", func() bool { s, _ := m.Snapshot("added"); return s.Phase == "running" })
	// The change applies at the next start.
	s, err := m.Restart(ctxT(t), "change")
	if err != nil {
		t.Fatal(err)
	}
	argv, _ := procfs.Default.Cmdline(s.PID)
	if strings.Join(argv, " ") != "sleep 1003" {
		t.Errorf("after restart the changed process runs %q", argv)
	}
	if ids := snapshotIDs(m); ids != "1,2,4" {
		t.Errorf("snapshots ordered %s", ids)
	}
}

func snapshotIDs(m *Manager) string {
	var ids []string
	for _, s := range m.Snapshots() {
		ids = append(ids, strconv.FormatInt(s.ID, 10))
	}
	return strings.Join(ids, ",")
}

func TestAdoptsAStartTheAgentDidNotRecord(t *testing.T) {
	h := newHarness(t)
	// What an agent killed between fork and the pid's record leaves: a
	// token in the record, and a process in its own session carrying it.
	token := newLaunchToken()
	cmd := exec.Command("sleep", "1000")
	cmd.Env = []string{launchEnv + "=" + token}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "exec", func() bool { ok, _ := procfs.Default.HasEnv(cmd.Process.Pid, launchEnv+"="+token); return ok })
	h.store.Put(state.Record{Alias: "p", ID: 1, Desired: state.DesiredStarted, Launch: token})

	sp := spec("p", "sleep 1000")
	sp.Autostart = true
	m := h.open(sp)
	s, _ := m.Snapshot("p")
	if s.PID != cmd.Process.Pid {
		t.Fatalf("adopted %+v, want pid %d (no second copy)", s, cmd.Process.Pid)
	}
	rec, _, _ := h.store.Get("p")
	if rec.Launch != "" || rec.PID != cmd.Process.Pid || !rec.Group {
		t.Errorf("record after adoption: %+v", rec)
	}
}

// TestBackoffResetsAfterAStableRun: restarts of a crash loop come later
// and later, but a run that lasted Backoff.Stable counts as healthy, and
// the restart after it comes after Backoff.Min again, not after the
// doubled delay.
func TestBackoffResetsAfterAStableRun(t *testing.T) {
	h := newHarness(t)
	h.backoff = Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second, Stable: time.Second}
	dir := t.TempDir()
	count, starts, exits := filepath.Join(dir, "count"), filepath.Join(dir, "starts"), filepath.Join(dir, "exits")
	// Runs 1-3 crash at once; run 4 lasts 1.5 s (stable), then crashes.
	// Each stamps its start and its exit.
	sp := spec("p", `sh -c 'date +%s%N >> `+starts+`; n=$(($(cat `+count+` 2>/dev/null || echo 0) + 1)); echo $n > `+count+
		`; [ $n -eq 4 ] && sleep 1.5; date +%s%N >> `+exits+`; exit 3'`)
	sp.Autorestart = true
	sp.StartWait = 500 * time.Millisecond // runs 1-3 exit well within it, on a loaded machine too
	m := h.open(sp)
	if _, err := m.Start(ctxT(t), "p"); err == nil {
		t.Fatal("start of a crashing process succeeded")
	}
	stamps := func(path string) []time.Time {
		b, _ := os.ReadFile(path)
		var at []time.Time
		for _, f := range strings.Fields(string(b)) {
			if ns, err := strconv.ParseInt(f, 10, 64); err == nil {
				at = append(at, time.Unix(0, ns))
			}
		}
		return at
	}
	waitFor(t, "five starts", func() bool { return len(stamps(starts)) >= 5 })
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	start, exit := stamps(starts), stamps(exits)
	// delays[k]: from the exit of run k+1 to the start of run k+2. Each
	// is its back-off plus the time to spawn a shell, which a loaded
	// machine stretches but never shortens: hence lower bounds, and a
	// comparison for the reset.
	var delays []time.Duration
	for k := range 4 {
		delays = append(delays, start[k+1].Sub(exit[k]))
	}
	t.Logf("delays before restarts 2-5: %v", delays)
	for k, least := range []time.Duration{200, 400, 800} {
		if delays[k] < least*time.Millisecond-20*time.Millisecond {
			t.Errorf("delay %d: %v, want at least %v ms (back-off 200 ms doubling)", k+1, delays[k], least)
		}
	}
	// Without the reset the delay after the stable run would be 1.6 s,
	// twice the one before it; with it, 200 ms.
	if delays[3] >= delays[2] {
		t.Errorf("delay after a stable run %v, not shorter than the one before it (%v): no reset", delays[3], delays[2])
	}
}
