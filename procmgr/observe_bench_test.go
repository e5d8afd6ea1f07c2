package procmgr

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// Benchmarks of a listing's observation. They start their processes
// inside the Benchmark function, so that `go test` without -bench (make
// test) never pays for them, and they assert no timing: they print.

// benchProc is a child started for a benchmark, with its identity.
type benchProc struct {
	pid   int
	ticks uint64
}

// startListeners starts n helpers that each listen on one TCP port (the
// shape of a managed server), waits until all listen, and kills them when
// b ends.
func startListeners(b *testing.B, n int) []benchProc {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	procs := make([]benchProc, 0, n)
	for i := range n {
		c := exec.Command(exe, "helper", "listen-one", filepath.Join(dir, strconv.Itoa(i)))
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	waitListening(b, dir, n)
	for _, c := range cmds {
		st, err := procfs.Default.Stat(c.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		procs = append(procs, benchProc{pid: c.Process.Pid, ticks: st.StartTicks})
	}
	return procs
}

// waitListening waits until the n listen-one helpers writing into dir
// (files 0 to n-1) all listen.
func waitListening(b *testing.B, dir string, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for i := range n {
		for {
			if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(i))); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("helper %d did not listen within 5 minutes", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// BenchmarkObserve100 is one listing's observation of 100 managed
// processes that each listen on a port: one Observe, then the Facts of
// each, one after the other ("serial") and on all cores (FactsOf), and
// ObserveFacts, which overlaps the two.
func BenchmarkObserve100(b *testing.B) {
	procs := startListeners(b, 100)
	targets := make([]Target, len(procs))
	for i, p := range procs {
		targets[i] = Target{PID: p.pid, Ticks: p.ticks}
	}
	check := func(b *testing.B, pid int, f Facts) {
		if !f.Alive || len(f.Ports) != 1 {
			b.Fatalf("pid %d: %+v", pid, f)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o, err := Observe(procfs.Default)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range procs {
				check(b, p.pid, o.Facts(p.pid, p.ticks))
			}
		}
	})
	b.Run("FactsOf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o, err := Observe(procfs.Default)
			if err != nil {
				b.Fatal(err)
			}
			for i, f := range o.FactsOf(targets) {
				check(b, targets[i].PID, f)
			}
		}
	})
	// ObserveFacts, as a listing calls it: the targets' own files are
	// read while the pass over the host runs.
	b.Run("ObserveFacts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, facts, err := ObserveFacts(procfs.Default, targets)
			if err != nil {
				b.Fatal(err)
			}
			for i, f := range facts {
				check(b, targets[i].PID, f)
			}
		}
	})
}

// BenchmarkObserveOnly is Observe alone: the process table and the socket
// table, whatever the number of managed processes.
func BenchmarkObserveOnly(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Observe(procfs.Default); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPorts100 is port discovery alone for 100 listening processes:
// the socket table, through sock_diag or /proc/net, and the socket fds of
// each process.
func BenchmarkPorts100(b *testing.B) {
	procs := startListeners(b, 100)
	for _, tc := range []struct {
		name  string
		table func() (procfs.SocketTable, error)
	}{
		{"sock_diag", procfs.Default.Sockets},
		{"proc_net", procfs.Default.ListeningSockets},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := tc.table()
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range procs {
					inodes, err := procfs.Default.SocketInodes(p.pid)
					if err != nil {
						b.Fatal(err)
					}
					for _, ino := range inodes {
						_ = t[ino]
					}
				}
			}
		})
	}
}

// BenchmarkListCgroups is a listing's observation of n managed processes,
// each in its own cgroup and listening on one TCP port, with cgroups on:
// one sock_diag dump grouped by cgroup id, and each process's own files
// and cgroup files, no pass over the host's processes. "floor" is what
// that cannot go below: the dump and one read per process of a file held
// open (its cpu.stat), on one core;
// "no-cgroups" is the same processes listed as without cgroups (the pass
// over the host and each one's fds); "list-fresh" is "list" without held
// files (see openFiles). Targets, printed and not asserted:
// 1000 processes under 5 ms; 100 within 1.5x of floor.
func BenchmarkListCgroups(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := testCgroups(b)
			dir := b.TempDir()
			targets := make([]Target, n)
			for i := range n {
				targets[i] = startInCgroup(b, h, "bench"+strconv.Itoa(i), "listen-one", filepath.Join(dir, strconv.Itoa(i)))
			}
			waitListening(b, dir, n)
			check := func(b *testing.B, facts []Facts) {
				for i, f := range facts {
					if !f.Alive || len(f.Ports) != 1 {
						b.Fatalf("%s: %+v", targets[i].Alias, f)
					}
				}
			}
			// As the manager lists: its held files are read again.
			b.Run("list", func(b *testing.B) {
				var files openFiles
				defer files.close()
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for b.Loop() {
					_, facts, err := observeFacts(procfs.Default, h, &files, targets)
					if err != nil {
						b.Fatal(err)
					}
					check(b, facts)
				}
			})
			// Each file opened, read and closed at each listing.
			b.Run("list-fresh", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for b.Loop() {
					_, facts, err := observeFacts(procfs.Default, h, nil, targets)
					if err != nil {
						b.Fatal(err)
					}
					check(b, facts)
				}
			})
			b.Run("floor", func(b *testing.B) {
				fds := make([]int, n)
				for i, t := range targets {
					f, err := os.Open(filepath.Join(h.Dir(), t.Alias, "cpu.stat"))
					if err != nil {
						b.Fatal(err)
					}
					defer f.Close()
					fds[i] = int(f.Fd())
				}
				buf := make([]byte, 4096)
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for b.Loop() {
					if _, byCgroup, err := procfs.Default.SocketsByCgroup(); err != nil || byCgroup == nil {
						b.Fatal(err)
					}
					for _, fd := range fds {
						if _, err := syscall.Pread(fd, buf, 0); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
			b.Run("no-cgroups", func(b *testing.B) {
				plain := make([]Target, n)
				for i, t := range targets {
					plain[i] = Target{PID: t.PID, Ticks: t.Ticks}
				}
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for b.Loop() {
					_, facts, err := ObserveFacts(procfs.Default, plain)
					if err != nil {
						b.Fatal(err)
					}
					check(b, facts)
				}
			})
		})
	}
}

// reportCPU reports the CPU this process used since start, per op: a
// listing reads on every core, so its CPU can exceed its time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
