package procmgr

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

func TestObserveFacts(t *testing.T) {
	h := newHarness(t)
	portsFile := filepath.Join(t.TempDir(), "ports")
	m := h.open(spec("p", helper(t, "listen", portsFile)))
	s := mustStart(t, m, "p")
	var tcp, udp, child uint16
	waitFor(t, "ports file", func() bool {
		b, err := os.ReadFile(portsFile)
		if err != nil {
			return false
		}
		n, _ := fmt.Sscan(string(b), &tcp, &udp, &child)
		return n == 3
	})
	// Kernels from 6.13 answer the tree through pidfds, older ones
	// through stat files: both must say the same.
	for _, fsys := range []procfs.FS{procfs.Default, {Root: "/proc", NoPidfd: true}} {
		t.Run(fmt.Sprintf("NoPidfd=%v", fsys.NoPidfd), func(t *testing.T) {
			o, err := Observe(fsys)
			if err != nil {
				t.Fatal(err)
			}
			f := o.Facts(s.PID, s.StartTicks)
			if !f.Alive {
				t.Fatalf("pid %d not alive in the observation", s.PID)
			}
			want := []uint16{tcp, udp, child} // the child's port counts as the process's
			slices.Sort(want)
			if !slices.Equal(f.Ports, want) || !f.PortsKnown {
				t.Errorf("ports = %v (known %v), want %v", f.Ports, f.PortsKnown, want)
			}
			argv, _ := procfs.Default.Cmdline(s.PID)
			if f.Cmdline != strings.Join(argv, " ") || !strings.HasSuffix(f.Cmdline, "helper listen "+portsFile) {
				t.Errorf("cmdline = %q, /proc says %q", f.Cmdline, argv)
			}
			uid, err := procfs.Default.RealUID(s.PID)
			if err != nil || f.User != userName(uint32(uid)) {
				t.Errorf("user = %q; status says uid %d (%v)", f.User, uid, err)
			}
			// Elapsed comes from the start ticks: it is between the time
			// since the start was asked for and that plus a tick.
			if f.Elapsed < 0 || f.Elapsed > time.Since(s.UpdateTime)+time.Minute {
				t.Errorf("elapsed = %v", f.Elapsed)
			}
			// A wrong start time means another process: nothing is reported.
			if g := o.Facts(s.PID, s.StartTicks+1); g.Alive || g.Cmdline != "" {
				t.Errorf("facts for a recycled pid: %+v", g)
			}
			// ObserveFacts, which reads the targets while it scans the
			// host, says the same as Observe then FactsOf.
			_, all, err := ObserveFacts(fsys, []Target{
				{PID: s.PID, Ticks: s.StartTicks}, {PID: s.PID, Ticks: s.StartTicks + 1}, {PID: os.Getpid(), Agent: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			if g := all[0]; !g.Alive || g.Cmdline != f.Cmdline || g.User != f.User || !slices.Equal(g.Ports, f.Ports) ||
				g.PortsKnown != f.PortsKnown || (g.Elapsed-f.Elapsed).Abs() > time.Second {
				t.Errorf("ObserveFacts: %+v; Facts: %+v", g, f)
			}
			if all[1].Alive {
				t.Errorf("ObserveFacts of a recycled pid: %+v", all[1])
			}
			if self := all[2]; !self.Alive || len(self.Ports) != 0 {
				t.Errorf("ObserveFacts of the agent: %+v; its managed child's ports must not count", self)
			}
		})
	}
}

func TestObserveAgentExcludesManagedPorts(t *testing.T) {
	h := newHarness(t)
	portsFile := filepath.Join(t.TempDir(), "ports")
	m := h.open(spec("p", helper(t, "listen", portsFile)))
	mustStart(t, m, "p")
	waitFor(t, "ports file", func() bool { _, err := os.Stat(portsFile); return err == nil })
	for _, fsys := range []procfs.FS{procfs.Default, {Root: "/proc", NoPidfd: true}} {
		o, err := Observe(fsys)
		if err != nil {
			t.Fatal(err)
		}
		self := o.AgentFacts(os.Getpid(), 0)
		if !self.Alive || len(self.Ports) != 0 {
			t.Errorf("NoPidfd=%v: the test process (as agent) has ports %v; its managed child's must not count",
				fsys.NoPidfd, self.Ports)
		}
	}
}
