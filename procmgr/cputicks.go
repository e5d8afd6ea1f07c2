package procmgr

import (
	"bytes"
	"os"
	"strconv"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// parseCPUTicks returns fields 14 to 17 of a /proc/PID/stat, summed: the
// user and system time of the process and of the children it has waited
// for, in clock ticks. The fields are counted after the last ')', which
// ends the command name (the only field that may hold spaces or ')'). A
// field that does not parse counts 0; too few fields is not ok.
func parseCPUTicks(b []byte) (uint64, bool) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, false
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3; fields 14..17 are f[11..14].
	if len(f) < 15 {
		return 0, false
	}
	var sum uint64
	for _, field := range f[11:15] {
		if v, err := strconv.ParseUint(string(field), 10, 64); err == nil {
			sum += v
		}
	}
	return sum, true
}

// familyCPUSeconds is the CPU time of members without a cgroup: each live
// member's own and that of the children it reaped. A member that exited
// and was reaped outside the family (by init) takes its time with it, so
// the figure may drop: it is shown in records, never as a counter.
func familyCPUSeconds(fsys procfs.FS, members []int) float64 {
	var ticks uint64
	for _, pid := range members {
		b, err := os.ReadFile(fsys.Root + "/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		if t, ok := parseCPUTicks(b); ok {
			ticks += t
		}
	}
	return float64(ticks) / procfs.ClockTicks
}
