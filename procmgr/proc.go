package procmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// phase is where a process is in its lifecycle, as its owner sees it.
type phase int

const (
	phaseStopped  phase = iota
	phaseBackoff        // exited unexpectedly; a restart is scheduled
	phaseStarting       // started, not yet up for start_wait
	phaseRunning
	phaseStopping // stop signal sent, grace running
	phaseKilling  // SIGKILL sent, waiting up to the manager's killWait
)

var phaseNames = [...]string{"stopped", "backoff", "starting", "running", "stopping", "killing"}

func (ph phase) String() string { return phaseNames[ph] }

type opKind int

const (
	opStart opKind = iota
	opStop
	opRestart
	opUpdate // replace the spec (a reload); it applies from the next start
	opRemove // end run, leaving the process as it is (a reload removed it)
)

var opNames = [...]string{"start", "stop", "restart", "update", "remove"}

type request struct {
	op    opKind
	spec  *Spec       // for opUpdate; a pointer, to keep run's frame small
	reply chan result // buffered: the owner never blocks on a caller that left
}

type result struct {
	snap Snapshot
	err  error
}

// waiter is a start or restart waiting for its answer.
type waiter struct {
	op    opKind
	reply chan result
}

// proc owns one managed process. Its run goroutine is the only one that
// starts, signals or records the process; everybody else sends it requests
// and reads the published Snapshot.
type proc struct {
	spec Spec
	m    *Manager
	log  procLog
	reqs chan request
	done chan struct{}
	// snap is the latest published view. Readers (listings) take it
	// without waiting for the owner, which may be in the middle of a stop.
	snap atomic.Pointer[Snapshot]

	// Owned by run.
	rec        state.Record
	inst       *instance
	cg         *cgroup.Cgroup // the alias's cgroup, once it exists (with Manager.cgroups only)
	scan       *hostScan      // the host listing its load shares with the others; nil once run begins
	phase      phase
	timer      *time.Timer
	drain      chan error // result of inst.waitGone, while a stop waits for it
	daemonized bool       // the started pid exited 0; pid_file, or the cgroup, names the real one
	// startWaiters wait for the start in progress (or the next one, when
	// none is); stopWaiters for the stop in progress or the one that
	// follows the start in progress. afterStop wait for a start that
	// follows the stop the stop waiters wait for: they arrived after it,
	// so their answer must describe what runs after that stop, not the
	// instance it ends.
	startWaiters []waiter
	stopWaiters  []chan result
	afterStop    []waiter
	backoff      time.Duration
	lastRun      time.Duration
	stopBegan    time.Time // when the current stop sequence sent its first signal

	health     *checks     // health checks (healthcheck.go); nil until the first series
	healthWait bool        // a start has lasted start_wait and waits for its first passing check
	failStart  *StartError // a start that never became healthy fails with this once stopped
	// healthRestart: the stop in progress is of an unhealthy process, to be
	// started again after the back-off.
	healthRestart bool
}

// run is the owner's loop. While the process idles, its frame is on the
// owner's stack under the parked select, with the runtime's frames: the
// collector halves an idle stack only while less than a quarter of it
// (plus 800 bytes kept free) is in use. Kept small (a request holds a
// *Spec, and each case's work is a call), it lets the stack shrink to
// 4 KiB; a few hundred bytes more keep every owner at 8 KiB.
func (p *proc) run(ctx context.Context) {
	defer close(p.done)
	p.boot()
	p.publish()
	for {
		var exited <-chan struct{}
		if p.inst != nil && p.drain == nil && !p.daemonized {
			exited = p.inst.exited
		}
		var fire <-chan time.Time
		if p.timer != nil {
			fire = p.timer.C
		}
		var checked <-chan healthResult
		if p.health != nil {
			checked = p.health.results
		}
		select {
		case <-ctx.Done():
			p.shutdown()
			return
		case r := <-p.reqs:
			if r.op == opRemove {
				p.endRemoved(r)
				return
			}
			p.handle(r)
		case <-exited:
			p.onExit()
		case err := <-p.drain:
			p.onGone(err)
		case <-fire:
			p.timer = nil
			p.onTimer()
		case r := <-checked:
			p.onHealth(r)
		}
		p.publish()
	}
}

