package procmgr

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// adoptRecorded takes over the instance the record names, if it is still
// the same process: same boot, same pid, same start time.
func (p *proc) adoptRecorded() *instance {
	r := p.rec
	if r.BootID != p.m.bootID {
		p.log.Info("host rebooted since the record was written; not trusting its pid", zap.Int("pid", r.PID))
		p.forgetIdentity()
		return nil
	}
	// An instance that an earlier adoption moved into its cgroup is still
	// one whose older sockets are filed under another cgroup.
	moved := r.MovedTicks != 0 && r.MovedTicks == r.StartTicks
	in, err := adopt(p.m.exits, p.m.fs, r.PID, r.StartTicks, r.Group)
	if err != nil && r.Group {
		if in = p.adoptGroup(r.PID, r.StartTicks); in != nil {
			p.log.Info("recorded instance is gone, but members of its process group remain; following them",
				zap.Int("pgid", r.PID), zap.Int("pid", in.pid))
			in.moved = moved
			return in
		}
	}
	if err != nil {
		p.log.Info("recorded instance is gone", zap.Int("pid", r.PID), zap.Error(err))
		p.forgetIdentity()
		return nil
	}
	p.log.Info("adopted the recorded instance", zap.Int("pid", in.pid))
	in.moved = moved
	return in
}

// adoptGroup follows what is left of a recorded process group whose
// leader (the process the agent started, in a session of its own) is gone:
// an agent killed in the middle of a stop whose leader died on the stop
// signal while a member ignores it. The members still carry the session
// and group ids of the leader, ids that no other process can get while
// they live, and started no earlier than it. The oldest is the instance's
// pid; signals go to every live member, and the instance is gone once
// none is left.
func (p *proc) adoptGroup(pgid int, ticks uint64) *instance {
	stats, err := p.allStats()
	if err != nil {
		return nil
	}
	var best *procfs.Stat
	for i, st := range stats {
		if st.PGRP != pgid || st.Session != pgid || st.State == 'Z' || st.StartTicks < ticks {
			continue
		}
		if best == nil || st.StartTicks < best.StartTicks {
			best = &stats[i]
		}
	}
	if best == nil {
		return nil
	}
	in, err := adopt(p.m.exits, p.m.fs, best.PID, best.StartTicks, false)
	if err != nil {
		return nil
	}
	in.group, in.pgid = true, pgid
	return in
}

// forgetIdentity records that the recorded instance vanished while nobody
// watched: its exit status is unknown.
func (p *proc) forgetIdentity() {
	p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group, p.rec.MovedTicks = 0, 0, "", false, 0
	p.rec.LastExitCode = nil
	p.rec.UpdateTime = time.Now()
	p.removePidFile()
}

// launchEnv names the environment variable that carries a start's token.
const launchEnv = "OCP_AGENT_LAUNCH"

func newLaunchToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fromLaunch finds the process of a start that an agent killed at the
// wrong moment forked but never recorded: the oldest process whose
// environment carries the start's token (a shell's children inherit it,
// and the shell, the one the agent started, is the oldest).
func (p *proc) fromLaunch(token string) *instance {
	kv := launchEnv + "=" + token
	uid, err := p.runUID()
	if err != nil {
		return nil
	}
	pid, ticks, err := p.oldest(func(pid int) bool {
		if !p.runsAs(pid, uid) {
			return false // the token is readable by the user, who could copy it
		}
		ok, _ := p.m.fs.HasEnv(pid, kv)
		return ok
	})
	if err != nil {
		return nil
	}
	in, err := adopt(p.m.exits, p.m.fs, pid, ticks, true)
	if err != nil {
		return nil
	}
	p.log.Info("adopted a process whose start was not recorded", zap.Int("pid", in.pid))
	return in
}

// launchID names the process a start launched: the instance whose exit 0
// let a daemonizing program's real server take over. Zero when no start
// was made in this agent's life (adoption when the agent starts, or
// before a start).
type launchID struct {
	pid   int
	ticks uint64
}

// findExisting looks for an instance the agent did not start: through
// pid_file, then through match. It never returns the agent itself.
func (p *proc) findExisting() *instance {
	if p.spec.PidFile != "" {
		in, err := p.fromPidFile(launchID{})
		if err == nil {
			return in
		}
		if !errors.Is(err, errNoPidFile) {
			p.log.Warn("not adopting through pid_file", zap.Error(err))
		}
	}
	if p.spec.Match != nil {
		if in, err := p.fromMatch(); err == nil {
			return in
		}
	}
	return nil
}

