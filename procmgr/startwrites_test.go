package procmgr

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// recordingStore is a store that remembers every record written, in
// order, and can be made to fail its writes.
type recordingStore struct {
	*state.Memory
	mu   sync.Mutex
	puts []state.Record
	fail bool
}

func (s *recordingStore) Put(r state.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk gone")
	}
	s.puts = append(s.puts, r)
	return s.Memory.Put(r)
}

// since returns the records written from the n-th write on.
func (s *recordingStore) since(n int) []state.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]state.Record(nil), s.puts[n:]...)
}

func (s *recordingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.puts)
}

func (s *recordingStore) setFail(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

func newRecordingManager(t *testing.T, rs *recordingStore, sp Spec) (*Manager, string) {
	t.Helper()
	outDir := t.TempDir()
	m, err := New(Options{Store: rs, OutputDir: outDir, PidDir: filepath.Join(outDir, "run"),
		Logger: zaptest.NewLogger(t)}, []Spec{sp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, outDir
}

// TestStartWritesItsIntentWithTheLaunchToken: a start from rest reaches
// its fork after one durable write, which carries both the desired state
// and the launch token; the next names the pid.
func TestStartWritesItsIntentWithTheLaunchToken(t *testing.T) {
	rs := &recordingStore{Memory: state.NewMemory()}
	m, _ := newRecordingManager(t, rs, spec("p", "sleep 1000"))
	before := rs.count()
	s := mustStart(t, m, "p")
	t.Cleanup(func() { killIfSame(s) })

	puts := rs.since(before)
	if len(puts) < 2 {
		t.Fatalf("writes of the start: %+v; want at least the launch and the pid", puts)
	}
	if first := puts[0]; first.Desired != state.DesiredStarted || first.Launch == "" || first.PID != 0 {
		t.Errorf("first write of the start: %+v; want desired STARTED with a launch token, no pid yet", first)
	}
	if second := puts[1]; second.PID != s.PID || second.Launch != "" || second.Desired != state.DesiredStarted {
		t.Errorf("second write of the start: %+v; want pid %d, no token", second, s.PID)
	}
}

// TestStartWhoseIntentCannotBeWrittenDoesNothing: when the write that
// precedes the fork fails, the start answers the error, forks nothing
// and keeps the desired state it had.
func TestStartWhoseIntentCannotBeWrittenDoesNothing(t *testing.T) {
	rs := &recordingStore{Memory: state.NewMemory()}
	m, outDir := newRecordingManager(t, rs, spec("p", "sleep 1000"))
	rs.setFail(true)
	if s, err := m.Start(ctxT(t), "p"); err == nil {
		killIfSame(s)
		t.Fatalf("start with its write failing answered %+v, want an error", s)
	}
	got, _ := m.Snapshot("p")
	if got.Running || got.PID != 0 || got.Desired == state.DesiredStarted {
		t.Errorf("after the failed start: %+v; want stopped, desired not STARTED", got)
	}
	// spawn opens the output file before it forks.
	if _, err := os.Stat(filepath.Join(outDir, "p.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file after the failed start: %v; want none (nothing spawned)", err)
	}

	rs.setFail(false)
	s := mustStart(t, m, "p")
	killIfSame(s)
}

// TestStartAnswersBeforeRecordingItLasted: once the instance has lasted
// start_wait the start is answered without waiting for the write that
// says so; an agent killed before that write adopts the instance, whose
// pid was recorded when it was spawned.
func TestStartAnswersBeforeRecordingItLasted(t *testing.T) {
	cs := newCuttingStore()
	outDir := t.TempDir()
	open := func() *Manager { return openCutting(t, cs, outDir) }
	m := open()
	cs.cutAfter(2) // the launch and the pid land; the next write is cut
	s, err := m.Start(ctxT(t), "p")
	if err != nil {
		close(cs.release)
		m.Close()
		t.Fatalf("start waited for the write after start_wait: %v", err)
	}
	t.Cleanup(func() { killIfSame(s) })
	select {
	case <-cs.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the start's last write was never made")
	}
	close(cs.release) // the agent dies; the held write never lands
	m.Close()

	rec, _, _ := cs.Memory.Get("p")
	if rec.Desired != state.DesiredStarted || rec.PID != s.PID || rec.Launch != "" {
		t.Fatalf("record before the next agent: %+v; want desired STARTED, pid %d", rec, s.PID)
	}
	cs.cutAfter(-1)
	m = open()
	defer m.Close()
	if got, _ := m.Snapshot("p"); !got.Running || got.PID != s.PID {
		t.Errorf("next agent: %+v; want pid %d adopted", got, s.PID)
	}
}
