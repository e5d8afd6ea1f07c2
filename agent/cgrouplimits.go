package agent

import (
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// cgroupLimitsError refuses a config whose cgroup limits (memory_max,
// cpu_max, pids_max) cannot be set with the hierarchy h (nil: cgroups
// off): the first such limit as a *config.Error at its line, so that the
// agent exits with status 2 instead of running a process uncapped.
func cgroupLimitsError(cfg *config.Config, h *cgroup.Hierarchy) error {
	errs := cfg.CheckCgroupLimits(func(l cgroup.Limits) error { return procmgr.CheckCgroupLimits(h, l) })
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
