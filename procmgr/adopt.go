package procmgr

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
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
	in, err := adopt(p.m.ctx, p.m.fs, r.PID, r.StartTicks, r.Group)
	if err != nil {
		p.log.Info("recorded instance is gone", zap.Int("pid", r.PID), zap.Error(err))
		p.forgetIdentity()
		return nil
	}
	p.log.Info("adopted the recorded instance", zap.Int("pid", in.pid))
	return in
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

// fromLaunch finds the process of a start that an agent killed at the
// wrong moment forked but never recorded: the oldest process whose
// environment carries the start's token (a shell's children inherit it,
// and the shell, the one the agent started, is the oldest).
func (p *proc) fromLaunch(token string) *instance {
	kv := launchEnv + "=" + token
	pid, ticks, err := p.oldest(func(pid int) bool {
		ok, _ := p.m.fs.HasEnv(pid, kv)
		return ok
	})
	if err != nil {
		return nil
	}
	in, err := adopt(p.m.ctx, p.m.fs, pid, ticks, true)
	if err != nil {
		return nil
	}
	p.log.Info("adopted a process whose start was not recorded", zap.Int("pid", in.pid))
	return in
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
	pid, ticks, err := p.oldest(p.matches)
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", p.spec.Match, err)
	}
	return adopt(p.m.ctx, p.m.fs, pid, ticks, false)
}

// errNoneFound says no process passed oldest's test.
var errNoneFound = errors.New("no such process")

// oldest returns the pid and start ticks of the oldest live process for
// which ok is true, never the agent itself nor a kernel thread. Each
// process is tested only if it is older than the best so far.
func (p *proc) oldest(ok func(pid int) bool) (int, uint64, error) {
	stats, err := p.m.fs.AllStats()
	if err != nil {
		return 0, 0, err
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
