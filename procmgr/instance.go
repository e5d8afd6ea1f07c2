package procmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// instance is one running incarnation of a managed process, known by its
// identity (pid and start time), not by its pid alone. It is owned by the
// process's goroutine; only exited and status are shared, through the
// close of exited.
type instance struct {
	pid   int
	ticks uint64 // start time in clock ticks after boot (/proc/PID/stat field 22)
	// group: the instance leads its own session and process group, because
	// the agent started it; signals go to the whole group.
	group bool
	// pgid is the process group signalled when it differs from pid: the
	// group of a recorded instance whose leader is gone while members
	// remain (adoptGroup). Signals then go member by member.
	pgid int
	// child: this agent process forked it, so its exit status is known.
	child bool
	// moved: contain moved it into its cgroup, so its older sockets are
	// filed under another cgroup (a listing scans its members' fds).
	moved bool
	pidfd *os.File
	// watch notices the exit through pidfd (nil without a pidfd); watchID
	// names the instance there.
	watch   *exitWatch
	watchID int32
	// cg, when set, is the cgroup that holds the instance and everything
	// it spawned: SIGKILL goes to all of it and the instance is gone once
	// it is empty. The proc owns it (it outlives instances).
	cg *cgroup.Cgroup

	started   time.Time // monotonic: how long it ran decides the back-off
	outPath   string    // its output file and where this run's output starts
	outOffset int64

	exited chan struct{} // closed once the process has exited (and, if a child, been reaped)
	status int           // exit status, valid once exited is closed; -1 when unknown
}

// spawn starts cmd as a new instance in its own session, watched by w.
//
// The child's pidfd comes from clone itself (SysProcAttr.PidFD), so it
// names the child from its first instant. Go's os.Process keeps a
// duplicate for its Wait and Signal, which this package does not use:
// it is released, and the child is reaped by w once its pidfd says it
// exited, which halves the agent's fds (one per managed process instead
// of two: fewer to scan when the agent lists its own ports). Without
// pidfds (Linux before 5.3), the exit is awaited with cmd.Wait, a thread
// blocked per child.
func spawn(cmd *exec.Cmd, fs procfs.FS, w *exitWatch) (*instance, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	pidfd := -1
	cmd.SysProcAttr.PidFD = &pidfd
	pid, err := forkRegistered(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	if err != nil {
		return nil, err
	}
	in := &instance{pid: pid, group: true, child: true, started: time.Now(), exited: make(chan struct{}), status: -1}
	// Until it is reaped, the child holds its pid: the start time read
	// now is its own, even if it has already exited.
	if st, err := fs.Stat(pid); err == nil {
		in.ticks = st.StartTicks
	}
	if pidfd < 0 {
		go func() {
			in.status = waitStatus(cmd.Wait())
			unregister(pid)
			close(in.exited)
		}()
		return in, nil
	}
	// Blocking, as clone made it: w waits on it, not the runtime's poller.
	in.pidfd = os.NewFile(uintptr(pidfd), fmt.Sprintf("pidfd:%d", pid))
	cmd.Process.Release()
	if err := w.add(in); err != nil {
		// Nobody would notice its exit: it must not run.
		_ = killGroup(pid, syscall.SIGKILL)
		reap(pid)
		unregister(pid)
		in.pidfd.Close()
		return nil, err
	}
	return in, nil
}

// waitStatus is the exit status that cmd.Wait's error says.
func waitStatus(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return exitStatus(ws)
		}
	}
	return -1
}

