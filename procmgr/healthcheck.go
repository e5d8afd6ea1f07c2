package procmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr/health"
)

// HealthSpec says how to tell that a process works, not only that it runs.
// Exactly one of TCP, HTTP and Exec is set.
type HealthSpec struct {
	TCP  string // host:port that must accept a connection
	HTTP string // URL whose GET must answer 2xx or 3xx
	Exec string // command line that must exit 0, run as the process's user
	// Interval is the time between checks: from the end of one to the
	// start of the next when shorter than 5 s, from start to start on a
	// grid shared by all processes otherwise (see armCheck); Timeout
	// bounds one check.
	Interval, Timeout time.Duration
	// Failures is how many consecutive failures make the process
	// unhealthy; a start waits at most Failures × Interval after its
	// start_wait for the first check to pass.
	Failures int
	// Restart stops and starts an unhealthy process, after the back-off
	// of the automatic restarts.
	Restart bool
}

// Health statuses of Snapshot.Health; "" when no check is configured.
const (
	HealthUnknown   = "UNKNOWN" // nothing checked yet, or not running
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
)

// firstRetry is how soon a failed check is tried again while a start waits
// for the first pass; the wait doubles up to the interval, so that a
// program that listens late is answered soon without a storm of checks.
const firstRetry = 250 * time.Millisecond

// coalesceMin is the shortest interval whose checks are put on a grid
// (see armCheck): a start's quick retries and tests' short intervals are
// not.
const coalesceMin = 5 * time.Second

// healthResult is one check's outcome, sent by the goroutine that ran it
// to the process's owner.
type healthResult struct {
	series uint64
	err    error
}

// checks is a process's health checking, made by its first series of
// checks: a process without a health check (most of them) has none, and
// its owner no channel to wait on for results. Its fields belong to the
// owner (run); a check itself runs on a goroutine of its own (a
// time.AfterFunc), reads nothing of them, and sends its result to results,
// which run selects on. Nothing runs while a process is idle but that one
// timer.
type checks struct {
	results chan healthResult // capacity 1: one check at most is ever running
	series  uint64            // bumped when checks start or stop; older results are stale
	on      bool              // checks run for the current instance
	check   health.Check
	spec    HealthSpec
	// ctx is the current series' context, given to each of its checks;
	// cancel ends it, so that a stop never waits for a check.
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
	// pending: a check is due or running, so a result will come (unless
	// timer.Stop catches it before it runs). A new series waits for it:
	// two checks of one process never run at once.
	pending bool
	// deferred is the delay of the new series' first check, armed when the
	// pending result of an older series comes; -1 when none waits.
	deferred time.Duration
	retry    time.Duration // next retry while a start waits for the first pass

	status  string // Health*; "" when the process has no check configured
	fails   int    // consecutive failures
	lastErr string
	failed  uint64 // failed checks since the agent started, for the metric
}

// startChecks begins a series of checks of the current instance, the
// first after delay.
func (p *proc) startChecks(delay time.Duration) {
	p.stopChecks()
	hs := p.spec.Health
	if hs == nil {
		return
	}
	if p.health == nil {
		p.health = &checks{results: make(chan healthResult, 1), deferred: -1}
	}
	c := p.health
	c.series++
	c.on, c.spec, c.fails, c.retry = true, *hs, 0, firstRetry
	c.check = p.buildCheck(*hs)
	c.ctx, c.cancel = context.WithCancel(p.m.ctx)
	c.status = HealthUnknown
	if c.pending {
		c.deferred = delay
		return
	}
	p.armCheck(delay)
}

// armCheck runs the next check of the current series after delay. The
// function the timer runs owns nothing: it gets copies of what it needs.
func (p *proc) armCheck(delay time.Duration) {
	c := p.health
	ctx, check, timeout, series, results, done := c.ctx, c.check, c.spec.Timeout, c.series, c.results, p.done
	c.pending = true
	if delay == c.spec.Interval && delay >= coalesceMin {
		// Due on the multiple of the interval (since the clock's zero
		// time) nearest to now+delay: the checks of all processes with
		// one interval then share one wake-up of the agent per interval,
		// which costs more than the checks (some 250 µs of CPU to wake an
		// idle Go program on a VM, against 30 µs for a TCP check). Once
		// on that grid a check starts an interval after the last one's
		// start, as long as checks take less than half an interval; the
		// first after a start comes within half an interval of due. Only
		// the clock's offset in the interval is used, so a step of the
		// clock moves no check by more than half an interval.
		now := time.Now()
		delay = now.Add(delay).Round(delay).Sub(now)
	}
	c.timer = time.AfterFunc(delay, func() {
		err := health.Run(ctx, check, timeout)
		select {
		case results <- healthResult{series: series, err: err}:
		case <-done: // the owner is gone (the manager closed)
		}
	})
}

// stopChecks ends the current series: its timer is stopped, its running
// check (if any) cancelled, and its result, when it comes, ignored. It
// never waits for a check.
func (p *proc) stopChecks() {
	c := p.health
	if c == nil {
		return // never checked; snapshot says UNKNOWN when a check is configured
	}
	if c.cancel != nil {
		c.cancel()
		c.ctx, c.cancel = nil, nil
	}
	if c.pending && c.timer.Stop() {
		c.pending = false
	}
	if c.on {
		c.series++
	}
	c.on, c.deferred, c.fails = false, -1, 0
	c.status = ""
	if p.spec.Health != nil {
		c.status = HealthUnknown
	}
}

