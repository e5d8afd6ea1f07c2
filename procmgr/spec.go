package procmgr

import (
	"regexp"
	"syscall"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// Spec says how to run one managed process. The agent builds it from the
// configuration; procmgr never reads the configuration itself.
type Spec struct {
	Alias string
	// ID is the process's API id, assigned by the agent and kept in its
	// record so that the record alone describes the process.
	ID int64
	// Command is a /bin/sh command line. A simple command (no shell syntax)
	// is executed directly so that the pid is the program's own.
	Command string
	// User to run as; "" runs as the agent's user.
	User string
	// PidFile, when set, is where a program that daemonizes writes the pid
	// of the process that really serves; the agent follows that one.
	PidFile string
	// Match finds a running instance the agent did not start (the oldest
	// match of the command line, arguments joined by spaces, is adopted).
	Match *regexp.Regexp

	// Directory is the working directory; "" for the user's home when it
	// exists, else /.
	Directory string
	// Environment is added to the base environment (BaseEnv), after and
	// over EnvironmentFile's variables. Keys are POSIX names.
	Environment map[string]string
	// EnvironmentFile, when set, is a file of KEY=value lines read at each
	// start (ParseEnvFile), so that a changed secret needs no reload.
	EnvironmentFile string
	// Umask, when set, is the file mode creation mask of the process;
	// nil inherits the agent's.
	Umask *uint32
	// Limits are resource limits set in the process before it execs.
	Limits []Limit
	// CgroupLimits are set on the process's cgroup before it starts
	// there (applyLimits); zero fields set nothing. They need cgroups
	// with the controllers delegated: New refuses them otherwise.
	CgroupLimits cgroup.Limits

	StopSignal  syscall.Signal
	StopTimeout time.Duration
	StartWait   time.Duration
	Autostart   bool
	Autorestart bool
	// Health checks that the process works; nil for none.
	Health *HealthSpec
}

// KillWait bounds the wait after SIGKILL: a process in uninterruptible sleep
// can outlive SIGKILL, and the API answers 40013 instead of hanging.
const KillWait = 5 * time.Second

// Backoff paces the automatic restarts of a process that keeps exiting:
// the first comes Min after the exit, each next one twice as late as the
// one before, at most Max; a run that lasted Stable starts again from Min.
// Zero fields take DefaultBackoff's.
type Backoff struct {
	Min, Max, Stable time.Duration
}

// DefaultBackoff: a crash loop costs one start a minute once it has gone
// on for a few minutes, and a process that ran a minute counts as healthy.
var DefaultBackoff = Backoff{Min: time.Second, Max: time.Minute, Stable: time.Minute}

func (b Backoff) orDefault() Backoff {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	if b.Stable <= 0 {
		b.Stable = DefaultBackoff.Stable
	}
	return b
}
