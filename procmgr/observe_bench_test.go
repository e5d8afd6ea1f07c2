package procmgr

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	deadline := time.Now().Add(time.Minute)
	for i, c := range cmds {
		for {
			if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(i))); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("helper %d did not listen within a minute", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		st, err := procfs.Default.Stat(c.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		procs = append(procs, benchProc{pid: c.Process.Pid, ticks: st.StartTicks})
	}
	return procs
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
