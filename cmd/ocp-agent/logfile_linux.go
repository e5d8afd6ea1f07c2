package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// openLog opens a log file for reading without following a symbolic link
// in its last component, and only when it is a regular file: log files sit
// in directories their process's user owns, and `ocp-agent logs` runs as
// root. Its directory may be a link only when root or the caller made that
// link (a user can plant links only where it may write). Left open: a user
// who owns the directory above may swap a trusted link between the check
// and the open.
func openLog(name string) (*os.File, error) {
	dirName := filepath.Dir(name)
	dirFlags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if fi, err := os.Lstat(dirName); err == nil && fi.Mode()&os.ModeSymlink != 0 && !ownedBySafeUser(fi) {
		return nil, &os.PathError{Op: "open", Path: dirName, Err: linkErr(unix.ELOOP)}
	}
	dir, err := unix.Open(dirName, dirFlags, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dirName, Err: linkErr(err)}
	}
	defer unix.Close(dir)
	// O_NONBLOCK: a FIFO planted between the listing and the open must not
	// hang the command; it is refused below anyway.
	fd, err := unix.Openat(dir, filepath.Base(name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: linkErr(err)}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: not a regular file; not read", name)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// linkErr says what ELOOP means here: a link that was not followed.
func linkErr(err error) error {
	if err == unix.ELOOP {
		return fmt.Errorf("a symbolic link; not followed (log files are read as root)")
	}
	return err
}

// ownedBySafeUser says whether a link was made by root or by the caller.
func ownedBySafeUser(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == 0 || int(st.Uid) == os.Getuid())
}
