//go:build !linux

package procmgr

import (
	"errors"
	"fmt"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

var errNoCgroups = errors.New("no cgroups on this system")

type cgroupFacts struct {
	alias   string
	id      uint64
	stats   cgroup.Stats
	members []int
}

func readCgroup(*cgroup.Hierarchy, string, bool) (cgroupFacts, error) {
	return cgroupFacts{}, errNoCgroups
}

// cgroupFiles are never open where there are no cgroups.
type cgroupFiles struct{}

func openCgroupFiles(*cgroup.Hierarchy, string) (*cgroupFiles, error) { return nil, errNoCgroups }

func (*cgroupFiles) fds() []int { return nil }
func (*cgroupFiles) close()     {}
func (*cgroupFiles) read(string, bool) (cgroupFacts, error) {
	return cgroupFacts{}, errNoCgroups
}

// fdBudget: no file is held where they cannot be read again.
func fdBudget() int { return 0 }

func cgroupMembers(*cgroup.Hierarchy, *cgroupFacts) ([]int, error) { return nil, errNoCgroups }

func cgroupStats(*cgroup.Hierarchy, string) (cgroup.Stats, error) {
	return cgroup.Stats{}, errNoCgroups
}

// CheckCgroupLimits: no limit can be set where there are no cgroups.
func CheckCgroupLimits(_ *cgroup.Hierarchy, l cgroup.Limits) error {
	if l == (cgroup.Limits{}) {
		return nil
	}
	return fmt.Errorf("%w: cgroup limits need Linux cgroup v2", cgroup.ErrNoController)
}

func checkCgroupLimits(h *cgroup.Hierarchy, specs []Spec) error {
	for _, s := range specs {
		if err := CheckCgroupLimits(h, s.CgroupLimits); err != nil {
			return fmt.Errorf("process %s: %w", s.Alias, err)
		}
	}
	return nil
}