// runUID is the real uid the process runs as: its user's, or the agent's
// when no user is configured.
func (p *proc) runUID() (int, error) {
	if p.spec.User == "" {
		return os.Getuid(), nil
	}
	u, err := user.Lookup(p.spec.User)
	if err != nil {
		return 0, fmt.Errorf("user %s: %w", p.spec.User, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, fmt.Errorf("user %s: uid %q: %w", p.spec.User, u.Uid, err)
	}
	return uid, nil
}

// runUserName names the process's user in refusals.
func (p *proc) runUserName(uid int) string {
	if p.spec.User != "" {
		return "user " + p.spec.User
	}
	return fmt.Sprintf("the agent's user (uid %d)", uid)
}

// fromPidFile adopts the process named in pid_file, if it may be the
// configured program's (see readPidFile for the checks of the file, and
// mayAdopt and descends for those of the process). When match is set too,
// the process must also match it.
func (p *proc) fromPidFile(from launchID) (*instance, error) {
	path := p.spec.PidFile
	uid, err := p.runUID()
	if err != nil {
		return nil, fmt.Errorf("pid file %s: %w", path, err)
	}
	pid, written, err := readPidFile(path, uid)
	if err != nil {
		return nil, err
	}
	st, err := p.mayAdopt(pid, uid)
	if err != nil {
		return nil, fmt.Errorf("pid file %s names pid %d, %w", path, pid, err)
	}
	// A pid file older than the process it names was written for an
	// earlier process whose pid was reused (a stale file). The slack
	// covers the clock tick and the file system's time granularity.
	if started := time.Now().Add(-elapsed(st.StartTicks)); started.After(written.Add(2 * time.Second)) {
		return nil, fmt.Errorf("pid file %s names pid %d, which started after the file was written (a stale pid file)", path, pid)
	}
	if from.pid != 0 && p.cg != nil {
		if err := p.inCgroup(pid); err != nil {
			return nil, fmt.Errorf("pid file %s names pid %d, %w", path, pid, err)
		}
	} else if from.pid != 0 {
		if err := descends(p.m.fs, st, from); err != nil {
			return nil, fmt.Errorf("pid file %s names pid %d, %w", path, pid, err)
		}
	}
	if p.spec.Match != nil && !p.matches(pid) {
		return nil, fmt.Errorf("pid file %s names pid %d, which does not match %s", path, pid, p.spec.Match)
	}
	return adopt(p.m.exits, p.m.fs, pid, st.StartTicks, false)
}

// mayAdopt checks what every adopted process must be, however it was
// found: not pid 1, not the agent, not a kernel thread nor a zombie, and
// running as the process's user (its real uid: the user who started it,
// which a set-user-id program does not change; a process of that user is
// one that user could signal anyway). Its error completes "names pid N, ".
func (p *proc) mayAdopt(pid, uid int) (procfs.Stat, error) {
	if pid <= 1 || pid == os.Getpid() {
		return procfs.Stat{}, errors.New("which is init or the agent")
	}
	st, err := p.m.fs.Stat(pid)
	if err != nil {
		return procfs.Stat{}, errors.New("which does not run")
	}
	if st.State == 'Z' {
		return procfs.Stat{}, errors.New("which has exited")
	}
	if st.PID == 2 || st.PPID == 2 {
		return procfs.Stat{}, errors.New("which is a kernel thread")
	}
	ruid, err := p.m.fs.RealUID(pid)
	if err != nil {
		return procfs.Stat{}, errors.New("which does not run")
	}
	if ruid != uid {
		return procfs.Stat{}, fmt.Errorf("which does not run as %s", p.runUserName(uid))
	}
	return st, nil
}

// descends reports whether st, named by a pid file after the start from
// launched a daemonizing program that exited 0, comes from that start.
// It is the one place that decides it, so that with cgroups it becomes
// "is in the process's cgroup".
//
// Without cgroups, descent is read from what the kernel keeps:
//   - a process in the launcher's session descends from it: the launcher
//     was started in a session of its own (sid = its pid), a session id is
//     only inherited, and the pid cannot be given to another process while
//     any member of the session lives;
//   - else (the program called setsid) it must have started no earlier than
//     the launcher, and so must each of its ancestors up to one that is in
//     the launcher's session, is the launcher, or was reparented because
//     its parents exited: a daemon's server is such an orphan, or the
//     child of one (a monitor process). An orphan goes to the nearest
//     living ancestor that is a child subreaper, else to init: for the
//     launcher's descendants, that is the agent itself (a subreaper when
//     it runs without cgroups) or one of its ancestors.
//
// A process of the same user started after the launch, setsid'd and
// orphaned by some other program of that user, passes too: that user could
// signal it anyway, so following it harms nobody else. mayAdopt has checked
// the user already.
func descends(fs procfs.FS, st procfs.Stat, from launchID) error {
	reapers := agentAncestors(fs)
	cur := st
	for depth := 0; depth < 64; depth++ {
		if cur.Session == from.pid {
			return nil
		}
		if cur.StartTicks < from.ticks {
			if cur.PID == st.PID {
				return fmt.Errorf("which started before the launch of pid %d", from.pid)
			}
			return fmt.Errorf("whose ancestor %d started before the launch of pid %d", cur.PID, from.pid)
		}
		if cur.PID == from.pid && cur.StartTicks == from.ticks {
			return nil
		}
		if reapers[cur.PPID] {
			return nil
		}
		parent, err := fs.Stat(cur.PPID)
		if err != nil || cur.PPID <= 1 {
			return fmt.Errorf("whose parent %d is gone, so its descent from pid %d is unknown", cur.PPID, from.pid)
		}
		cur = parent
	}
	return fmt.Errorf("which does not descend from pid %d", from.pid)
}

// agentAncestors returns the pids of the agent's ancestors, init
// included: where an orphaned descendant of a launcher may be reparented.
func agentAncestors(fs procfs.FS) map[int]bool {
	out := map[int]bool{1: true}
	if isSubreaper() {
		out[os.Getpid()] = true
	}
	pid := os.Getppid()
	for depth := 0; depth < 64 && pid > 1 && !out[pid]; depth++ {
		out[pid] = true
		st, err := fs.Stat(pid)
		if err != nil {
			break
		}
		pid = st.PPID
	}
	return out
}

// fromMatch adopts the oldest process of the process's user whose command
// line matches: a command line is the process's own to choose (exec -a),
// so a match alone would let any local user's process be adopted.
func (p *proc) fromMatch() (*instance, error) {
	uid, err := p.runUID()
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", p.spec.Match, err)
	}
	pid, ticks, err := p.oldest(func(pid int) bool { return p.runsAs(pid, uid) && p.matches(pid) })
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", p.spec.Match, err)
	}
	return adopt(p.m.exits, p.m.fs, pid, ticks, false)
}

