package procmgr

import (
	"fmt"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// CheckCgroupLimits says whether l can be set on the processes' cgroups of
// h (nil: cgroups off): an error naming the key (memory_max, cpu_max,
// pids_max) and why, wrapping cgroup.ErrNoController, for the first limit
// that cannot. A limit the agent cannot set is a config error, not a
// warning: a process meant to be capped must not run uncapped unnoticed.
func CheckCgroupLimits(h *cgroup.Hierarchy, l cgroup.Limits) error {
	if l == (cgroup.Limits{}) {
		return nil
	}
	if h == nil {
		return cgroupsOff{limitKeys(l) + " needs a cgroup per process, and cgroups are off (cgroup: off, or no writable cgroup2 on this host)"}
	}
	return h.CheckLimits(l)
}

// cgroupsOff is CheckCgroupLimits' error without cgroups: it is
// cgroup.ErrNoController for errors.Is, and reads without its words,
// which would say less than the message.
type cgroupsOff struct{ msg string }

func (e cgroupsOff) Error() string { return e.msg }
func (e cgroupsOff) Unwrap() error { return cgroup.ErrNoController }

// limitKeys names the config keys of l's limits, for messages.
func limitKeys(l cgroup.Limits) string {
	var keys []string
	if l.MemoryMax > 0 {
		keys = append(keys, "memory_max")
	}
	if l.CPUMax != "" {
		keys = append(keys, "cpu_max")
	}
	if l.PidsMax > 0 {
		keys = append(keys, "pids_max")
	}
	switch len(keys) {
	case 1:
		return keys[0]
	case 2:
		return keys[0] + " and " + keys[1]
	}
	return keys[0] + ", " + keys[1] + " and " + keys[2]
}

// checkCgroupLimits is CheckCgroupLimits for every spec, so that New and
// Update refuse a set of processes some of whose limits could not be set,
// before anything starts.
func checkCgroupLimits(h *cgroup.Hierarchy, specs []Spec) error {
	for _, s := range specs {
		if err := CheckCgroupLimits(h, s.CgroupLimits); err != nil {
			return fmt.Errorf("process %s: %w", s.Alias, err)
		}
	}
	return nil
}

// applyLimits sets the process's cgroup limits on c, its cgroup, before a
// start puts the process there (the spawn calls it once the cgroup is
// created, so that no instruction runs uncapped). A spec changed by a
// reload takes effect at the next start, like the rest of a spec.
func (p *proc) applyLimits(c *cgroup.Cgroup) error {
	if p.spec.CgroupLimits == (cgroup.Limits{}) {
		return nil
	}
	if err := c.SetLimits(p.spec.CgroupLimits); err != nil {
		return fmt.Errorf("start %s: %w", p.spec.Alias, err)
	}
	return nil
}
