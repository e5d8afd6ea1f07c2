package procfs

import (
	"bytes"
	"strings"
)

// Cmdline returns the argv of pid, read from Root/PID/cmdline. It is empty
// for kernel threads and zombies. The error wraps fs.ErrNotExist when the
// process is gone.
func (fs FS) Cmdline(pid int) ([]string, error) {
	b, err := readFile(fs.pidPath(pid, "cmdline"))
	if err != nil {
		return nil, err
	}
	return parseCmdline(b), nil
}

// CommandLine returns the argv of pid joined by spaces, as
// strings.Join(Cmdline(pid), " ") would, reading into a pooled buffer and
// allocating only the result. The error wraps fs.ErrNotExist when the
// process is gone.
func (fs FS) CommandLine(pid int) (string, error) {
	bp := getBuf()
	defer putBuf(bp)
	b, err := readRecord(fs.pidPath(pid, "cmdline"), *bp)
	if err != nil {
		return "", err
	}
	*bp = b
	return joinCmdline(b), nil
}

// joinCmdline is strings.Join(parseCmdline(b), " ") in one allocation:
// trailing NULs go, the others separate arguments.
func joinCmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	var out strings.Builder
	out.Grow(len(b))
	for _, c := range b {
		if c == 0 {
			c = ' '
		}
		out.WriteByte(c)
	}
	return out.String()
}

// parseCmdline splits the contents of /proc/PID/cmdline into arguments.
//
// The kernel ends each argument with a NUL. A process may rewrite its argv
// area (setproctitle: nginx, postgres, sshd) into one space-separated string
// padded with NULs, or with no NUL at all; that comes back as one element.
// All trailing NULs are trimmed, so trailing empty arguments are lost: a
// padded title cannot be told apart from them, and a title is the likelier.
func parseCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}