// runsAs reports whether pid's real uid is uid.
func (p *proc) runsAs(pid, uid int) bool {
	ruid, err := p.m.fs.RealUID(pid)
	return err == nil && ruid == uid
}

// errNoneFound says no process passed oldest's test.
var errNoneFound = errors.New("no such process")

// oldest returns the pid and start ticks of the oldest live process for
// which ok is true, never the agent itself nor a kernel thread. Each
// process is tested only if it is older than the best so far.
func (p *proc) oldest(ok func(pid int) bool) (int, uint64, error) {
	stats, err := p.allStats()
	if err != nil {
		return 0, 0, err
	}
	self := os.Getpid()
	best, bestTicks := 0, uint64(0)
	for _, st := range stats {
		if st.PID == self || st.PID <= 2 || st.State == 'Z' || st.PPID == 2 {
			continue // the agent, init, zombies and kernel threads
		}
		if best != 0 && st.StartTicks >= bestTicks {
			continue
		}
		if ok(st.PID) {
			best, bestTicks = st.PID, st.StartTicks
		}
	}
	if best == 0 {
		return 0, 0, errNoneFound
	}
	return best, bestTicks, nil
}

func (p *proc) matches(pid int) bool {
	argv, err := p.m.fs.Cmdline(pid)
	if err != nil || len(argv) == 0 {
		return false
	}
	return p.spec.Match.MatchString(strings.Join(argv, " "))
}
