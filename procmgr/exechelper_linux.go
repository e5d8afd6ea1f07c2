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
// argv[0] = execHelperArg0; this package's init sees it and runs
// execHelperMain instead of the agent: as root, it sets the limits (root
// may raise hard limits), the umask, then the user's groups, gid and uid,
// changes to the directory as that user, and execs the program. exec keeps
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
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// execHelperArg0 is the argv[0] that makes this binary the exec helper; no
// name a person would type, so that it is never run by mistake.
const execHelperArg0 = "ocp-agent:exec-helper"

// execHelperTimeout bounds the agent's wait for the helper's exec: it is a
// few milliseconds of Go start-up, but a swapping host must not block the
// process's owner for ever.
const execHelperTimeout = 30 * time.Second

// execHelperFailed is the helper's exit status when it could not exec,
// the shell's for "command not found".
const execHelperFailed = 127

func init() {
	if len(os.Args) > 1 && os.Args[0] == execHelperArg0 {
		os.Exit(execHelperMain(os.Args[1:]))
	}
}

// execPlan is what the helper does before it execs path with argv.
type execPlan struct {
	umask  *uint32
	limits []Limit
	cred   *syscall.Credential // nil: stay who the agent is
	dir    string
	path   string
	argv   []string
}

// args encodes the plan as the helper's arguments.
func (pl *execPlan) args() []string {
	a := []string{execHelperArg0}
	if pl.umask != nil {
		a = append(a, "umask="+strconv.FormatUint(uint64(*pl.umask), 8))
	}
	for _, l := range pl.limits {
		a = append(a, "limit="+l.Name+":"+strconv.FormatUint(l.Value, 10))
	}
	if c := pl.cred; c != nil {
		gs := make([]string, len(c.Groups))
		for i, g := range c.Groups {
			gs[i] = strconv.FormatUint(uint64(g), 10)
		}
		a = append(a, fmt.Sprintf("uid=%d", c.Uid), fmt.Sprintf("gid=%d", c.Gid), "groups="+strings.Join(gs, ","))
	}
	if pl.dir != "" {
		a = append(a, "dir="+pl.dir)
	}
	a = append(a, "--", pl.path)
	return append(a, pl.argv...)
}

// parseExecPlan decodes the helper's arguments (after argv[0]).
func parseExecPlan(args []string) (*execPlan, error) {
	pl := &execPlan{}
	for i, a := range args {
		if a == "--" {
			if len(args) < i+3 {
				return nil, errors.New("no program after --")
			}
			pl.path, pl.argv = args[i+1], args[i+2:]
			return pl, nil
		}
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "umask":
			var u uint64
			u, err = strconv.ParseUint(v, 8, 32)
			m := uint32(u)
			pl.umask = &m
		case "limit":
			name, val, _ := strings.Cut(v, ":")
			var n uint64
			n, err = strconv.ParseUint(val, 10, 64)
			pl.limits = append(pl.limits, Limit{Name: name, Value: n})
		case "uid", "gid", "groups":
			if pl.cred == nil {
				pl.cred = &syscall.Credential{}
			}
			err = parseCred(pl.cred, k, v)
		case "dir":
			pl.dir = v
		default:
			err = errors.New("unknown argument")
		}
		if err != nil {
			return nil, fmt.Errorf("exec helper argument %q: %w", a, err)
		}
	}
	return nil, errors.New("exec helper: no -- before the program")
}

func parseCred(c *syscall.Credential, k, v string) error {
	if k == "groups" {
		for _, s := range strings.Split(v, ",") {
			if s == "" {
				continue
			}
			g, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return err
			}
			c.Groups = append(c.Groups, uint32(g))
		}
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if k == "uid" {
		c.Uid = uint32(n)
	} else {
		c.Gid = uint32(n)
	}
	return err
}

// execHelperMain runs in the child, as the agent's user, and returns only
// when it could not exec the program.
func execHelperMain(args []string) int {
	// One thread does it all, so that the exec is made by the thread whose
	// credentials were set (the runtime sets them on all threads anyway).
	runtime.LockOSThread()
	report := os.NewFile(3, "exec-report")
	unix.CloseOnExec(3)
	fail := func(err error) int {
		fmt.Fprint(report, err.Error())
		return execHelperFailed
	}
	pl, err := parseExecPlan(args)
	if err != nil {
		return fail(err)
	}
	if err := pl.apply(); err != nil {
		return fail(err)
	}
	// syscall.Exec puts back the RLIMIT_NOFILE the runtime raised at
	// start-up, unless the plan set one (Setrlimit tells it not to).
	err = syscall.Exec(pl.path, pl.argv, os.Environ())
	return fail(fmt.Errorf("cannot execute %s: %w", pl.path, err))
}

// apply sets the plan's limits, umask, credentials and directory on this
// process, in that order: limits before the uid changes, since only root
// may raise them; the directory after, so that the user's own permissions
// decide, as with os/exec's Dir.
func (pl *execPlan) apply() error {
	for _, l := range pl.limits {
		res, ok := rlimitResources[l.Name]
		if !ok {
			return fmt.Errorf("limits.%s: unknown limit", l.Name)
		}
		lim := syscall.Rlimit{Cur: l.Value, Max: l.Value}
		if err := syscall.Setrlimit(res, &lim); err != nil {
			return fmt.Errorf("cannot set limits.%s to %s: %w", l.Name, limitValue(l.Value), err)
		}
	}
	if pl.umask != nil {
		syscall.Umask(int(*pl.umask))
	}
	if c := pl.cred; c != nil {
		gs := make([]int, len(c.Groups))
		for i, g := range c.Groups {
			gs[i] = int(g)
		}
		if err := syscall.Setgroups(gs); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return fmt.Errorf("setgid %d: %w", c.Gid, err)
		}
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return fmt.Errorf("setuid %d: %w", c.Uid, err)
		}
	}
	if pl.dir != "" {
		if err := syscall.Chdir(pl.dir); err != nil {
			return fmt.Errorf("cannot change to directory %s: %w", pl.dir, err)
		}
	}
	return nil
}

// viaExecHelper turns cmd, a command ready to start, into one that runs
// the exec helper with plan's limits and umask; the credentials and the
// directory move into the plan, so that they are applied after the limits.
// The returned pipe is the read end of the helper's report (fd 3); the
// caller closes the write end once the child has started.
func viaExecHelper(cmd *exec.Cmd, umask *uint32, limits []Limit) (r, w *os.File, err error) {
	pl := &execPlan{umask: umask, limits: limits, cred: cmd.SysProcAttr.Credential, dir: cmd.Dir, path: cmd.Path, argv: cmd.Args}
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("exec helper pipe: %w", err)
	}
	cmd.Path, cmd.Args, cmd.Dir = "/proc/self/exe", pl.args(), ""
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
