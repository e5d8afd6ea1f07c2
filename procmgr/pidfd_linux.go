package procmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pidfdOpen returns a pidfd for pid. A pidfd names one process, not a
// pid number: signals sent through it can never reach a process that
// later got the same pid, and it becomes readable when the process exits.
// With polled it is non-blocking, for the runtime's poller to wait on
// (waitExit); without, blocking, for an exitWatch, so that the poller
// does not take it as well (a poll descriptor per managed process, for
// nothing).
func pidfdOpen(pid int, polled bool) (*os.File, error) {
	flags := 0
	if polled {
		flags = unix.PIDFD_NONBLOCK
	}
	fd, err := unix.PidfdOpen(pid, flags)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid)), nil
}

// pidfdSignal sends sig to the process f refers to. A process that has
// already exited is not an error: whoever asked wants it gone, and it is.
func pidfdSignal(f *os.File, sig syscall.Signal) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), sig, nil, 0)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return nil
	}
	if serr != nil {
		return fmt.Errorf("pidfd_send_signal %s: %w", unix.SignalName(sig), serr)
	}
	return nil
}

// waitExit blocks until the process f refers to has exited (its pidfd is
// readable) or ctx is done. The wait is parked in the runtime's poller, so it
// neither holds a thread nor wakes on a timer: an exit is seen at once.
func waitExit(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		// A deadline in the past wakes the parked Read below.
		_ = f.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	err = rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, perr := unix.Poll(pfd, 0)
		return perr == nil && n > 0
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// killGroup sends sig to every member of process group pgid. Callers make
// sure the group's leader is known to hold pgid (it has not been reaped), so
// that the number cannot name somebody else's group.
func killGroup(pgid int, sig syscall.Signal) error {
	err := unix.Kill(-pgid, sig)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill -%s -%d: %w", unix.SignalName(sig), pgid, err)
	}
	return nil
}

// sysProcAttr starts a child in a session of its own, so that it has its own
// process group (stops signal all of it) and no controlling terminal, and
// outlives the agent. No Pdeathsig: it is tied to the forking thread and
// would kill managed processes with the agent.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Credential: cred}
}

// signalName is the short name of sig ("SIGTERM"), for logs and errors.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}