// endRemoved answers opRemove, as run ends: the process is left as it is.
func (p *proc) endRemoved(r request) {
	p.shutdown()
	r.reply <- result{} // the reload that removed it reads nothing more
}

// boot decides what to do once the record is loaded and any running
// instance adopted: finish an interrupted stop, or start what should run.
func (p *proc) boot() {
	switch {
	case p.inst != nil && p.rec.Desired == state.DesiredStopped:
		p.log.Info("resuming an interrupted stop", zap.Int("pid", p.inst.pid))
		p.phase = phaseRunning
		p.beginStop()
	case p.inst != nil:
		p.phase = phaseRunning
		p.startChecks(0)
	case p.rec.Desired == state.DesiredStarted || (p.rec.Desired == "" && p.spec.Autostart):
		p.startWanted()
	}
}

func (p *proc) handle(r request) {
	if r.op == opUpdate {
		p.spec = *r.spec // same alias: p.log stays
		p.rec.UpdateTime = time.Now()
		p.save()
		p.publish()
		r.reply <- result{snap: p.snapshot()}
		return
	}
	desired := state.DesiredStarted
	if r.op == opStop {
		desired = state.DesiredStopped
	}
	w := waiter{op: r.op, reply: r.reply}
	if r.op != opStop && (p.phase == phaseStopped || p.phase == phaseBackoff) {
		p.startFromRest(w)
		return
	}
	// The desired state is on disk before anything is done about it, so
	// that an agent restarted at any moment carries on with the intent.
	if err := p.setDesired(desired); err != nil {
		r.reply <- result{err: fmt.Errorf("%s %s: %w", opNames[r.op], p.spec.Alias, err)}
		return
	}
	if r.op == opStop {
		p.handleStop(r)
		return
	}
	switch p.phase {
	case phaseStarting:
		if len(p.stopWaiters) > 0 {
			// A stop waits for this start to settle: what runs after
			// this request is what starts after that stop.
			p.afterStop = append(p.afterStop, w)
			return
		}
		// A restart joins a start in progress: the process it gets is new.
		p.startWaiters = append(p.startWaiters, w)
	case phaseRunning:
		if r.op == opStart {
			p.publish()
			r.reply <- result{snap: p.snapshot()}
			return
		}
		p.afterStop = append(p.afterStop, w)
		p.beginStop()
	case phaseStopping, phaseKilling:
		p.afterStop = append(p.afterStop, w)
	}
}

func (p *proc) handleStop(r request) {
	// An explicit stop wins over the starts queued behind an earlier stop.
	p.replyAfterStop(p.superseded)
	switch p.phase {
	case phaseStopped, phaseBackoff:
		p.disarm()
		p.phase = phaseStopped
		if !p.rec.NextStartTime.IsZero() {
			p.rec.NextStartTime = time.Time{}
			p.save()
		}
		p.publish()
		r.reply <- result{snap: p.snapshot()}
	case phaseStarting:
		// The stop waits for the start to settle, then wins; it never
		// waits for a health check.
		p.stopWaiters = append(p.stopWaiters, r.reply)
		if p.healthWait {
			p.healthWait = false
			p.replyStartEach(p.superseded)
			p.beginStop()
		}
	case phaseRunning:
		p.stopWaiters = append(p.stopWaiters, r.reply)
		p.beginStop()
	case phaseStopping, phaseKilling:
		// Concurrent stops share one signal sequence and its result.
		p.stopWaiters = append(p.stopWaiters, r.reply)
	}
}

