// Package cgroup keeps each managed process in a cgroup v2 of its own, so
// that nothing it spawns escapes a stop: setsid, double forks and daemons
// stay members whatever they do (see PROCESS-NOTES point 12).
//
// The agent owns one directory of the cgroup2 hierarchy, its root (a
// Hierarchy), and makes one child cgroup per process alias below it (a
// Cgroup). Processes are started straight into their cgroup with clone3's
// CLONE_INTO_CGROUP (exec.Cmd's SysProcAttr.UseCgroupFD and CgroupFD, from
// Cgroup.FD), so they never run a single instruction outside it.
//
// procmgr asks a Cgroup for members, kill, empty and usage, never for
// paths; the paths are in the descriptions for people (logs, /healthz,
// config check).
package cgroup

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the package, checked with errors.Is.
var (
	// ErrNoController says a limit needs a controller that is not enabled
	// for the agent's cgroups (not delegated to the agent, or absent).
	ErrNoController = errors.New("cgroup controller not enabled")
	// ErrPopulated says a cgroup still has processes where it must be empty
	// (Create of an alias whose cgroup is in use, Remove of a live one).
	ErrPopulated = errors.New("cgroup has processes")
	// ErrBadAlias says an alias cannot name a cgroup.
	ErrBadAlias = errors.New("alias cannot name a cgroup")
)

// AgentLeaf is the cgroup, below the root, that the agent moves itself into
// when it lives in its root (its own systemd service cgroup): a cgroup
// with controllers enabled for its children may hold processes only in
// its leaves. It is the agent's own reserved alias in the config, which no
// managed process can have, so it never collides with a process's cgroup.
const AgentLeaf = "ocp_agentd"

// interfacePrefixes are the first parts of the names of the kernel's
// interface files in a cgroup directory ("memory.max", "cgroup.procs"). A
// child cgroup named like one would make enabling that controller fail, or
// be refused; dirName moves such aliases aside.
var interfacePrefixes = []string{"cgroup", "cpu", "cpuset", "cpuacct", "io", "memory", "pids",
	"rdma", "hugetlb", "misc", "dmem", "freezer", "net_cls", "net_prio", "perf_event", "devices", "blkio"}

// DirName is the name of an alias's cgroup directory: the alias itself,
// except that an alias starting with a controller's name and a dot
// ("memory.x") gets a leading '_' (which no alias has, so the mapping is
// one to one and AliasOf reverses it). The alias rule is the config's: 1
// to 64 letters, digits, '_', '.' or '-', starting with a letter or digit,
// not AgentLeaf.
func DirName(alias string) (string, error) {
	if err := validAlias(alias); err != nil {
		return "", err
	}
	if pre, _, ok := strings.Cut(alias, "."); ok {
		for _, p := range interfacePrefixes {
			if pre == p {
				return "_" + alias, nil
			}
		}
	}
	return alias, nil
}

// AliasOf is the alias whose cgroup directory is named dir, and false for
// a directory no alias maps to (AgentLeaf, something another program
// made).
func AliasOf(dir string) (string, bool) {
	alias := strings.TrimPrefix(dir, "_")
	if d, err := DirName(alias); err != nil || d != dir {
		return "", false
	}
	return alias, true
}

func validAlias(s string) error {
	ok := len(s) >= 1 && len(s) <= 64 && isAlnum(s[0]) && s != AgentLeaf
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = isAlnum(c) || c == '_' || c == '.' || c == '-'
	}
	if !ok {
		return fmt.Errorf("%w: %q (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit, not %q)", ErrBadAlias, s, AgentLeaf)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Stats is what a cgroup uses now.
type Stats struct {
	// Processes counts the cgroup's processes (pids.current where the pids
	// controller is on, which counts threads too, else cgroup.procs).
	Processes int
	// CPUSeconds is the CPU time of every process that was ever in the
	// cgroup (cpu.stat's usage_usec, present in every cgroup2).
	CPUSeconds float64
	// MemoryBytes is memory.current; nil without the memory controller.
	MemoryBytes *uint64
}

// Limits are the cgroup limits of one process; zero values set nothing.
type Limits struct {
	MemoryMax uint64 // bytes, memory.max (ParseMemoryMax)
	CPUMax    string // "quota period" in microseconds, cpu.max (ParseCPUMax)
	PidsMax   int64  // pids.max
}

// controllerOf names the controller each limit needs.
func (l Limits) controllers() []string {
	var c []string
	if l.MemoryMax > 0 {
		c = append(c, "memory")
	}
	if l.CPUMax != "" {
		c = append(c, "cpu")
	}
	if l.PidsMax > 0 {
		c = append(c, "pids")
	}
	return c
}
