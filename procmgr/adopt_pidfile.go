package procmgr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// maxPidFileSize bounds what is read of a pid_file: a pid and a newline
// take at most 11 bytes; some programs add spaces or a second line.
const maxPidFileSize = 64

// errNoPidFile says pid_file does not exist: nothing to adopt, no refusal.
var errNoPidFile = errors.New("no pid file")

// readPidFile reads the pid that a managed program wrote to path.
//
// The file is written by the managed process's user and read by the agent,
// which runs as root: it is hostile input. So:
//   - the final component must not be a symbolic link (it is lstat'ed, then
//     opened with O_NOFOLLOW), so that a link to /dev/zero, a FIFO or a
//     root-only file is never opened through it; the directories above it
//     are the configuration's and are followed (/var/run is often a link);
//   - it must be a regular file, checked before the open (opening a device
//     or a FIFO may block or have side effects) and again on the open file,
//     which must be the one checked (same device and inode);
//   - it must be owned by uid (the process's user) or by root;
//   - at most maxPidFileSize bytes are read, with O_NONBLOCK;
//   - errors name the file and what is wrong, never what it holds.
//
// It returns the pid and the file's modification time.
func readPidFile(path string, uid int) (int, time.Time, error) {
	var lst unix.Stat_t
	if err := unix.Lstat(path, &lst); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, time.Time{}, fmt.Errorf("pid file %s: %w", path, errNoPidFile)
		}
		return 0, time.Time{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	if err := checkPidFileStat(path, &lst, uid); err != nil {
		return 0, time.Time{}, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return 0, time.Time{}, fmt.Errorf("pid file %s is a symbolic link; it is not followed", path)
		}
		return 0, time.Time{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, time.Time{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	if st.Dev != lst.Dev || st.Ino != lst.Ino {
		return 0, time.Time{}, fmt.Errorf("pid file %s was replaced while it was read", path)
	}
	if err := checkPidFileStat(path, &st, uid); err != nil {
		return 0, time.Time{}, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPidFileSize+1))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	if len(b) > maxPidFileSize {
		return 0, time.Time{}, fmt.Errorf("pid file %s is larger than %d bytes: it does not hold a pid", path, maxPidFileSize)
	}
	pid, ok := parsePid(b)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("pid file %s does not hold a pid", path)
	}
	return pid, time.Unix(st.Mtim.Unix()), nil
}

func checkPidFileStat(path string, st *unix.Stat_t, uid int) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return fmt.Errorf("pid file %s is a symbolic link; it is not followed", path)
	default:
		return fmt.Errorf("pid file %s is not a regular file", path)
	}
	if int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("pid file %s is owned by uid %d, neither the process's user (uid %d) nor root", path, st.Uid, uid)
	}
	return nil
}

// parsePid reads a pid file's content: decimal digits, with blanks around
// them; a second line is ignored, as some programs write one.
func parsePid(b []byte) (int, bool) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 && len(bytes.TrimSpace(b[:i])) > 0 {
		b = b[:i]
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}
