package procmgr

import (
	"regexp"
	"syscall"
	"time"
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

	StopSignal  syscall.Signal
	StopTimeout time.Duration
	StartWait   time.Duration
	Autostart   bool
	Autorestart bool
}

// KillWait bounds the wait after SIGKILL: a process in uninterruptible sleep
// can outlive SIGKILL, and the API answers 40013 instead of hanging.
const KillWait = 5 * time.Second

// Back-off of automatic restarts: doubling from backoffMin to backoffMax,
// reset once a run has lasted stableRun.
const (
	backoffMin = time.Second
	backoffMax = time.Minute
	stableRun  = time.Minute
)
