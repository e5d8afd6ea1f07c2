package procmgr

// The exec helper sets what os/exec cannot: resource limits and the umask
// of the child alone, before it execs the program.
//
// Why a helper. syscall.SysProcAttr has no field for either. Setting them in
// the agent before the fork would change the agent's own limits and umask,
// which belong to the whole process (every thread) and so also to the
// other starts running at the same time. prlimit(2) on the child's pid
// after fork races with its exec (the program may already have read its
// limits, and with CLONE_VFORK the agent only regains control once the
// exec is done), and no syscall sets another process's umask. Stopping the
// child under ptrace would cost a setuid program its privileges.
//
// So the child execs this same binary first (/proc/self/exe, which names
// the running agent even after its file was replaced by an upgrade) with
// argv[0] = exechelper.Arg0; that package's init sees it and, instead of
// the agent, as root, sets the limits (root may raise hard limits), the
// umask, then the user's groups, gid and uid, changes to the directory as
// that user, and execs the program. It is initialized before the agent's
// heavier packages, whose start-up it would otherwise pay on every start. exec keeps
// the pid, the session and the start time, so the process the agent
// recorded is the program itself, and /proc/PID/cmdline and exe are the
// program's. A failure before the exec is written on fd 3, a pipe that the
// exec closes (close-on-exec): the agent reads it to EOF and reports a
// start error just as os/exec reports a failed exec. Starts without limits
// or umask do not use the helper.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/exechelper"
)

// execHelperTimeout bounds the agent's wait for the helper's exec: it is a
// few milliseconds of Go start-up, but a swapping host must not block the
// process's owner for ever.
const execHelperTimeout = 30 * time.Second

// viaExecHelper turns cmd, a command ready to start, into one that runs
// the exec helper with plan's limits and umask; the credentials and the
// directory move into the plan, so that they are applied after the limits.
// The returned pipe is the read end of the helper's report (fd 3); the
// caller closes the write end once the child has started.
func viaExecHelper(cmd *exec.Cmd, umask *uint32, limits []Limit) (r, w *os.File, err error) {
	pl := &exechelper.Plan{Umask: umask, Cred: cmd.SysProcAttr.Credential, Dir: cmd.Dir, Path: cmd.Path, Argv: cmd.Args}
	for _, l := range limits {
		res, ok := rlimitResources[l.Name]
		if !ok {
			return nil, nil, fmt.Errorf("limits.%s: unknown limit", l.Name)
		}
		pl.Limits = append(pl.Limits, exechelper.Limit{Name: l.Name, Resource: res, Value: l.Value})
	}
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("exec helper pipe: %w", err)
	}
	cmd.Path, cmd.Args, cmd.Dir = "/proc/self/exe", pl.Args(), ""
	cmd.SysProcAttr.Credential = nil
	cmd.ExtraFiles = []*os.File{w}
	return r, w, nil
}

// awaitExec waits for the helper of in to exec the program (its report
// pipe closes empty) or to fail (it writes why, then exits). A failed
// helper is waited for, so that the start error is final.
func awaitExec(in *instance, r *os.File) error {
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(execHelperTimeout))
	msg, err := io.ReadAll(io.LimitReader(r, 4096))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil // still starting: start_wait will tell how it went
	}
	if len(msg) == 0 {
		return nil
	}
	select {
	case <-in.exited:
	case <-time.After(execHelperTimeout):
	}
	in.release()
	return errors.New(string(msg))
}
