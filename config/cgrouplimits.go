package config

import (
	"fmt"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// cgroupLimitKeys are a process's cgroup limit keys, in the order they
// are checked and reported.
var cgroupLimitKeys = []string{"memory_max", "cpu_max", "pids_max"}

// cgroupLimits reads memory_max ("2G"), cpu_max ("QUOTA [PERIOD]") and
// pids_max (a whole number, 0 for none). Whether the host can apply them
// is not known here: CheckCgroupLimits says, once the agent's cgroups are.
func (p *parser) cgroupLimits(m *mapping) cgroup.Limits {
	var l cgroup.Limits
	if v, ok := p.str(m, "memory_max"); ok {
		n, err := cgroup.ParseMemoryMax(v)
		if p.check(m, "memory_max", err) {
			l.MemoryMax = n
		}
	}
	if v, ok := p.str(m, "cpu_max"); ok {
		q, err := cgroup.ParseCPUMax(v)
		if p.check(m, "cpu_max", err) {
			l.CPUMax = q
		}
	}
	if n, ok := p.int(m, "pids_max"); ok {
		if n < 0 {
			p.errorf(m.vals["pids_max"].Line, m.key("pids_max"), "must be >= 0 (0 for no limit), got %d", n)
		} else {
			l.PidsMax = n
		}
	}
	return l
}

// only returns the one limit of l that key names, so that each key is
// checked, and reported at its line, on its own.
func only(l cgroup.Limits, key string) cgroup.Limits {
	switch key {
	case "memory_max":
		return cgroup.Limits{MemoryMax: l.MemoryMax}
	case "cpu_max":
		return cgroup.Limits{CPUMax: l.CPUMax}
	}
	return cgroup.Limits{PidsMax: l.PidsMax}
}

// CheckCgroupLimits asks check (procmgr.CheckCgroupLimits with the
// agent's hierarchy) about each cgroup limit of each process, and returns
// an *Error at the line of every one that cannot be set: the agent refuses
// to start (exit status 2) and config check reports them, rather than run
// a process meant to be capped without its cap.
func (c *Config) CheckCgroupLimits(check func(cgroup.Limits) error) []*Error {
	var errs []*Error
	for i, pr := range c.Processes {
		for _, key := range cgroupLimitKeys {
			l := only(pr.CgroupLimits, key)
			if l == (cgroup.Limits{}) {
				continue
			}
			if err := check(l); err != nil {
				errs = append(errs, c.Errorf(pr.Lines[key], fmt.Sprintf("processes[%d].%s", i, key), "%v (process %s)", err, pr.Alias))
			}
		}
	}
	return errs
}
