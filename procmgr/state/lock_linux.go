package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// lockName is the file in the state directory that one agent holds locked.
const lockName = "agent.lock"

// dirLock is an exclusive flock(2) on the state directory's lock file.
//
// flock rather than a pid file: the kernel drops the lock when its holder
// dies, even by SIGKILL, so a crashed agent never leaves a stale lock behind.
// The lock belongs to the open file description, so a second OpenBolt in
// the same process conflicts too. The file is opened close-on-exec (as
// os.OpenFile always does), so managed processes, which outlive the agent,
// never inherit it.
type dirLock struct {
	f *os.File
}

// lockDir takes the lock on dir without waiting, and writes this process's
// pid into the lock file so that the next agent can say who holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	// O_NOFOLLOW: a symlink in its place is refused, never written through.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, PID: lockHolder(path)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close() // drops the lock
		return nil, fmt.Errorf("write pid to %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

// flock applies how to f, retrying when a signal interrupts the call.
func flock(f *os.File, how int) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = sc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), how)
			if ferr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}

// writePID overwrites the file's first line before truncating what follows,
// so that a reader never sees an empty file, only the old or the new pid.
func writePID(f *os.File) error {
	line := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if _, err := f.WriteAt(line, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(line)))
}

// lockHolder reads the pid written by the lock's holder; 0 when unknown
// (the holder may be an older agent, or a tool that wrote nothing).
func lockHolder(path string) int {
	// The holder writes its pid just after it takes the lock; give a
	// holder that is that far along a moment to do so.
	for range 5 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		if pid, err := strconv.Atoi(string(bytes.TrimSpace(line))); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// unlock releases the lock. The file stays: removing it would let a third
// agent lock a new file while a second still waits on the old one.
func (l *dirLock) unlock() error {
	if err := flock(l.f, unix.LOCK_UN); err != nil {
		l.f.Close()
		return fmt.Errorf("unlock %s: %w", l.f.Name(), err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", l.f.Name(), err)
	}
	return nil
}
