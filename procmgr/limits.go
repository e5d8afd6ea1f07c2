package procmgr

import (
	"fmt"
	"strconv"

	"github.com/ocp-agent/ocp-agent/procmgr/exechelper"
)

// Unlimited is a Limit's Value for "no limit" (RLIM_INFINITY).
const Unlimited = exechelper.Unlimited

// LimitNames are the resource limits a process may configure, in the order
// they are listed: counts for nofile and nproc, bytes for the others.
var LimitNames = []string{"nofile", "nproc", "core", "memlock", "stack"}

// Limit is one resource limit of a managed process. Both the soft and the
// hard limit are set to Value, as systemd's LimitNOFILE=N does, so that a
// program that raises its soft limit to the hard one gets the same number.
type Limit struct {
	// Name is one of LimitNames.
	Name string
	// Value is a count or a number of bytes; Unlimited for no limit.
	Value uint64
}

func (l Limit) String() string {
	if l.Value == Unlimited {
		return l.Name + "=unlimited"
	}
	return l.Name + "=" + strconv.FormatUint(l.Value, 10)
}

// CheckLimits returns the first limit that this agent could not set, with
// why: a limit above the agent's own hard limit when it is not root, or a
// nofile above the kernel's fs.nr_open, which even root cannot pass. The
// agent checks them before every start, and `config check` at load.
func CheckLimits(limits []Limit) error {
	for _, l := range limits {
		if err := CheckLimit(l); err != nil {
			return fmt.Errorf("limits.%s: %w", l.Name, err)
		}
	}
	return nil
}
