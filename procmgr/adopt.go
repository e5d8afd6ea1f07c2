package procmgr

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// adoptRecorded takes over the instance the record names, if it is still
// the same process: same boot, same pid, same start time.
func (p *proc) adoptRecorded() {
	r := p.rec
	if r.BootID != p.m.bootID {
		p.log.Info("host rebooted since the record was written; not trusting its pid", zap.Int("pid", r.PID))
		p.forgetIdentity()
		return
	}
	in, err := adopt(p.m.ctx, p.m.fs, r.PID, r.StartTicks, r.Group)
	if err != nil {
		p.log.Info("recorded instance is gone", zap.Int("pid", r.PID), zap.Error(err))
		p.forgetIdentity()
		return
	}
	p.log.Info("adopted the recorded instance", zap.Int("pid", in.pid))
	p.inst = in
}

// forgetIdentity records that the recorded instance vanished while nobody
// watched: its exit status is unknown.
func (p *proc) forgetIdentity() {
	p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = 0, 0, "", false
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

// adoptLaunched finds the process of a start that an agent killed at the
// wrong moment forked but never recorded: the oldest process whose
// environment carries the start's token (a shell's children inherit it,
// and the shell, the one the agent started, is the oldest).
func (p *proc) adoptLaunched() {
	token := p.rec.Launch
	p.rec.Launch = ""
	stats, err := p.m.fs.AllStats()
	if err != nil {
		p.log.Warn("cannot look for an unrecorded start", zap.Error(err))
		return
	}
	kv := launchEnv + "=" + token
	best, bestTicks := 0, uint64(0)
	for _, st := range stats {
		if st.State == 'Z' || (best != 0 && st.StartTicks >= bestTicks) {
			continue
		}
		if ok, _ := p.m.fs.HasEnv(st.PID, kv); ok {
			best, bestTicks = st.PID, st.StartTicks
		}
	}
	if best == 0 {
		return
	}
	in, err := adopt(p.m.ctx, p.m.fs, best, bestTicks, true)
	if err != nil {
		return
	}
	p.log.Info("adopted a process whose start was not recorded", zap.Int("pid", in.pid))
	p.inst = in
	p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = in.pid, in.ticks, p.m.bootID, in.group
	p.writePidFile(in.pid)
}

// findExisting looks for an instance the agent did not start: through
// pid_file, then through match. It never returns the agent itself.
func (p *proc) findExisting() *instance {
	if p.spec.PidFile != "" {
		if in, err := p.fromPidFile(); err == nil {
			return in
		}
	}
	if p.spec.Match != nil {
		if in, err := p.fromMatch(); err == nil {
			return in
		}
	}
	return nil
}

// fromPidFile adopts the process named in pid_file. When match is set too,
// the process must also match it, so a stale pid file naming a reused pid
// is not believed.
func (p *proc) fromPidFile() (*instance, error) {
	b, err := os.ReadFile(p.spec.PidFile)
	if err != nil {
		return nil, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || pid == os.Getpid() {
		return nil, fmt.Errorf("pid file %s: no valid pid in %q", p.spec.PidFile, b)
	}
	st, err := p.m.fs.Stat(pid)
	if err != nil {
		return nil, fmt.Errorf("pid file %s: pid %d: %w", p.spec.PidFile, pid, err)
	}
	if p.spec.Match != nil && !p.matches(pid) {
		return nil, fmt.Errorf("pid file %s: pid %d does not match %s", p.spec.PidFile, pid, p.spec.Match)
	}
	return adopt(p.m.ctx, p.m.fs, pid, st.StartTicks, false)
}

// fromMatch adopts the oldest process whose command line matches.
func (p *proc) fromMatch() (*instance, error) {
	stats, err := p.m.fs.AllStats()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	best, bestTicks := 0, uint64(0)
	for _, st := range stats {
		if st.PID == self || st.State == 'Z' || st.PPID == 2 || st.PID == 2 {
			continue // the agent, zombies and kernel threads
		}
		if best != 0 && st.StartTicks >= bestTicks {
			continue
		}
		if p.matches(st.PID) {
			best, bestTicks = st.PID, st.StartTicks
		}
	}
	if best == 0 {
		return nil, fmt.Errorf("no process matches %s", p.spec.Match)
	}
	return adopt(p.m.ctx, p.m.fs, best, bestTicks, false)
}

func (p *proc) matches(pid int) bool {
	argv, err := p.m.fs.Cmdline(pid)
	if err != nil || len(argv) == 0 {
		return false
	}
	return p.spec.Match.MatchString(strings.Join(argv, " "))
}
