package exechelper

import (
	"os"
	"runtime"
	"syscall"
)

func init() {
	if len(os.Args) > 1 && os.Args[0] == Arg0 {
		os.Exit(run(os.Args[1:]))
	}
}

// report is the descriptor on which the helper says why it could not
// exec: a pipe to the agent that the exec closes (close-on-exec).
const report = 3

// run runs in the child, as the agent's user, and returns only when it
// could not exec the program.
func run(args []string) int {
	// One thread does it all, so that the exec is made by the thread whose
	// credentials were set (the runtime sets them on all threads anyway).
	runtime.LockOSThread()
	syscall.CloseOnExec(report)
	fail := func(msg string) int {
		syscall.Write(report, []byte(msg))
		return Failed
	}
	pl, err := Parse(args)
	if err != nil {
		return fail(err.Error())
	}
	if err := pl.apply(); err != nil {
		return fail(err.Error())
	}
	// syscall.Exec puts back the RLIMIT_NOFILE the runtime raised at
	// start-up, unless the plan set one (Setrlimit tells it not to).
	err = syscall.Exec(pl.Path, pl.Argv, syscall.Environ())
	return fail("cannot execute " + pl.Path + ": " + err.Error())
}