// startFromRest starts a process that is stopped (or waits for a
// restart) for w. The desired state is not written on its own: it goes to
// disk in the start's first write (beginStart), which precedes anything
// the start does. One commit instead of two before the fork, when a host's
// processes are all started at once.
func (p *proc) startFromRest(w waiter) {
	p.startWaiters = append(p.startWaiters, w)
	p.startWanted()
}

// startWanted makes STARTED the desired state and begins a start, whose
// first write puts both on disk; when that write fails the desired state
// is as it was (not on disk: the intent was refused).
func (p *proc) startWanted() {
	was := p.rec.Desired
	p.rec.Desired = state.DesiredStarted
	if !p.beginStart() {
		p.rec.Desired = was
	}
}

// superseded is the answer to a start or restart w that a stop request
// overtook.
func (p *proc) superseded(w waiter) result {
	return result{err: &SupersededError{Op: opNames[w.op], Alias: p.spec.Alias, By: "stop"}}
}

// beginStart adopts an instance found through pid_file or match, or
// starts a new one. It first writes the record, with a launch token and
// what the caller changed in it (a start request's desired state): the
// token is on disk before the fork, so that an agent killed before it
// records the pid finds the process by it (fromLaunch). When that write
// fails nothing is done: the start's waiters get the error, and it
// returns false.
func (p *proc) beginStart() bool {
	next := p.rec.NextStartTime
	p.rec.Launch = newLaunchToken()
	p.rec.NextStartTime = time.Time{}
	if err := p.m.store.Put(p.rec); err != nil {
		p.rec.Launch, p.rec.NextStartTime = "", next
		p.log.Error("cannot record the start; not starting", zap.Error(err))
		p.replyStartEach(func(w waiter) result {
			return result{err: fmt.Errorf("%s %s: %w", opNames[w.op], p.spec.Alias, err)}
		})
		return false
	}
	p.disarm() // a restart that was scheduled: this is it
	if in := p.fromCgroup(); in != nil {
		// Something runs in the alias's cgroup: that is the process.
		p.log.Info("adopted the processes of its cgroup", zap.Int("pid", in.pid))
		p.setRunning(in)
		p.startChecks(0)
		p.settled()
		return true
	}
	if in := p.findExisting(); in != nil {
		p.log.Info("adopted a running instance", zap.Int("pid", in.pid))
		p.contain(in)
		p.setRunning(in)
		p.startChecks(0)
		p.settled()
		return true
	}
	in, err := p.spawn()
	if err != nil {
		p.rec.Launch = ""
		p.startFailed(&StartError{Alias: p.spec.Alias, ExitStatus: -1, Cause: err})
		return true
	}
	p.inst = in
	p.phase = phaseStarting
	p.daemonized = false
	// start_wait runs from the fork, so that the pid's record and pid file
	// are written within it rather than before it.
	p.arm(p.spec.StartWait)
	p.recordIdentity(in)
	p.save()
	p.writePidFile(in.pid)
	p.log.Info("started", zap.Int("pid", in.pid))
	return true
}

