package procmgr

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/procmgr/exechelper"
)

// rlimitResources maps LimitNames to setrlimit(2)'s resources.
var rlimitResources = map[string]int{
	"nofile":  unix.RLIMIT_NOFILE,
	"nproc":   unix.RLIMIT_NPROC,
	"core":    unix.RLIMIT_CORE,
	"memlock": unix.RLIMIT_MEMLOCK,
	"stack":   unix.RLIMIT_STACK,
}

// nrOpenFile holds the largest RLIMIT_NOFILE the kernel accepts.
var nrOpenFile = "/proc/sys/fs/nr_open"

// CheckLimit says why this agent could not set l (see CheckLimits), or
// returns nil.
func CheckLimit(l Limit) error {
	res, ok := rlimitResources[l.Name]
	if !ok {
		return fmt.Errorf("unknown limit; want one of %s", strings.Join(LimitNames, ", "))
	}
	if res == unix.RLIMIT_NOFILE {
		if b, err := os.ReadFile(nrOpenFile); err == nil {
			if max, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && l.Value > max {
				return fmt.Errorf("%s is above the kernel's maximum of open files, %d (sysctl fs.nr_open)", exechelper.LimitValue(l.Value), max)
			}
		}
	}
	if os.Geteuid() == 0 {
		return nil // CAP_SYS_RESOURCE: root may raise hard limits
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(res, &cur); err != nil {
		return fmt.Errorf("read the agent's limit: %w", err)
	}
	if cur.Max != unix.RLIM_INFINITY && l.Value > cur.Max {
		return fmt.Errorf("%s is above the agent's hard limit %d, which only root may raise", exechelper.LimitValue(l.Value), cur.Max)
	}
	return nil
}
