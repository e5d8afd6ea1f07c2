package procmgr

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// cgroupFacts is what a listing reads of one process's cgroup.
type cgroupFacts struct {
	alias string
	id    uint64 // sock_diag's cgroup id of its sockets
	stats cgroup.Stats
	// members are listed only for an adopted process, whose older
	// sockets are found through its members' fds; nil otherwise.
	members []int
}

// readCgroup reads the cgroup of alias: its id, its usage and, with
// members, its processes. An alias without a cgroup is an error wrapping
// os.ErrNotExist.
func readCgroup(h *cgroup.Hierarchy, alias string, members bool) (cgroupFacts, error) {
	c, err := h.Lookup(alias)
	if err != nil {
		return cgroupFacts{}, err
	}
	defer c.Close()
	f := cgroupFacts{alias: alias, id: c.ID()}
	if f.stats, err = c.Stats(); err != nil {
		return cgroupFacts{}, err
	}
	if members {
		if f.members, err = c.Procs(); err != nil {
			return cgroupFacts{}, err
		}
		if f.members == nil {
			f.members = []int{}
		}
	}
	return f, nil
}

// cgroupMembers lists the processes of c's cgroup, read again when
// readCgroup did not.
func cgroupMembers(h *cgroup.Hierarchy, c *cgroupFacts) ([]int, error) {
	if c.members != nil {
		return c.members, nil
	}
	cg, err := h.Lookup(c.alias)
	if err != nil {
		return nil, err
	}
	defer cg.Close()
	return cg.Procs()
}

// selfCPUSeconds is the CPU time of the agent's own process, from
// getrusage; nil when pid is another process (a test's target).
func selfCPUSeconds(pid int) *float64 {
	if pid != os.Getpid() {
		return nil
	}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return nil
	}
	s := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	return &s
}

// cgroupStats reads the usage of alias's cgroup, for the metrics.
func cgroupStats(h *cgroup.Hierarchy, alias string) (cgroup.Stats, error) {
	c, err := h.Lookup(alias)
	if err != nil {
		return cgroup.Stats{}, err
	}
	defer c.Close()
	return c.Stats()
}