// spawn starts a new instance of the process: as its user, in its
// directory, with the environment, limits and umask of its spec. Every
// check that can fail is made before the fork, so that the error says what
// is wrong rather than os/exec's "fork/exec PATH: ..." (which names the
// program even when the directory is at fault).
func (p *proc) spawn() (*instance, error) {
	who, err := lookupRunAs(p.spec.User, os.Getuid())
	if err != nil {
		return nil, err
	}
	dir, err := workDir(p.spec.Directory, who)
	if err != nil {
		return nil, err
	}
	if err := CheckLimits(p.spec.Limits); err != nil {
		return nil, err
	}
	var fileVars []string
	if p.spec.EnvironmentFile != "" {
		if fileVars, err = ReadEnvFile(p.spec.EnvironmentFile); err != nil {
			return nil, err
		}
	}
	env := childEnv(who, &p.spec, fileVars, p.rec.Launch)
	argv := commandArgv(p.spec.Command)
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	path, err := lookPathIn(argv[0], envValue(env, "PATH"))
	if err != nil {
		return nil, err
	}
	out, off, err := p.m.openOutput(p.spec.Alias)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child holds its own copy
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: dir, Stdout: out, Stderr: out}
	cmd.SysProcAttr = sysProcAttr(who.cred)
	var cg *cgroup.Cgroup
	if p.m.cgroups != nil {
		// The child is cloned straight into the cgroup, so that nothing it
		// does before or after its exec runs outside it.
		if cg, err = p.startCgroup(); err != nil {
			return nil, err
		}
		if err := p.applyLimits(cg); err != nil {
			return nil, err
		}
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cg.FD()
	}
	var report, reportW *os.File
	if p.spec.Umask != nil || len(p.spec.Limits) > 0 {
		if report, reportW, err = viaExecHelper(cmd, p.spec.Umask, p.spec.Limits); err != nil {
			return nil, err
		}
	}
	in, err := spawn(cmd, p.m.fs, p.m.exits)
	if reportW != nil {
		reportW.Close() // the child has its copy; EOF once it has exec'd
	}
	if err != nil {
		if report != nil {
			report.Close()
		}
		return nil, err
	}
	if report != nil {
		if err := awaitExec(in, report); err != nil {
			return nil, err
		}
	}
	in.outPath, in.outOffset = out.Name(), off
	in.cg = cg
	return in, nil
}

// startFailed records why the start failed (lastError), answers the
// start's waiters, then starts again at once for requests queued behind a
// stop, or schedules a retry when the process should run.
func (p *proc) startFailed(err *StartError) {
	p.log.Warn("start failed", zap.Error(err))
	p.phase = phaseStopped
	p.rec.LastError = err.lastError()
	p.save()
	p.replyStart(result{err: err})
	p.replyStop(result{snap: p.snapshot()}) // nothing runs: the stop is done
	if p.startQueued() {
		return
	}
	p.afterExit()
}

// startQueued begins the start that requests queued behind a stop wait
// for, once that stop is done; false when none waits.
func (p *proc) startQueued() bool {
	if len(p.afterStop) == 0 {
		return false
	}
	p.startWaiters, p.afterStop = append(p.startWaiters, p.afterStop...), nil
	if !p.beginStart() {
		p.afterExit() // as after a failed start: retried if it should run
	}
	return true
}

// settled is reached when a start has lasted start_wait: the start's
// waiters are answered, then a stop that arrived meanwhile goes ahead.
func (p *proc) settled() {
	p.replyStart(result{snap: p.snapshot()})
	if len(p.stopWaiters) > 0 {
		p.beginStop()
	}
}

// setRunning makes in the running instance, and records it with its pid
// file.
func (p *proc) setRunning(in *instance) {
	p.markRunning(in)
	p.save()
	p.writePidFile(in.pid)
}

// recordIdentity puts in's identity in the record (in memory), in place
// of the launch token that found it.
func (p *proc) recordIdentity(in *instance) {
	p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = in.pid, in.ticks, p.m.bootID, in.group
	p.rec.Launch = ""
}

// markRunning makes in the running instance, in memory only.
func (p *proc) markRunning(in *instance) {
	p.inst = in
	p.phase = phaseRunning
	now := time.Now()
	p.recordIdentity(in)
	p.rec.LastActiveTime, p.rec.UpdateTime = now, now
	p.rec.LastError = "" // kept until a start succeeds: it says why the last one did not
	p.rec.NextStartTime = time.Time{}
}

