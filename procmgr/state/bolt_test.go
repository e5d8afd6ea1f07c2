package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestBolt(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return openBolt(t, t.TempDir()) })
}

func openBolt(t *testing.T, dir string) *Bolt {
	t.Helper()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBoltCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "ocp-agent")
	openBolt(t, dir)
	for path, want := range map[string]os.FileMode{
		dir: os.ModeDir | 0o700, filepath.Join(dir, dbName): 0o600, filepath.Join(dir, lockName): 0o600,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("stat %s = %v, %v; want mode %v", path, fi.Mode(), err, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, lockName))
	if want := fmt.Sprintf("%d\n", os.Getpid()); string(b) != want {
		t.Errorf("lock file holds %q; want %q", b, want)
	}
}

func TestBoltReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []step{
		{alias: "a", want: 1}, {alias: "b", explicit: 185, want: 185},
		{alias: "c", want: 186}, {alias: "c", explicit: 9, want: 9},
	} {
		runStep(t, s, i, st)
	}
	full := fullRecord()
	mustPut(t, s, full)
	mustPut(t, s, Record{Alias: "a", ID: 1})
	mustDelete(t, s, "a")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openBolt(t, dir)
	for i, st := range []step{
		{alias: "a", want: 1},                   // deleted record, id kept
		{alias: "b", want: 185},                 // explicit id kept
		{alias: "c", want: 9},                   // latest mapping wins
		{alias: "x", explicit: 186, owner: "c"}, // retired id still reserved
		{alias: "d", want: 187},                 // largest id ever given survives
	} {
		runStep(t, s, i, st)
	}
	all, err := s.All()
	if err != nil || len(all) != 1 {
		t.Fatalf("All() = %v, %v; want only %q", all, err, full.Alias)
	}
	assertRecord(t, all[0], full)
}

func TestBoltLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	first, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenBolt(dir)
	assertLocked(t, err, dir, os.Getpid())
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	openBolt(t, dir) // free again once closed
}

func TestBoltLockedAcrossProcesses(t *testing.T) {
	t.Run("child holds, parent is refused until the child is killed", func(t *testing.T) {
		dir := t.TempDir()
		h := startHelper(t, "hold", dir)
		if l := h.line(t); l != "ready" {
			t.Fatalf("helper: %s", l)
		}
		_, err := OpenBolt(dir)
		assertLocked(t, err, dir, h.cmd.Process.Pid)
		h.kill() // the kernel drops a dead holder's flock: no stale lock
		openBolt(t, dir)
	})
	t.Run("parent holds, child is refused until the parent closes", func(t *testing.T) {
		dir := t.TempDir()
		s := openBolt(t, dir)
		h := startHelper(t, "hold", dir)
		want := fmt.Sprintf("error: state directory %s is in use by another agent (pid %d)", dir, os.Getpid())
		if l := h.line(t); l != want {
			t.Fatalf("helper said %q; want %q", l, want)
		}
		var exit *exec.ExitError
		if err := h.cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("helper exit: %v; want status 3 (ErrLocked)", err)
		}
		s.Close()
		h = startHelper(t, "hold", dir)
		if l := h.line(t); l != "ready" {
			t.Fatalf("helper after Close: %s", l)
		}
		if err := h.stop(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	})
}

// TestBoltLockNotInherited: processes the agent starts outlive it, and must
// not keep the next agent out.
func TestBoltLockNotInherited(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "hold-spawn", dir)
	l := h.line(t)
	pid, err := strconv.Atoi(strings.TrimPrefix(l, "ready "))
	if err != nil {
		t.Fatalf("helper: %s", l)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	h.kill()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the helper's child %d is gone (%v); the test proves nothing", pid, err)
	}
	openBolt(t, dir)
}

func assertLocked(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	var locked *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &locked) || locked.PID != pid {
		t.Fatalf("OpenBolt = %v; want a LockedError naming pid %d", err, pid)
	}
	if want := fmt.Sprintf("state directory %s is in use by another agent (pid %d)", dir, pid); err.Error() != want {
		t.Fatalf("error %q; want %q", err, want)
	}
}

// TestBoltSurvivesKill9 kills a child in the middle of a stream of Puts, a
// few times over, and checks that the database opens and that every record
// is whole and at least as new as the last Put the child saw return.
func TestBoltSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	next := 1
	for round := range 4 {
		h := startHelper(t, "put-loop", dir, helperStartEnv+"="+strconv.Itoa(next))
		acked := map[string]int{}
		for range 20 + rand.IntN(200) {
			l := h.line(t)
			g, err := strconv.Atoi(l)
			if err != nil {
				t.Fatalf("helper: %s", l)
			}
			acked[genRecord(g%helperSlots, g).Alias] = g
			next = g + 1
		}
		h.kill()

		s, err := OpenBolt(dir)
		if err != nil {
			t.Fatalf("round %d: OpenBolt after kill -9: %v", round, err)
		}
		all, err := s.All()
		if err != nil {
			t.Fatalf("round %d: All: %v", round, err)
		}
		for _, r := range all {
			g, err := checkGen(r)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if g < acked[r.Alias] {
				t.Fatalf("round %d: %s is generation %d; the child saw generation %d written",
					round, r.Alias, g, acked[r.Alias])
			}
			next = max(next, g+1)
		}
		if len(all) < len(acked) {
			t.Fatalf("round %d: %d records; the child wrote %d", round, len(all), len(acked))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkPut measures one durable write: a bbolt transaction and its
// fsyncs, the price of recording a desired status before a signal.
func BenchmarkPut(b *testing.B) {
	s, err := OpenBolt(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := fullRecord()
	b.ReportAllocs()
	for b.Loop() {
		r.RestartCount++
		if err := s.Put(r); err != nil {
			b.Fatal(err)
		}
	}
}
