package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
)

// TestConfigCheckCgroupLimits: a cgroup limit the host cannot apply is a
// finding at the key's line, naming the controller and the cgroup root, or
// that cgroups are off.
func TestConfigCheckCgroupLimits(t *testing.T) {
	yaml := "host:\n  id: 1\nprocesses:\n  - alias: capped\n    start_command: /bin/true\n    memory_max: 2G\n    pids_max: 100\n"
	cfg, err := config.Parse("c.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	off := limitFindings(cfg, nil)
	if len(off) != 2 || off[0].Line != 6 || off[1].Line != 7 || !strings.Contains(off[0].Error(), "c.yaml:6: processes[0].memory_max: ") ||
		!strings.Contains(off[0].Error(), "cgroups are off") || !strings.Contains(off[0].Error(), "(process capped)") {
		t.Errorf("cgroups off: %v", off)
	}

	h := cgrouptest.Hierarchy(t)
	found := limitFindings(cfg, h)
	if slices.Contains(h.Controllers(), "memory") {
		t.Skipf("the memory controller is enabled in %s: nothing to find", h.Dir())
	}
	if len(found) == 0 || found[0].Line != 6 || !strings.Contains(found[0].Msg, "memory_max needs the memory controller, which is not enabled in "+h.Dir()) {
		t.Errorf("findings: %v", found)
	}
}
