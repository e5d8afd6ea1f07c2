package procmgr

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// BenchmarkAdopt1000 is the agent's restart over 1000 running processes
// (an upgrade): New adopting every one of them from a real bbolt store.
// The processes are started once, by a first Manager that is then closed
// (leaving them running); each iteration times one New, checks that it
// adopted all of them under the same pids, and closes it again. With root
// and a writable cgroup2 mount they run in cgroups under a test root, as
// an agent with `cgroup: auto` runs them; ADOPT_BENCH_N changes the count.
func BenchmarkAdopt1000(b *testing.B) {
	n := 1000
	if s := os.Getenv("ADOPT_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("ADOPT_BENCH_N=%q", s)
		}
		n = v
	}
	var hier *cgroup.Hierarchy
	if root, why := cgrouptest.Root(b); root != "" {
		h, _, err := cgroup.Open(root)
		if err != nil {
			b.Fatalf("open cgroup root %s: %v", root, err)
		}
		b.Cleanup(func() { h.Close() })
		hier = h
	} else {
		b.Logf("without cgroups: %s", why)
	}
	dir := b.TempDir()
	store, err := state.OpenBolt(filepath.Join(dir, "state"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	specs := make([]Spec, n)
	for i := range specs {
		specs[i] = Spec{
			Alias: "p" + strconv.Itoa(i), ID: int64(i + 1), Command: "sleep 100000",
			StopSignal: syscall.SIGKILL, StopTimeout: 5 * time.Second, StartWait: 10 * time.Millisecond,
			Autostart: true,
		}
	}
	opts := Options{Store: store, OutputDir: filepath.Join(dir, "output"), PidDir: filepath.Join(dir, "run"), Cgroups: hier}

	m, err := New(opts, specs)
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]int{}
	b.Cleanup(func() {
		// Without cgroups nothing else ends them (a cgroup root is
		// removed with whatever runs in it).
		for _, pid := range want {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	deadline := time.Now().Add(5 * time.Minute)
	for _, sp := range specs {
		for {
			s, _ := m.Snapshot(sp.Alias)
			if s.Phase == "running" {
				want[sp.Alias] = s.PID
				break
			}
			if time.Now().After(deadline) {
				m.Close()
				b.Fatalf("%s not running: %+v", sp.Alias, s)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	m.Close()

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := New(opts, specs)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range m.Snapshots() {
			if !s.Running || s.PID != want[s.Alias] {
				m.Close()
				b.Fatalf("%s: %+v, want pid %d adopted", s.Alias, s, want[s.Alias])
			}
		}
		m.Close()
		b.StartTimer()
	}
}