func (p *proc) beginStop() {
	p.stopChecks()
	p.phase = phaseStopping
	if p.stopBegan.IsZero() {
		p.stopBegan = time.Now()
	}
	p.log.Info("stopping", zap.Int("pid", p.inst.pid), zap.String("signal", signalName(p.spec.StopSignal)),
		zap.Duration("timeout", p.spec.StopTimeout))
	if err := p.inst.signal(p.m.fs, p.spec.StopSignal); err != nil {
		p.log.Warn("stop signal", zap.Error(err))
	}
	if p.drain == nil {
		p.drain = make(chan error, 1)
		in, ctx, fs, drain := p.inst, p.m.ctx, p.m.fs, p.drain
		go func() { drain <- in.waitGone(ctx, fs) }()
	}
	p.arm(p.spec.StopTimeout)
}

func (p *proc) onTimer() {
	switch p.phase {
	case phaseStarting:
		if p.healthWait {
			p.neverHealthy()
			return
		}
		p.onStartWait()
	case phaseBackoff:
		p.rec.RestartCount++ // written by the start's first write
		p.log.Info("restarting", zap.Int("restartCount", p.rec.RestartCount))
		if !p.beginStart() {
			p.scheduleRestart()
		}
	case phaseStopping:
		p.phase = phaseKilling
		p.log.Warn("still alive after the grace; sending SIGKILL", zap.Int("pid", p.inst.pid))
		if err := p.inst.kill(p.m.fs); err != nil {
			p.log.Warn("SIGKILL", zap.Error(err))
		}
		p.arm(p.m.killWait)
	case phaseKilling:
		err := fmt.Errorf("stop %s: pid %d: %w", p.spec.Alias, p.inst.pid, ErrSurvivedKill)
		p.log.Error("stop failed", zap.Error(err))
		// The drain goes on: when the process finally goes, it is recorded.
		p.phase = phaseRunning
		p.stopEnded(err)
		p.replyStop(result{err: err})
		p.replyAfterStop(func(waiter) result { return result{err: err} })
	}
}

// onStartWait: the instance has stayed up for start_wait.
func (p *proc) onStartWait() {
	if p.daemonized {
		launcher := launchID{pid: p.inst.pid, ticks: p.inst.ticks}
		p.inst.release()
		var in *instance
		err := errors.New("its launcher exited 0 and left no process running")
		if p.spec.PidFile != "" {
			in, err = p.fromPidFile(launcher)
			if err != nil {
				p.log.Warn("not following the pid file", zap.Error(err))
			}
		}
		if err != nil {
			// A program that daemonizes without pid_file (or whose pid
			// file is wrong): the process its launcher left in the cgroup.
			if in = p.successor(); in != nil {
				p.log.Info("following the process the launcher left in the cgroup", zap.Int("pid", in.pid))
				err = nil
			}
		}
		p.daemonized = false
		if err != nil {
			p.inst = nil
			p.clearIdentity(0)
			p.startFailed(&StartError{Alias: p.spec.Alias, ExitStatus: 0, Cause: err})
			return
		}
		p.contain(in)
		p.setRunning(in)
		p.settledOrAwaitHealthy()
		return
	}
	if p.inst.hasExited() {
		return // the exit is handled next
	}
	// The record and the pid file name the instance since its fork; that
	// it has lasted start_wait is written once the start is answered, as
	// the end of a stop is: it is no intent, and an agent killed before
	// the write adopts the recorded instance all the same.
	p.markRunning(p.inst)
	p.settledOrAwaitHealthy()
	p.save()
}

// settledOrAwaitHealthy: a start that has lasted start_wait is settled,
// unless it has a health check to pass first.
func (p *proc) settledOrAwaitHealthy() {
	if p.spec.Health != nil {
		p.awaitHealthy()
		return
	}
	p.settled()
}

