package procfs

import (
	"errors"
	"fmt"
)

// Kin is a process's place among the others, and who runs it: what a
// listing needs of every process on the host to find each managed
// process's descendants and group, as opposed to the few it reports on.
type Kin struct {
	PID, PPID, PGRP int
	// RUID is the real uid, or -1 when it was not read (KinOf: the stat
	// file does not carry it).
	RUID int
}

// ErrNoPidfdInfo says AllKin could not answer through pidfds (see AllKin
// for when). The caller reads /proc/PID/stat instead (AllStats, KinOf).
var ErrNoPidfdInfo = fmt.Errorf("pidfd information (PIDFD_GET_INFO): %w", errors.ErrUnsupported)

// KinOf returns the Kin of each of stats, RUID unknown.
func KinOf(stats []Stat) []Kin {
	out := make([]Kin, len(stats))
	for i, s := range stats {
		out[i] = Kin{PID: s.PID, PPID: s.PPID, PGRP: s.PGRP, RUID: -1}
	}
	return out
}
