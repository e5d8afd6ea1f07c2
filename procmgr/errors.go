package procmgr

import (
	"errors"
	"fmt"
)

// ErrSurvivedKill is returned by a stop when the process (or a member of its
// process group) was still alive 5 s after SIGKILL, typically because it is in
// uninterruptible sleep. The agent answers instead of hanging.
var ErrSurvivedKill = errors.New("process survived SIGKILL")

// ErrClosed is returned for requests sent to a manager that has shut down.
var ErrClosed = errors.New("process manager closed")

// StartError reports a start that failed: the command could not be executed,
// or the process exited before it had stayed up for its start_wait.
type StartError struct {
	Alias string
	// ExitStatus is the shell-style status: the exit code, or 128+signal.
	// -1 when the process never ran (Cause is set then).
	ExitStatus int
	// Cause is why the command could not be executed, if it could not.
	Cause error
	// Output holds the last lines the process wrote to its output file.
	Output string
}

func (e *StartError) Error() string {
	var msg string
	if e.Cause != nil {
		msg = fmt.Sprintf("start %s: cannot execute: %v", e.Alias, e.Cause)
	} else {
		msg = fmt.Sprintf("start %s: exited during start-up with status %d", e.Alias, e.ExitStatus)
	}
	if e.Output != "" {
		msg += "; last output:\n" + e.Output
	}
	return msg
}

func (e *StartError) Unwrap() error { return e.Cause }