// onExit handles the exit of the instance while nobody asked it to stop.
func (p *proc) onExit() {
	in := p.inst
	awaitedHealth := p.healthWait
	p.healthWait = false
	p.stopChecks()
	if p.phase == phaseStarting {
		if in.status == 0 && (p.spec.PidFile != "" || p.populated()) && !awaitedHealth {
			// A program that daemonizes: its launcher is done, the real
			// process is named in pid_file (or is the one left in the
			// cgroup) once start_wait is over.
			p.daemonized = true
			return
		}
		p.clearCgroup()
		p.inst = nil
		in.release()
		p.forget(in.status)
		p.removePidFile()
		p.startFailed(&StartError{Alias: p.spec.Alias, ExitStatus: in.status, Ran: time.Since(in.started),
			Output: tailOutput(in.outPath, in.outOffset, 10)})
		return
	}
	if next := p.successor(); next != nil {
		// "Running" means the cgroup is populated: the main process
		// exited (a shell wrapper killed alone, a launcher) but its
		// cgroup still holds the program, which is followed.
		p.log.Warn("main process exited; following the oldest process left in the cgroup",
			zap.Int("pid", in.pid), zap.Int("status", in.status), zap.Int("newPid", next.pid))
		in.release()
		p.setRunning(next)
		p.startChecks(0)
		return
	}
	p.lastRun = time.Since(in.started)
	p.inst = nil
	in.release()
	p.rec.LastError = exitLine(in.status, p.lastRun, p.lastOutputLine(in))
	p.clearIdentity(in.status)
	p.log.Warn("exited unexpectedly", zap.Int("pid", in.pid), zap.Int("status", in.status),
		zap.Duration("ran", p.lastRun))
	p.afterExit()
}

// onGone: a stopped instance and its whole group are gone.
func (p *proc) onGone(err error) {
	p.drain = nil
	if err != nil {
		return // the manager is closing
	}
	in := p.inst
	p.disarm()
	p.inst = nil
	in.release()
	p.forget(in.status)
	p.phase = phaseStopped
	p.stopEnded(nil)
	if p.failStart != nil {
		// A start that never became healthy: now that nothing of it is
		// left, it fails.
		err := p.failStart
		p.failStart = nil
		err.Output = tailOutput(in.outPath, in.outOffset, 10)
		p.removePidFile()
		p.startFailed(err) // records it
		return
	}
	// The caller waits for the process to be gone, and it is: answer now,
	// then write down how it ended. Only the desired state must be on
	// disk before acting on it (it was, before the signal). An agent
	// killed between the answer and the write below finds the recorded
	// pid gone (or reused, with another start time), adopts nothing, and
	// records the stop with an unknown exit status: the same outcome,
	// less the status. This takes an fsync (about half a millisecond)
	// off every stop.
	p.replyStop(result{snap: p.snapshot()})
	// Let the waiters run before the write: otherwise the runtime parks
	// them until a thread is woken for them, about 0.1 ms here, while
	// this goroutine sits in fdatasync.
	runtime.Gosched()
	p.log.Info("stopped", zap.Int("pid", in.pid), zap.Int("status", in.status))
	if len(p.afterStop) == 0 {
		// Else the queued start's first write (beginStart) records the
		// stop with it, in one commit instead of two.
		p.save()
	}
	p.removePidFile()
	if p.startQueued() {
		return
	}
	if p.healthRestart && p.rec.Desired == state.DesiredStarted {
		// Stopped for being unhealthy: started again, paced like a crash.
		p.healthRestart = false
		p.lastRun = time.Since(in.started)
		p.scheduleRestart()
		return
	}
	p.healthRestart = false
	if p.rec.Desired == state.DesiredStarted {
		// A stop that failed (40013) was followed by a start request
		// before the process finally went: bring it back.
		p.afterExit()
	}
}

// afterExit decides, once no instance runs, between staying stopped and
// a restart after the back-off.
func (p *proc) afterExit() {
	p.phase = phaseStopped
	if p.rec.Desired != state.DesiredStarted || !p.spec.Autorestart {
		return
	}
	p.scheduleRestart()
}

