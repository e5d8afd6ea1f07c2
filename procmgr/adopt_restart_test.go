package procmgr

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// countingStore counts the writes made through it.
type countingStore struct {
	Store
	mu            sync.Mutex
	puts, putAlls int
}

func (s *countingStore) Put(r state.Record) error {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	return s.Store.Put(r)
}

func (s *countingStore) PutAll(rs []state.Record) error {
	s.mu.Lock()
	s.putAlls++
	s.mu.Unlock()
	return s.Store.PutAll(rs)
}

func (s *countingStore) writes() (puts, putAlls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.putAlls
}

// An agent restarted over running processes adopts every one of them
// under the pid it had, from a real bbolt store, with and without cgroups:
// their records are written back in one commit before New returns, their
// pid files still name them, and none is taken for one found outside (in
// its cgroup already, it was started there: nothing is moved).
func TestAgentRestartAdoptsEveryProcess(t *testing.T) {
	for _, mode := range []string{"off", "cgroup"} {
		t.Run(mode, func(t *testing.T) {
			var hier *cgroup.Hierarchy
			if mode == "cgroup" {
				hier = cgrouptest.Hierarchy(t)
			}
			dir := t.TempDir()
			bolt, err := state.OpenBolt(filepath.Join(dir, "state"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bolt.Close() })
			const n = 6
			specs := make([]Spec, n)
			for i := range specs {
				specs[i] = spec("p"+strconv.Itoa(i), "sleep 1000")
				specs[i].ID, specs[i].Autostart = int64(i+1), true
			}
			store := &countingStore{Store: bolt}
			runDir := filepath.Join(dir, "run")
			open := func() *Manager {
				t.Helper()
				m, err := New(Options{Store: store, OutputDir: filepath.Join(dir, "out"), PidDir: runDir,
					Logger: zaptest.NewLogger(t), Cgroups: hier}, specs)
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := open()
			want := map[string]Snapshot{}
			t.Cleanup(func() {
				for _, s := range want {
					syscall.Kill(-s.PID, syscall.SIGKILL)
				}
			})
			for _, sp := range specs {
				waitFor(t, sp.Alias+" running", func() bool {
					s, _ := m.Snapshot(sp.Alias)
					want[sp.Alias] = s
					return s.Phase == "running"
				})
			}
			m.Close()

			store.mu.Lock()
			store.puts, store.putAlls = 0, 0
			store.mu.Unlock()
			m = open()
			defer m.Close()
			if puts, putAlls := store.writes(); puts != 0 || putAlls != 1 {
				t.Errorf("the restart wrote %d records one by one and %d batches; want one batch", puts, putAlls)
			}
			for _, got := range m.Snapshots() {
				w := want[got.Alias]
				if !got.Running || got.Phase != "running" || got.PID != w.PID || got.StartTicks != w.StartTicks {
					t.Errorf("%s after the restart: %+v; want pid %d (ticks %d) adopted", got.Alias, got, w.PID, w.StartTicks)
				}
				if got.Adopted {
					t.Errorf("%s: adopted as found outside, though this agent's predecessor started it", got.Alias)
				}
				rec, ok, err := bolt.Get(got.Alias)
				if err != nil || !ok || rec.PID != w.PID || rec.StartTicks != w.StartTicks || rec.MovedTicks != 0 {
					t.Errorf("%s: record %+v, %v; want pid %d, not moved", got.Alias, rec, err, w.PID)
				}
				if b, err := os.ReadFile(filepath.Join(runDir, got.Alias+".pid")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(w.PID) {
					t.Errorf("%s: pid file %q, %v; want %d", got.Alias, b, err, w.PID)
				}
				if hier != nil {
					if pids := cgroupProcs(t, hier, got.Alias); !slices.Equal(pids, []int{w.PID}) {
						t.Errorf("%s: cgroup holds %v, want only %d", got.Alias, pids, w.PID)
					}
				}
			}
		})
	}
}

// An instance that an adoption moved into its cgroup (started by an agent
// without cgroups) keeps its older sockets in another cgroup: it stays
// marked adopted across the next restarts, until it is replaced by an
// instance started in the cgroup.
func TestMovedInstanceStaysAdopted(t *testing.T) {
	hier := cgrouptest.Hierarchy(t)
	h := newHarness(t)
	h.cgroups = nil
	sp := spec("p", "sleep 1000")
	sp.Autostart = true
	m := h.open(sp)
	var first Snapshot
	waitFor(t, "autostart", func() bool { first, _ = m.Snapshot("p"); return first.Phase == "running" })

	h.cgroups = hier
	for _, life := range []string{"moved by this agent", "adopted again by the next"} {
		m = h.open(sp)
		got, _ := m.Snapshot("p")
		if !got.Running || got.PID != first.PID || !got.Adopted {
			t.Fatalf("%s: %+v; want pid %d, adopted", life, got, first.PID)
		}
		if pids := cgroupProcs(t, hier, "p"); !slices.Equal(pids, []int{first.PID}) {
			t.Fatalf("%s: cgroup holds %v, want %d", life, pids, first.PID)
		}
	}
	next, err := m.Restart(ctxT(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	if next.Adopted {
		t.Errorf("an instance started in the cgroup is marked adopted: %+v", next)
	}
	m = h.open(sp)
	if got, _ := m.Snapshot("p"); got.PID != next.PID || got.Adopted {
		t.Errorf("after the restart: %+v; want pid %d, not adopted", got, next.PID)
	}
}

// cgroupProcs lists the pids in alias's cgroup of hier.
func cgroupProcs(t *testing.T, hier *cgroup.Hierarchy, alias string) []int {
	t.Helper()
	cg, err := hier.Lookup(alias)
	if err != nil {
		t.Fatalf("cgroup of %s: %v", alias, err)
	}
	defer cg.Close()
	pids, err := cg.Procs()
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// TestHeldDirHolds: a pid file is kept at a load only when it is a plain
// file of the agent's with exactly the pid in it.
func TestHeldDirHolds(t *testing.T) {
	dir := t.TempDir()
	d, err := openHeldDir(dir, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("same.pid", "123\n")
	write("other.pid", "124\n")
	write("longer.pid", "123\n456\n")
	write("target", "123\n")
	if err := os.Symlink("target", filepath.Join(dir, "symlink.pid")); err != nil {
		t.Fatal(err)
	}
	write("linked", "123\n")
	if err := os.Link(filepath.Join(dir, "linked"), filepath.Join(dir, "hardlink.pid")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"same.pid": true, "other.pid": false, "longer.pid": false, "missing.pid": false,
		"symlink.pid": false, "hardlink.pid": false, "dir.pid": false,
	} {
		if got := d.holds(name, []byte("123\n")); got != want {
			t.Errorf("holds(%s) = %v, want %v", name, got, want)
		}
	}
}