// onHealth takes a check's result.
func (p *proc) onHealth(r healthResult) {
	c := p.health
	c.pending = false
	if r.series != c.series || !c.on {
		// A cancelled check of an earlier series: no verdict. A series
		// that waited for it may go now.
		if c.on && c.deferred >= 0 {
			delay := c.deferred
			c.deferred = -1
			p.armCheck(delay)
		}
		return
	}
	if r.err == nil {
		p.healthy()
		return
	}
	c.failed++
	c.lastErr = r.err.Error()
	if p.healthWait {
		// A start waits for its first pass: try again soon, then less
		// and less often, until its deadline (p.timer).
		p.log.Debug("health check failed while starting", zap.Error(r.err))
		delay := min(c.retry, c.spec.Interval)
		c.retry *= 2
		p.armCheck(delay)
		return
	}
	c.fails++
	p.log.Info("health check failed", zap.Int("failures", c.fails), zap.Error(r.err))
	if c.fails < c.spec.Failures {
		p.armCheck(c.spec.Interval)
		return
	}
	if c.status != HealthUnhealthy {
		p.log.Warn("unhealthy", zap.Int("failures", c.fails), zap.Error(r.err))
	}
	c.status = HealthUnhealthy
	if c.spec.Restart && p.phase == phaseRunning {
		p.restartUnhealthy()
		return
	}
	p.armCheck(c.spec.Interval)
}

// healthy takes a passed check: a start waiting for it is settled.
func (p *proc) healthy() {
	c := p.health
	if c.status == HealthUnhealthy {
		p.log.Info("healthy again")
	}
	c.status, c.fails = HealthHealthy, 0
	if p.healthWait {
		p.healthWait = false
		p.disarm() // the start's deadline
		p.phase = phaseRunning
		p.settled()
	}
	if c.on { // settled may have begun a stop, which ended the checks
		p.armCheck(c.spec.Interval)
	}
}

// buildCheck makes the check of hs. When an exec check cannot be
// prepared (its user, directory or program is missing), every check fails
// saying why.
func (p *proc) buildCheck(hs HealthSpec) health.Check {
	switch {
	case hs.TCP != "":
		return health.TCP{Addr: hs.TCP}
	case hs.HTTP != "":
		return health.HTTP{URL: hs.HTTP}
	}
	c, err := p.execCheck(hs.Exec)
	if err != nil {
		return failing{what: "exec " + hs.Exec, err: err}
	}
	return c
}

// execCheck prepares an exec check as spawn prepares the process: as its
// user, in its directory, with its environment (never the agent's) less
// the launch token, and the program found in that environment's PATH.
func (p *proc) execCheck(command string) (health.Exec, error) {
	who, err := lookupRunAs(p.spec.User, os.Getuid())
	if err != nil {
		return health.Exec{}, err
	}
	dir, err := workDir(p.spec.Directory, who)
	if err != nil {
		return health.Exec{}, err
	}
	var fileVars []string
	if p.spec.EnvironmentFile != "" {
		if fileVars, err = ReadEnvFile(p.spec.EnvironmentFile); err != nil {
			return health.Exec{}, err
		}
	}
	env := slices.DeleteFunc(childEnv(who, &p.spec, fileVars, ""), func(kv string) bool {
		return strings.HasPrefix(kv, launchEnv+"=")
	})
	argv := commandArgv(command)
	if len(argv) == 0 {
		return health.Exec{}, errors.New("empty command")
	}
	if argv[0], err = lookPathIn(argv[0], envValue(env, "PATH")); err != nil {
		return health.Exec{}, err
	}
	return health.Exec{Argv: argv, Env: env, Dir: dir, Cred: who.cred}, nil
}

// failing is a check that cannot be run; it fails with the reason.
type failing struct {
	what string
	err  error
}

func (f failing) Check(context.Context) error { return f.err }
func (f failing) String() string              { return f.what }

// awaitHealthy is reached when a new instance has stayed up for start_wait
// and has a health check: the start is answered once a check passes, or
// fails when none has passed within failures × interval.
func (p *proc) awaitHealthy() {
	p.phase = phaseStarting
	p.healthWait = true
	p.startChecks(0)
	hs := p.spec.Health
	p.arm(time.Duration(hs.Failures) * hs.Interval)
}

// neverHealthy: the deadline of a start passed without a passing check.
// The process is stopped, then the start fails with the last check's
// error.
func (p *proc) neverHealthy() {
	c := p.health
	p.healthWait = false
	hs := p.spec.Health
	within := time.Duration(hs.Failures) * hs.Interval
	cause := fmt.Errorf("not healthy within %s after start_wait: %s", within, c.lastErr)
	if c.lastErr == "" {
		cause = fmt.Errorf("not healthy within %s after start_wait: no check finished", within)
	}
	p.log.Warn("never became healthy; stopping it", zap.Error(cause))
	p.failStart = &StartError{Alias: p.spec.Alias, ExitStatus: -1, Unhealthy: cause}
	p.beginStop()
}

// restartUnhealthy stops an unhealthy process; once it is gone, it is
// started again after the back-off (onGone).
func (p *proc) restartUnhealthy() {
	c := p.health
	p.log.Warn("restarting an unhealthy process", zap.String("last_error", c.lastErr))
	p.rec.LastError = oneLine(fmt.Sprintf("unhealthy after %d failed checks: %s", c.fails, c.lastErr))
	p.healthRestart = true
	p.beginStop()
}
