package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// TestRecordResources: a running process's record counts its processes,
// and a stopped one has none and 0 CPU time and no memory figure.
func TestRecordResources(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	p := a.waitStarted(185)
	if p.ProcessCount != 1 {
		t.Errorf("processCount = %d, want 1 (the demo program)", p.ProcessCount)
	}
	if p.CPUSeconds < 0 {
		t.Errorf("cpuSeconds = %v", p.CPUSeconds)
	}
	s, err := a.c.Stop(ctxT(t), 20, 185)
	if err != nil {
		t.Fatal(err)
	}
	if s.ProcessCount != 0 || s.CPUSeconds != 0 || s.MemoryBytes != nil {
		t.Errorf("stopped: processCount %d, cpuSeconds %v, memoryBytes %v", s.ProcessCount, s.CPUSeconds, s.MemoryBytes)
	}
}

// TestStartRefusesCgroupLimits: a cgroup limit the host cannot apply fails
// the agent's start with exit status 2, naming the file, the key's line and
// the key, before any process starts.
func TestStartRefusesCgroupLimits(t *testing.T) {
	if pidsDelegable(t) {
		t.Skip("the pids controller is available to cgroup2 here: the agent would apply pids_max")
	}
	marker := filepath.Join(t.TempDir(), "started")
	e := newEnv(t, "  - alias: capped\n    start_command: \"/usr/bin/touch "+marker+"\"\n    pids_max: 10\n")
	a := e.launch()
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("agent still runs with an unsettable pids_max\n%s", a.stderr)
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("exit status %d, want 2\n%s", code, a.stderr)
	}
	b, _ := os.ReadFile(e.cfgPath)
	line := 1 + strings.Count(string(b[:strings.Index(string(b), "pids_max")]), "\n")
	if want := fmt.Sprintf("%s:%d: processes[0].pids_max: ", e.cfgPath, line); !strings.Contains(a.stderr.String(), want) || !strings.Contains(a.stderr.String(), "pids_max needs") {
		t.Errorf("stderr lacks %q and the reason:\n%s", want, a.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the process started although its limit could not be set")
	}
}

// pidsDelegable says whether this host's first writable cgroup2 offers the
// pids controller, with which an agent using cgroups sets pids_max.
func pidsDelegable(t *testing.T) bool {
	host, err := cgroup.ReadHost()
	if err != nil {
		return false
	}
	p, err := cgroup.Resolve("auto", host)
	if err != nil || p.Mount == "" {
		return false
	}
	b, _ := os.ReadFile(filepath.Join(p.Mount, "cgroup.controllers"))
	return slices.Contains(strings.Fields(string(b)), "pids")
}
