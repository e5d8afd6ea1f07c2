package procmgr

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrSurvivedKill is returned by a stop when the process (or a member of its
// process group) was still alive 5 s after SIGKILL, typically because it is in
// uninterruptible sleep. The agent answers instead of hanging.
var ErrSurvivedKill = errors.New("process survived SIGKILL")

// ErrClosed is returned for requests sent to a manager that has shut down.
var ErrClosed = errors.New("process manager closed")

// ErrStopRequested is matched (errors.Is) by the *SupersededError of a
// start or restart that a stop request overtook.
var ErrStopRequested = errors.New("cancelled by a stop request")

// SupersededError answers a start or restart that was still waiting when a
// later stop request arrived: the stop wins, and the start is not made. It
// is no failure of the process: the caller asked for something else since.
type SupersededError struct {
	Op    string // "start" or "restart"
	Alias string
	By    string // the operation that won: "stop"
}

func (e *SupersededError) Error() string {
	return fmt.Sprintf("%s of %s was superseded by a %s request", e.Op, e.Alias, e.By)
}

// Is makes a superseded start match ErrStopRequested.
func (e *SupersededError) Is(target error) bool { return target == ErrStopRequested && e.By == "stop" }

// StartError reports a start that failed: the command could not be executed,
// the process exited before it had stayed up for its start_wait, or the
// process its pid_file names could not be adopted.
type StartError struct {
	Alias string
	// ExitStatus is the shell-style status: the exit code, or 128+signal.
	// -1 when the process never ran (Cause is set then).
	ExitStatus int
	// Cause is why the command could not be executed, or why the process
	// a daemonizing program left could not be followed.
	Cause error
	// Ran is how long the process ran before it exited.
	Ran time.Duration
	// Unhealthy is why a process that ran was not counted as started: no
	// health check passed in time (it was stopped then).
	Unhealthy error
	// Output holds the last lines the process wrote to its output file.
	Output string
}

func (e *StartError) Error() string {
	var msg string
	switch {
	case e.Unhealthy != nil:
		msg = fmt.Sprintf("start %s: %v", e.Alias, e.Unhealthy)
	case e.Cause != nil && e.ExitStatus < 0:
		msg = fmt.Sprintf("start %s: cannot execute: %v", e.Alias, e.Cause)
	case e.Cause != nil:
		msg = fmt.Sprintf("start %s: %v", e.Alias, e.Cause)
	default:
		msg = fmt.Sprintf("start %s: exited during start-up with status %d", e.Alias, e.ExitStatus)
	}
	if e.Output != "" {
		msg += "; last output:\n" + e.Output
	}
	return msg
}

func (e *StartError) Unwrap() error { return e.Cause }

// lastError is the one-line account of the failed start that a process's
// record keeps (lastError in the API).
func (e *StartError) lastError() string {
	switch {
	case e.Unhealthy != nil:
		return oneLine(e.Unhealthy.Error())
	case e.Cause != nil && e.ExitStatus < 0:
		return cannotExecute(e.Cause)
	case e.Cause != nil:
		return oneLine(e.Cause.Error())
	default:
		return exitLine(e.ExitStatus, e.Ran, lastLine(e.Output))
	}
}

// cannotExecute says why a command could not be started, naming the file
// when the error does ("cannot execute /opt/x/bin/y: no such file or
// directory"), without the "fork/exec" jargon of the error itself.
func cannotExecute(err error) string {
	var pe *os.PathError
	var ee *exec.Error
	switch {
	case errors.As(err, &ee):
		return oneLine(fmt.Sprintf("cannot execute %s: %v", ee.Name, ee.Err))
	case errors.As(err, &pe):
		return oneLine(fmt.Sprintf("cannot execute %s: %v", pe.Path, pe.Err))
	default:
		return oneLine("cannot execute: " + err.Error())
	}
}

// exitLine says how a run ended: "exited with status 1 after 0.3s: bind:
// address already in use", with the last line the process wrote, if any.
func exitLine(status int, ran time.Duration, last string) string {
	var s string
	if status < 0 {
		s = fmt.Sprintf("exited (status unknown) after %.1fs", ran.Seconds())
	} else {
		s = fmt.Sprintf("exited with status %d after %.1fs", status, ran.Seconds())
	}
	if last != "" {
		s += ": " + last
	}
	return oneLine(s)
}

// lastLine is the last non-blank line of s.
func lastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// maxErrorLine bounds lastError: a process may write a line of any length.
const maxErrorLine = 256

// oneLine makes s safe to show on one line of a table or a log: control
// characters and invalid UTF-8 are escaped (\n, \x1b...), and the result is
// cut at maxErrorLine bytes on a character boundary, marked with "...".
func oneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\n':
			piece = `\n`
		case r == '\t':
			piece = `\t`
		case r == '\r':
			piece = `\r`
		case unicode.IsControl(r) && r < 0x100:
			piece = fmt.Sprintf(`\x%02x`, r)
		case unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			piece = fmt.Sprintf(`\u%04x`, r) // bidi overrides and the like
		default:
			piece = s[i : i+size]
		}
		if b.Len()+len(piece) > maxErrorLine {
			b.WriteString("...")
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}
