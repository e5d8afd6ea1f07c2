package procmgr

import (
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// Snapshot is what the agent knows of a managed process at one moment,
// without looking at /proc (see Observation for that).
type Snapshot struct {
	Alias string
	ID    int64
	// Running: an instance exists (it may be starting or stopping).
	Running    bool
	PID        int
	StartTicks uint64
	// Desired is state.DesiredStarted or state.DesiredStopped.
	Desired string
	// Phase names the lifecycle step: stopped, backoff, starting, running,
	// stopping or killing.
	Phase          string
	CreateTime     time.Time
	UpdateTime     time.Time
	LastActiveTime time.Time // zero: never seen alive
	RestartCount   int
	LastExitCode   *int
	// LastError is why the last start or run ended, on one line; "" when
	// the last start succeeded.
	LastError string
	// NextStartTime is when a scheduled restart is due (phase backoff);
	// zero otherwise.
	NextStartTime time.Time
	// Health is HealthHealthy, HealthUnhealthy or HealthUnknown; "" when
	// no health check is configured. LastHealthError is the error of the
	// last failed check (kept after it recovers), HealthChecksFailed the
	// failed checks since the agent started.
	Health             string
	LastHealthError    string
	HealthChecksFailed uint64
	// Adopted: the running instance was found through pid_file or match,
	// not started by an agent, so some of its sockets may predate its
	// cgroup (a listing then scans its members' fds as well).
	Adopted bool
}

func (p *proc) snapshot() Snapshot {
	s := Snapshot{
		Alias:          p.spec.Alias,
		ID:             p.rec.ID,
		Desired:        p.rec.Desired,
		Phase:          p.phase.String(),
		CreateTime:     p.rec.CreateTime,
		UpdateTime:     p.rec.UpdateTime,
		LastActiveTime: p.rec.LastActiveTime,
		RestartCount:   p.rec.RestartCount,
		LastError:      p.rec.LastError,
	}
	if c := p.health; c != nil {
		s.Health, s.LastHealthError, s.HealthChecksFailed = c.status, c.lastErr, c.failed
	}
	if p.phase == phaseBackoff {
		s.NextStartTime = p.rec.NextStartTime
	}
	if s.Health == "" && p.spec.Health != nil {
		s.Health = HealthUnknown
	}
	if s.Desired == "" {
		s.Desired = state.DesiredStopped
	}
	if p.rec.LastExitCode != nil {
		c := *p.rec.LastExitCode
		s.LastExitCode = &c
	}
	if p.inst != nil && !p.daemonized {
		s.Running, s.PID, s.StartTicks = true, p.inst.pid, p.inst.ticks
		// group is set for an instance an agent started (in its own
		// session); one adopted through pid_file or match has none, and
		// one contain moved may hold sockets from before.
		s.Adopted = !p.inst.group || p.inst.moved
	}
	return s
}

func (p *proc) publish() {
	s := p.snapshot()
	p.snap.Store(&s)
}
