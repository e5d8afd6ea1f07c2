package procmgr

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// Without cgroups the agent is a child subreaper (PR_SET_CHILD_SUBREAPER):
// a managed process's descendant whose parents exit (a double fork, a
// daemon) is reparented to the agent rather than to init, so that it stays
// a descendant of the agent while the agent lives. The agent must then reap
// those orphans, or they stay zombies, without ever reaping a child whose
// status somebody waits for: the instances procmgr spawned (reaped through
// their pidfds, see spawn) and whatever else the agent runs through os/exec.
//
// So the reaper never calls wait4(-1). On SIGCHLD it lists the agent's
// zombie children and reaps each, by pid, only when
//   - procmgr did not spawn it (spawned pids are registered while the
//     registry's lock is held around the fork, and the reaper holds it
//     while it checks a zombie again before reaping it, so a child that
//     dies at once is never mistaken for an orphan), and
//   - it is not in the agent's own session: every managed process starts
//     in a session of its own, and so do its descendants unless they move
//     to yet another one, while the agent's other children (health checks,
//     service commands) stay in the agent's session.

// spawned registers the pids of the instances spawned by every Manager of
// this process (the subreaper setting is the process's too).
var spawned struct {
	fork sync.RWMutex // read-held around each fork and its registration, write-held while the reaper reaps
	mu   sync.Mutex   // guards pids
	pids map[int]bool
}

var subreaper struct {
	once sync.Once
	on   atomic.Bool
	err  error
}

// reaper is started once per process, by the first that needs it.
var reaper sync.Once

// becomeSubreaper makes the agent a child subreaper and starts the reaper,
// once per process.
func becomeSubreaper(log *zap.Logger) error {
	subreaper.once.Do(func() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			subreaper.err = fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
			return
		}
		subreaper.on.Store(true)
		startReaper(log)
	})
	return subreaper.err
}

// startReaper reaps orphans on every SIGCHLD from now on, once per process.
func startReaper(log *zap.Logger) {
	reaper.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGCHLD)
		go func() {
			for range ch {
				reapOrphans(procfs.Default, log)
			}
		}()
		// Orphans may have arrived before the handler was in place.
		reapOrphans(procfs.Default, log)
	})
}

// isSubreaper reports whether the agent made itself a child subreaper:
// orphaned descendants of its children are then reparented to it.
func isSubreaper() bool {
	return subreaper.on.Load()
}

// forkRegistered runs start (a fork) with the registry read-locked and
// registers the pid it returns, so that the reaper cannot take the child
// for an orphan. unregister is called once the child has been reaped.
func forkRegistered(start func() (int, error)) (int, error) {
	spawned.fork.RLock()
	defer spawned.fork.RUnlock()
	pid, err := start()
	if err == nil {
		spawned.mu.Lock()
		if spawned.pids == nil {
			spawned.pids = map[int]bool{}
		}
		spawned.pids[pid] = true
		spawned.mu.Unlock()
	}
	return pid, err
}

// abandon leaves a spawned child that no manager waits for any more (its
// manager closed, or released it while it ran) to the reaper: it is no
// longer registered, so the reaper takes it for an orphan (it is in a
// session of its own) and reaps it once it exits, rather than leave a
// zombie. One that has exited already is reaped here: its SIGCHLD may
// have come while it was still registered.
func abandon(pid int) {
	startReaper(zap.NewNop()) // before the pid is unregistered: no SIGCHLD of it is missed
	spawned.fork.Lock()
	defer spawned.fork.Unlock()
	spawned.mu.Lock()
	delete(spawned.pids, pid)
	spawned.mu.Unlock()
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
}

// unregister forgets a spawned pid once it has been reaped.
func unregister(pid int) {
	spawned.mu.Lock()
	delete(spawned.pids, pid)
	spawned.mu.Unlock()
}

// reapOrphans reaps the agent's zombie children that are orphans of
// managed processes (see the comment at the top of this file).
//
// The candidates are found without the fork lock: a stop of many
// processes sends a SIGCHLD per exit, and forks (the starts of a restart
// of them all) would wait for each pass. The lock is then taken only to
// check each candidate again, which is cheap and rare: once it is held,
// every fork that has returned has registered its pid, so that a child
// that died at once is skipped; and the candidate is reaped only while
// it is still the same zombie (same start time), a pid that nobody else
// reaps and that cannot be reused before it is.
func reapOrphans(fs procfs.FS, log *zap.Logger) {
	self := os.Getpid()
	sid, err := unix.Getsid(0)
	if err != nil {
		return
	}
	orphans := orphanCandidates(fs, self, sid)
	if len(orphans) == 0 {
		return
	}
	spawned.fork.Lock()
	defer spawned.fork.Unlock()
	spawned.mu.Lock()
	defer spawned.mu.Unlock()
	for _, st := range orphans {
		if spawned.pids[st.PID] {
			continue
		}
		again, err := fs.Stat(st.PID)
		if err != nil || !isOrphanZombie(again, self, sid) || again.StartTicks != st.StartTicks {
			continue
		}
		var ws unix.WaitStatus
		_, err = unix.Wait4(st.PID, &ws, unix.WNOHANG, nil)
		if err != nil && !errors.Is(err, unix.ECHILD) {
			log.Debug("reap orphan", zap.Int("pid", st.PID), zap.Error(err))
		}
	}
}

// orphanCandidates returns the agent's zombie children outside its
// session that procmgr did not spawn (as far as the registry knew when
// it was read). They are found among the agent's children
// (procfs.Children, a few reads), or in a pass over every process where
// the kernel cannot list children.
func orphanCandidates(fs procfs.FS, self, sid int) []procfs.Stat {
	var out []procfs.Stat
	kids, err := fs.Children(self)
	switch {
	case errors.Is(err, procfs.ErrNoChildren):
		stats, err := fs.AllStats()
		if err != nil {
			return nil
		}
		spawned.mu.Lock()
		defer spawned.mu.Unlock()
		for _, st := range stats {
			if isOrphanZombie(st, self, sid) && !spawned.pids[st.PID] {
				out = append(out, st)
			}
		}
	case err != nil:
		return nil
	default:
		spawned.mu.Lock()
		kids = slices.DeleteFunc(kids, func(pid int) bool { return spawned.pids[pid] })
		spawned.mu.Unlock()
		for _, pid := range kids {
			if st, err := fs.Stat(pid); err == nil && isOrphanZombie(st, self, sid) {
				out = append(out, st)
			}
		}
	}
	return out
}

// isOrphanZombie says whether st is a zombie child of the agent outside
// its session: an orphan, or an instance that procmgr spawned.
func isOrphanZombie(st procfs.Stat, self, sid int) bool {
	return st.PPID == self && st.State == 'Z' && st.Session != sid
}