// adopt takes over a running process that this agent process did not
// fork, after checking that pid still has the start time recorded for it.
// The check is made after the pidfd is open, so the pidfd is known to
// name the recorded process; from then on signals go through it. The exit
// is noticed by w through the pidfd, with the status unknown.
func adopt(w *exitWatch, fs procfs.FS, pid int, ticks uint64, group bool) (*instance, error) {
	f, err := pidfdOpen(pid, false) // waited on by w
	if err != nil {
		return nil, err
	}
	st, err := fs.Stat(pid)
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.StartTicks != ticks {
		f.Close()
		return nil, fmt.Errorf("pid %d started at tick %d, not %d: %w", pid, st.StartTicks, ticks, errPidReused)
	}
	if st.State == 'Z' {
		f.Close()
		return nil, fmt.Errorf("pid %d has exited: %w", pid, os.ErrNotExist)
	}
	in := &instance{
		pid: pid, ticks: ticks, group: group && st.PGRP == pid, pidfd: f,
		started: time.Now().Add(-elapsed(ticks)), exited: make(chan struct{}), status: -1,
	}
	if err := w.add(in); err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

// errPidReused says a pid now belongs to another process than the recorded one.
var errPidReused = errors.New("pid reused")

func elapsed(ticks uint64) time.Duration {
	d, err := procfs.Elapsed(ticks)
	if err != nil {
		return 0
	}
	return d
}

func (in *instance) hasExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the instance: to its whole process group while the
// leader is known to hold the group id, else member by member through
// pidfds, and to the process alone when it is not a group of the agent's.
func (in *instance) signal(fs procfs.FS, sig syscall.Signal) error {
	if !in.group {
		if in.pidfd == nil {
			return fmt.Errorf("signal pid %d: no pidfd", in.pid)
		}
		return pidfdSignal(in.pidfd, sig)
	}
	pgid := in.pid
	if in.pgid != 0 {
		pgid = in.pgid
	}
	if pgid == in.pid && !in.hasExited() {
		// The leader has not been reaped, so pid still names its group.
		// (An adopted leader could be reaped by init between this check and
		// the kill; its pid would then have to be reused as a group id at
		// once, after a whole turn of pid_max.)
		return killGroup(in.pid, sig)
	}
	members, err := liveMembers(fs, pgid)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, m := range members {
		errs = append(errs, pidfdSignal(m, sig))
		m.Close()
	}
	return errors.Join(errs...)
}

// kill SIGKILLs the instance: its whole cgroup (new forks included) when
// it has one, and its process group (or itself) as signal does, for the
// members an adoption could not move into the cgroup.
func (in *instance) kill(fs procfs.FS) error {
	var errs []error
	if in.cg != nil {
		errs = append(errs, in.cg.Kill())
	}
	errs = append(errs, in.signal(fs, syscall.SIGKILL))
	return errors.Join(errs...)
}

// waitGone returns once the instance has exited (and, if a child, was
// reaped) and then, with a cgroup, the cgroup is empty; without one, once
// no live member of its process group remains (for a group). It returns
// ctx's error when ctx is done first.
func (in *instance) waitGone(ctx context.Context, fs procfs.FS) error {
	select {
	case <-in.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	if in.cg != nil {
		empty, err := in.cg.Empty()
		if err != nil {
			return pollEmpty(ctx, in.cg)
		}
		select {
		case <-empty:
		case <-ctx.Done():
		}
		// Closing the cgroup (the manager shutting down) closes empty
		// too: that is not the process going.
		return ctx.Err()
	}
	if !in.group {
		return nil
	}
	pgid := in.pid
	if in.pgid != 0 {
		pgid = in.pgid
	}
	for {
		if groupEmpty(pgid) {
			return nil // no scan of /proc needed: nobody at all is left
		}
		members, err := liveMembers(fs, pgid)
		if err != nil {
			return err
		}
		if len(members) == 0 {
			return nil
		}
		for _, m := range members {
			err := waitExit(ctx, m)
			m.Close()
			if err != nil {
				return err
			}
		}
		// Members may have forked while we waited: look again.
	}
}

// pollEmpty is waitGone's wait for an empty cgroup when it cannot be
// watched (no inotify instance left): cgroup.events is read every 100 ms.
func pollEmpty(ctx context.Context, cg *cgroup.Cgroup) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if pop, err := cg.Populated(); err != nil || !pop {
			return ctx.Err()
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// liveMembers returns pidfds of the live (not zombie) members of process
// group pgid. Each member is checked again after its pidfd is open, so a
// pidfd never names a process that merely reused a member's pid.
func liveMembers(fs procfs.FS, pgid int) ([]*os.File, error) {
	stats, err := fs.AllStats()
	if err != nil {
		return nil, fmt.Errorf("list group %d: %w", pgid, err)
	}
	var out []*os.File
	for _, st := range stats {
		if st.PGRP != pgid || st.State == 'Z' {
			continue
		}
		f, err := pidfdOpen(st.PID, true) // waited on by waitExit
		if err != nil {
			continue // gone already
		}
		again, err := fs.Stat(st.PID)
		if err != nil || again.StartTicks != st.StartTicks || again.PGRP != pgid || again.State == 'Z' {
			f.Close()
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// release stops watching the instance and closes its pidfd. The process
// is not touched; a child the agent spawned is still reaped once it exits.
func (in *instance) release() {
	if in.watch != nil {
		in.watch.remove(in)
	}
	if in.pidfd != nil {
		in.pidfd.Close()
	}
}
