// Package procfs reads what procmgr needs to know about processes from /proc.
//
// Reading is kept apart from parsing: the methods of FS do the I/O under a
// configurable root, and the Parse functions are pure, so that they can be
// tested against fixture files and fuzzed.
//
// Errors about a process that has gone away wrap fs.ErrNotExist (check with
// errors.Is), whether the kernel said ENOENT (the /proc/PID directory is
// gone) or ESRCH (the process was reaped while its file was being read).
package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// FS is a procfs mount. Tests point Root at a fixture tree.
type FS struct {
	// Root is where procfs is mounted; empty means "/proc".
	Root string
	// NoPidfd makes AllKin fail with ErrNoPidfdInfo, as on a kernel
	// before Linux 6.13, so that tests take older kernels' path on any.
	NoPidfd bool
}

// Default is the host's procfs.
var Default = FS{Root: "/proc"}

func (fs FS) root() string {
	if fs.Root == "" {
		return "/proc"
	}
	return fs.Root
}

// path joins Root and elems with '/'. It does not clean the result: the
// elements are fixed names and pids, and filepath.Join would cost an
// allocation per call in AllStats.
func (fs FS) path(elems ...string) string {
	return fs.root() + "/" + strings.Join(elems, "/")
}

// pidPath is the path of file name in the directory of pid.
func (fs FS) pidPath(pid int, name string) string {
	return fs.root() + "/" + strconv.Itoa(pid) + "/" + name
}

// BootID returns the kernel's boot id (Root/sys/kernel/random/boot_id), a
// random UUID that changes at every boot: with a pid and a start time it
// identifies a process across agent restarts but not across reboots.
func (fs FS) BootID() (string, error) {
	path := fs.path("sys", "kernel", "random", "boot_id")
	b, err := readFile(path)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("parse %s: empty boot id", path)
	}
	return id, nil
}

// readFile reads a whole file (readInto, in read_linux.go, reads into a
// buffer it may reuse).
func readFile(path string) ([]byte, error) {
	return readInto(path, nil)
}

// gone makes err match fs.ErrNotExist when it is ESRCH, which a read of
// /proc/PID/* returns when the process was reaped after the open. Other
// errors are returned unchanged; they already name the operation and path
// (*fs.PathError).
func gone(err error) error {
	if errors.Is(err, syscall.ESRCH) {
		return goneError{err}
	}
	return err
}

// goneError is an ESRCH error that also matches fs.ErrNotExist.
type goneError struct{ err error }

func (e goneError) Error() string        { return e.err.Error() }
func (e goneError) Unwrap() error        { return e.err }
func (e goneError) Is(target error) bool { return target == os.ErrNotExist }
