package procmgr

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// With cgroups (Options.Cgroups), each process has a cgroup named after
// its alias, which holds whatever it runs. The proc keeps it open (p.cg)
// from the moment it exists: its name is an identity that survives a lost
// state_dir, and "running" means that it is populated.

// openCgroup opens the alias's cgroup if it exists already (made by this
// agent's earlier life), for adoption. A missing one is made by the first
// start.
func (p *proc) openCgroup() {
	if p.m.cgroups == nil {
		return
	}
	cg, err := p.m.cgroups.Lookup(p.spec.Alias)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("cannot open the cgroup", zap.Error(err))
		}
		return
	}
	p.cg = cg
}

// startCgroup returns the cgroup a new instance is cloned into: made
// afresh (or reused, empty) for every start, so that a cgroup removed
// from outside meanwhile is made again.
func (p *proc) startCgroup() (*cgroup.Cgroup, error) {
	if p.cg != nil {
		p.cg.Close()
		p.cg = nil
	}
	cg, err := p.m.cgroups.Create(p.spec.Alias)
	if err != nil {
		return nil, err
	}
	p.cg = cg
	return cg, nil
}

// fromCgroup adopts what runs in the alias's cgroup: its oldest process
// (the one started first, or the survivor of the start's launcher) is the
// main one. Nil when the cgroup is empty or absent.
func (p *proc) fromCgroup() *instance {
	if p.cg == nil {
		return nil
	}
	// A member may exit between the listing and the adoption: look again.
	for range 3 {
		pid, ticks, err := p.oldestInCgroup()
		if err != nil {
			return nil
		}
		st, err := p.m.fs.Stat(pid)
		if err != nil {
			continue
		}
		in, err := adopt(p.m.exits, p.m.fs, pid, ticks, st.PGRP == pid)
		if err != nil {
			continue
		}
		in.cg = p.cg
		return in
	}
	return nil
}

