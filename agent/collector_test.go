package agent

import (
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// TestCollectorCgroupSeries: with cgroups, a running process's cgroup
// gives its CPU time, process count and (with the memory controller) its
// memory as series labelled by alias and id.
func TestCollectorCgroupSeries(t *testing.T) {
	h := cgrouptest.Hierarchy(t)
	m, err := procmgr.New(procmgr.Options{Store: state.NewMemory(), OutputDir: t.TempDir(), Cgroups: h}, []procmgr.Spec{{
		Alias: "sleeper", ID: 7, Command: "sleep 1000", Autostart: true,
		StopSignal: syscall.SIGTERM, StopTimeout: 2 * time.Second,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var s procmgr.Snapshot
	for deadline := time.Now().Add(30 * time.Second); !s.Running; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sleeper not running: %+v", s)
		}
		s, _ = m.Snapshot("sleeper")
	}
	// Its cgroup, if the start did not already put it in one.
	if _, ok := m.CgroupStats("sleeper"); !ok {
		c, err := h.Create("sleeper")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Move(s.PID); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { syscall.Kill(s.PID, syscall.SIGKILL) })

	reg := prometheus.NewRegistry()
	reg.MustRegister(newProcessCollector(&Agent{mgr: m}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, met := range mf.Metric {
			labels := map[string]string{}
			for _, l := range met.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["alias"] == "sleeper" && labels["id"] == "7" {
				got[mf.GetName()] = met
			}
		}
	}
	if c := got["ocp_agent_process_cpu_seconds_total"]; c == nil || c.Counter.GetValue() < 0 {
		t.Errorf("cpu series: %v", c)
	}
	if p := got["ocp_agent_process_processes"]; p == nil || p.Gauge.GetValue() != 1 {
		t.Errorf("processes series: %v, want 1", p)
	}
	mem := got["ocp_agent_process_memory_bytes"]
	if mem != nil && mem.Gauge.GetValue() <= 0 {
		t.Errorf("memory series: %v", mem)
	}
	if st, _ := m.CgroupStats("sleeper"); (st.MemoryBytes == nil) != (mem == nil) {
		t.Errorf("memory series %v, memory.current %v: present together or not at all", mem, st.MemoryBytes)
	}
}
