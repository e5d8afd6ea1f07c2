package health

import (
	"context"
	"errors"
	"os/exec"

	"golang.org/x/sys/unix"
)

// runGroup starts cmd, which leads a process group of its own, and waits
// for it to exit, or kills the group when ctx ends first. The exit is
// awaited without reaping the leader (waitid WNOWAIT): until it is reaped,
// its pid cannot be reused, so kill(-pid) reaches this group and no other.
// Once it has exited, whatever it left in its group is killed too, and
// only then is it reaped.
func runGroup(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		waitNoReap(pid)
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		_ = unix.Kill(-pid, unix.SIGKILL)
		<-exited
	}
	_ = unix.Kill(-pid, unix.SIGKILL) // the rest of its group
	err := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// waitNoReap blocks until the child pid has exited, leaving it a zombie.
func waitNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
