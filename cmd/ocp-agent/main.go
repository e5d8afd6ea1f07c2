// Command ocp-agent is the OCP agent: a daemon that keeps a configured set
// of processes on a host and serves the OCP API over them, and the admin
// CLI that talks to it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Set at build time (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// exitError carries the process exit status of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit statuses, as SPEC.md fixes them for `run`.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

const usage = `Usage: ocp-agent COMMAND [flags]

Commands:
  run            run the agent in the foreground until SIGTERM/SIGINT
  config check   load and validate a config file, print what was found
  version        print version, commit and build date

Run 'ocp-agent COMMAND --help' for a command's flags.
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(args[1:], stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			err = &exitError{exitConfig, errors.New("usage: ocp-agent config check [--config FILE]")}
			break
		}
		err = configCheckCmd(args[2:], stdout)
	case "version", "--version":
		fmt.Fprintf(stdout, "ocp-agent %s (commit %s, built %s)\n", version, commit, date)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "ocp-agent: unknown command %q\n\n%s", args[0], usage)
		return exitConfig
	}
	if err == nil {
		return exitOK
	}
	code := exitFail
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, errHelp) {
		fmt.Fprintf(stderr, "ocp-agent: %v\n", err)
	}
	return code
}