// oldestInCgroup returns the pid and start ticks of the oldest live
// process in the alias's cgroup. Several may remain when a program that
// daemonizes without a pid_file leaves a server and its workers (or a
// monitor and its server): the oldest is the first one forked, the
// server's master or the monitor, which is the one its users signal. The
// choice names the pid shown and the target of the stop signal only: a stop
// SIGKILLs the whole cgroup after the grace and waits for it to be empty.
func (p *proc) oldestInCgroup() (int, uint64, error) {
	pids, err := p.cg.Procs()
	if err != nil {
		return 0, 0, err
	}
	best, bestTicks := 0, uint64(0)
	for _, pid := range pids {
		if pid == os.Getpid() {
			continue
		}
		st, err := p.m.fs.Stat(pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		if best == 0 || st.StartTicks < bestTicks {
			best, bestTicks = pid, st.StartTicks
		}
	}
	if best == 0 {
		return 0, 0, errNoneFound
	}
	return best, bestTicks, nil
}

// inCgroup reports whether pid is in the alias's cgroup: with cgroups, the
// test that a process named by pid_file comes from the start (descends).
func (p *proc) inCgroup(pid int) error {
	in, err := p.cg.Holds(pid)
	if err != nil {
		return err
	}
	if !in {
		return fmt.Errorf("which is not in the cgroup %s", p.cg.Dir())
	}
	return nil
}

// contain moves an adopted instance that runs outside the alias's cgroup
// (found through pid_file or match, or started by an agent without
// cgroups) into it, with the live members of its process group when it
// leads one: they are what a stop without cgroups would have signalled.
// Processes they forked earlier into other groups stay outside, and so do
// sockets they created there (ports are still found by the fd scan). The
// cgroup is made when missing. A failed move is logged: the instance is
// then followed by its pid and group as without cgroups.
//
// An instance already in the cgroup (the usual case: the one an earlier
// agent started or moved there, adopted after an agent restart) is left
// where it is, without a look at the host's processes: its members were
// born there or moved with it. It keeps the moved mark its adoption gave
// it.
func (p *proc) contain(in *instance) {
	if p.m.cgroups == nil || in.cg != nil {
		return
	}
	if p.cg != nil && p.inCgroup(in.pid) == nil {
		in.cg = p.cg
		p.markMoved(in)
		return
	}
	if p.cg == nil {
		cg, err := p.m.cgroups.Create(p.spec.Alias)
		if errors.Is(err, cgroup.ErrPopulated) {
			cg, err = p.m.cgroups.Lookup(p.spec.Alias)
		}
		if err != nil {
			p.log.Warn("cannot make the cgroup; following the process by its pid", zap.Error(err))
			return
		}
		p.cg = cg
	}
	for _, pid := range p.groupOf(in.pid) {
		if err := p.cg.Move(pid); err != nil {
			p.log.Warn("cannot move into the cgroup; following the process by its pid", zap.Int("pid", pid), zap.Error(err))
			if pid == in.pid {
				return
			}
		}
	}
	in.cg = p.cg
	in.moved = true
	p.markMoved(in)
}

// groupOf returns pid, and the live members of its process group when it
// leads one. The listing may be the load's shared one, taken a moment
// before: each member is checked again, and a pid still in the group now
// is a member (the group id cannot be reused while its leader lives),
// short of one exiting and its pid being reused within this loop.
func (p *proc) groupOf(pid int) []int {
	pids := []int{pid}
	if st, err := p.m.fs.Stat(pid); err != nil || st.PGRP != pid {
		return pids
	}
	stats, _ := p.allStats()
	for _, st := range stats {
		if st.PGRP != pid || st.PID == pid || st.State == 'Z' {
			continue
		}
		if now, err := p.m.fs.Stat(st.PID); err == nil && now.PGRP == pid && now.State != 'Z' {
			pids = append(pids, st.PID)
		}
	}
	return pids
}

// markMoved records whether in entered its cgroup by a move (see
// state.Record.MovedTicks), for the next agent's adoption of it.
func (p *proc) markMoved(in *instance) {
	p.rec.MovedTicks = 0
	if in.moved {
		p.rec.MovedTicks = in.ticks
	}
}

// successor is the main process after the instance's own exit while
// members of its cgroup remain ("running" means the cgroup is
// populated): the oldest of them. Nil without cgroups, or when none
// remains.
func (p *proc) successor() *instance {
	if p.cg == nil {
		return nil
	}
	if pop, err := p.cg.Populated(); err != nil || !pop {
		return nil
	}
	return p.fromCgroup()
}

// clearCgroup SIGKILLs what a failed start left in the cgroup and waits
// (at most the manager's killWait) for it to be empty, so that a start
// that is reported failed leaves nothing running and the next one finds
// the cgroup free.
func (p *proc) clearCgroup() {
	if p.cg == nil {
		return
	}
	if pop, err := p.cg.Populated(); err != nil || !pop {
		return
	}
	p.log.Warn("killing what the failed start left in the cgroup")
	if err := p.cg.Kill(); err != nil {
		p.log.Warn("kill cgroup", zap.Error(err))
	}
	empty, err := p.cg.Empty()
	if err != nil {
		return
	}
	select {
	case <-empty:
	case <-time.After(p.m.killWait):
		p.log.Error("the failed start's processes survived SIGKILL", zap.String("cgroup", p.cg.Dir()))
	}
}

// removeStaleCgroups removes the empty cgroups of aliases that are not
// managed (removed from the config while the agent was down). A populated
// one is left alone, with a warning: its processes are not the agent's to
// kill any more, and removing the alias's cgroup would not stop them.
func (m *Manager) removeStaleCgroups(managed map[string]bool) {
	if m.cgroups == nil {
		return
	}
	aliases, err := m.cgroups.Aliases()
	if err != nil {
		m.log.Warn("cannot list cgroups", zap.Error(err))
		return
	}
	for _, a := range aliases {
		if !managed[a] {
			m.removeCgroup(a)
		}
	}
}

// removeCgroup removes alias's cgroup when it is empty.
func (m *Manager) removeCgroup(alias string) {
	cg, err := m.cgroups.Lookup(alias)
	if err != nil {
		return
	}
	if pop, err := cg.Populated(); err == nil && pop {
		m.log.Warn("the cgroup of an alias no longer configured still has processes; it is left as it is",
			zap.String("alias", alias), zap.String("cgroup", cg.Dir()))
		cg.Close()
		return
	}
	if err := cg.Remove(); err != nil {
		m.log.Warn("cannot remove the cgroup of a removed alias", zap.String("alias", alias), zap.Error(err))
		cg.Close()
	}
}
