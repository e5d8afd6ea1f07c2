// Package exechelper is the child's side of procmgr's exec helper: what
// sets a managed process's resource limits and umask before it execs its
// program, which os/exec cannot (see procmgr/exechelper_linux.go for why
// a helper at all).
//
// The child execs the agent's own binary with argv[0] = Arg0; this
// package's init recognizes it and execs the program. It is a leaf that
// imports only the standard library's basics, so that Go initializes it
// before the agent's heavier packages (config, metrics, logging), whose
// initialization the helper would otherwise pay on every start, and a
// host's processes started at once a hundred times over on its few cores.
// What is left is the Go runtime's own start in a large binary: twice a
// minimal Go program's.
package exechelper

import "strconv"

// Arg0 is the argv[0] that makes the agent's binary the exec helper; no
// name a person would type, so that it is never run by mistake.
const Arg0 = "ocp-agent:exec-helper"

// Failed is the helper's exit status when it could not exec, the shell's
// for "command not found".
const Failed = 127

// Unlimited is a limit's value for no limit (RLIM_INFINITY).
const Unlimited = ^uint64(0)

// LimitValue is how a limit's value is said in errors.
func LimitValue(v uint64) string {
	if v == Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// Limit is one resource limit to set: Name (as the config says it, for
// errors) and the setrlimit(2) resource it is.
type Limit struct {
	Name     string
	Resource int
	Value    uint64
}