// scheduleRestart starts the process again after the back-off.
func (p *proc) scheduleRestart() {
	p.phase = phaseStopped
	b := p.m.backoff
	if p.lastRun >= b.Stable {
		p.backoff = 0
	}
	if p.backoff == 0 {
		p.backoff = b.Min
	} else {
		p.backoff = min(2*p.backoff, b.Max)
	}
	p.lastRun = 0
	p.phase = phaseBackoff
	p.log.Info("restart scheduled", zap.Duration("backoff", p.backoff))
	p.arm(p.backoff)
	p.rec.NextStartTime = time.Now().Add(p.backoff)
	p.save()
}

// lastOutputLine is the last line in's run wrote to its output file; ""
// for an adopted instance, whose output the agent does not hold.
func (p *proc) lastOutputLine(in *instance) string {
	if in.outPath == "" {
		return ""
	}
	return lastLine(tailOutput(in.outPath, in.outOffset, 1))
}

// clearIdentity records that no instance runs, with its exit status
// (-1: unknown).
func (p *proc) clearIdentity(status int) {
	p.forget(status)
	p.save()
	p.removePidFile()
}

// forget changes the record, in memory only, to say that no instance
// runs, with its exit status (-1: unknown).
func (p *proc) forget(status int) {
	now := time.Now()
	p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = 0, 0, "", false
	if status >= 0 {
		s := status
		p.rec.LastExitCode = &s
	} else {
		p.rec.LastExitCode = nil
	}
	p.rec.LastActiveTime, p.rec.UpdateTime = now, now
}

// stopEnded reports a finished stop sequence to the manager's OnStop.
func (p *proc) stopEnded(err error) {
	if p.stopBegan.IsZero() {
		return
	}
	if p.m.onStop != nil {
		p.m.onStop(p.spec.Alias, time.Since(p.stopBegan), err)
	}
	p.stopBegan = time.Time{}
}

func (p *proc) setDesired(d string) error {
	if p.rec.Desired == d {
		return nil
	}
	p.rec.Desired = d
	return p.m.store.Put(p.rec)
}

// save writes the record. A failed write is logged: the process itself is
// the truth, and the next write tries again.
func (p *proc) save() {
	if err := p.m.store.Put(p.rec); err != nil {
		p.log.Error("cannot write state", zap.Error(err))
	}
}

func (p *proc) arm(d time.Duration) {
	p.disarm()
	p.timer = time.NewTimer(d)
}

func (p *proc) disarm() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// replyStart and replyStop publish the snapshot before they answer, so
// that a caller who got its answer never reads an older snapshot.
func (p *proc) replyStart(r result) {
	p.replyStartEach(func(waiter) result { return r })
}

// replyStartEach answers each start waiter with what answer says for it
// (its error names its own operation), and forgets them.
func (p *proc) replyStartEach(answer func(waiter) result) {
	p.publish()
	for _, w := range p.startWaiters {
		w.reply <- answer(w)
	}
	p.startWaiters = nil
}

// replyAfterStop answers the starts queued behind a stop, each with what
// answer says for it, and forgets them.
func (p *proc) replyAfterStop(answer func(waiter) result) {
	if len(p.afterStop) == 0 {
		return
	}
	p.publish()
	for _, w := range p.afterStop {
		w.reply <- answer(w)
	}
	p.afterStop = nil
}

func (p *proc) replyStop(r result) {
	p.publish()
	for _, c := range p.stopWaiters {
		c <- r
	}
	p.stopWaiters = nil
}

// shutdown answers everybody still waiting and leaves the process running:
// the agent going away must not touch what it manages.
func (p *proc) shutdown() {
	p.stopChecks()
	p.disarm()
	p.replyStart(result{err: ErrClosed})
	p.replyStop(result{err: ErrClosed})
	p.replyAfterStop(func(waiter) result { return result{err: ErrClosed} })
	if p.inst != nil {
		p.inst.release()
	}
	if p.cg != nil {
		p.cg.Close()
	}
}

// populated reports whether the alias's cgroup has a live process; false
// without cgroups.
func (p *proc) populated() bool {
	if p.cg == nil {
		return false
	}
	pop, err := p.cg.Populated()
	return err == nil && pop
}
