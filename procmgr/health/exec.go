package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Exec passes when a command exits 0. It runs in a process group of its
// own, which is killed (SIGKILL) when the probe times out and, after the
// command has exited, in case it left anything behind: a probe leaves no
// process running. (A descendant that makes a session of its own leaves
// the group and escapes this.)
type Exec struct {
	// Argv is the program and its arguments; Argv[0] is a path.
	Argv []string
	// Env is the whole environment of the command: nothing of the
	// caller's own is added, so nil means an empty environment.
	Env []string
	// Dir is the working directory; "" is the caller's.
	Dir string
	// Cred is who the command runs as; nil is the caller's own user.
	Cred *syscall.Credential
}

var _ Check = Exec{}

func (c Exec) String() string { return "exec " + strings.Join(c.Argv, " ") }

// waitDelay bounds the wait for the command's output once it has exited:
// a descendant that escaped the group may still hold the pipe.
const waitDelay = time.Second

// Check runs the command and waits for it, or kills its group when ctx
// ends. The last line it wrote (stdout and stderr together) is in the
// error of a failure.
func (c Exec) Check(ctx context.Context) error {
	if len(c.Argv) == 0 {
		return errors.New("no command")
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would be the agent's environment
	}
	cmd.Dir = c.Dir
	out := &tail{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Cred}
	err := runGroup(ctx, cmd)
	if err == nil || ctx.Err() != nil {
		return err
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = errors.New(ee.String())
	}
	if line := lastLine(out.buf); line != "" {
		return fmt.Errorf("%w: %s", err, line)
	}
	return err
}

// tail keeps the last max bytes written to it. os/exec calls Write from
// one goroutine at a time when Stdout and Stderr are the same writer.
type tail struct {
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLine returns the last non-blank line of b, as firstLine does the first.
func lastLine(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if s := firstLine([]byte(lines[i])); s != "" {
			return s
		}
	}
	return ""
}
