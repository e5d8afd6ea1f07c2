package procfs

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"
)

// OpenProcess opens the files of pid that a Process reads. The files are
// opened relative to the process's directory, so that they are all of the
// same process even if pid is reused meanwhile; which process that is, the
// caller checks with Stat (its start time). The pidfd, opened by pid after
// them, is of that process too when a Stat after OpenProcess succeeds: it
// was not reaped, so its pid was its own. The error wraps fs.ErrNotExist
// when there is no such process.
func (fsys FS) OpenProcess(pid int) (*Process, error) {
	dir := fsys.pidPath(pid, "")
	dfd, err := openAt(unix.AT_FDCWD, dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, gone(&fs.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(dfd)
	p := &Process{root: fsys.root(), pid: pid, stat: -1, cmdline: -1, status: -1, pidfd: -1}
	open := func(fd *int, name string) error {
		var err error
		if *fd, err = openAt(dfd, name, unix.O_RDONLY); err != nil {
			*fd = -1
			p.Close()
			return gone(&fs.PathError{Op: "open", Path: p.path(name), Err: err})
		}
		return nil
	}
	if err := open(&p.stat, "stat"); err != nil {
		return nil, err
	}
	if err := open(&p.cmdline, "cmdline"); err != nil {
		return nil, err
	}
	if fsys.MayAskPidfds() {
		p.openPidfd()
	}
	if p.pidfd < 0 {
		if err := open(&p.status, "status"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// openPidfd opens p's pidfd if the kernel answers PIDFD_GET_INFO through
// it, as it asks once (and AllKin may have asked before).
func (p *Process) openPidfd() {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if err != nil {
		return // status serves
	}
	p.pidfd = fd
	if pidfdInfoState.Load() == 1 {
		return
	}
	if _, err := p.pidfdRealUID(); errors.Is(err, ErrNoPidfdInfo) {
		unix.Close(fd)
		p.pidfd = -1
	}
}

// pidfdRealUID asks p's pidfd for the real uid. ESRCH, the process
// reaped, wraps fs.ErrNotExist as a read of its status would.
func (p *Process) pidfdRealUID() (int, error) {
	info, err := pidfdInfo(p.pidfd, unix.PIDFD_INFO_CREDS)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoPidfdInfo):
			pidfdInfoState.Store(2)
		case errors.Is(err, errProcessGone):
			err = gone(&fs.PathError{Op: "ioctl PIDFD_GET_INFO", Path: p.path(""), Err: unix.ESRCH})
		}
		return 0, err
	}
	if pidfdInfoState.Load() != 1 {
		pidfdInfoState.Store(1)
	}
	return int(info.Ruid), nil
}

// Close closes its files.
func (p *Process) Close() error {
	for _, fd := range p.FDs() {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	p.stat, p.cmdline, p.status, p.pidfd = -1, -1, -1, -1
	return nil
}

// read reads the whole file open as fd (see PreadAll).
func (p *Process) read(fd int, name string, buf []byte) ([]byte, error) {
	buf, err := PreadAll(fd, buf)
	if err != nil {
		return nil, gone(&fs.PathError{Op: "read", Path: p.path(name), Err: err})
	}
	return buf, nil
}
