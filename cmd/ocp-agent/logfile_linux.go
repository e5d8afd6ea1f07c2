package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openLog opens a log file for reading without following a symbolic link
// in its last component, and only when it is a regular file: log files sit
// in directories their process's user owns, and `ocp-agent logs` runs as
// root. Its directory may be a link only when root or the caller made that
// link (a user can plant links only where it may write). The link is
// judged and followed through one handle on it, so a user who owns the
// directory above cannot swap it for a link of its own in between.
func openLog(name string) (*os.File, error) {
	dir, err := openLogDir(filepath.Dir(name))
	if err != nil {
		return nil, err
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

// openLogDir opens the directory of a log file. When the path's last
// component is a symbolic link, the link itself is held (O_PATH with
// O_NOFOLLOW), its owner checked on that handle and its target read from
// it: what is judged is what is followed.
func openLogDir(dirName string) (int, error) {
	dirFlags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	h, err := unix.Open(dirName, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dirName, Err: err}
	}
	defer unix.Close(h)
	var st unix.Stat_t
	if err := unix.Fstat(h, &st); err != nil {
		return -1, &os.PathError{Op: "stat", Path: dirName, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// Not a link: the directory itself, opened through the handle.
		dir, err := unix.Openat(h, ".", dirFlags, 0)
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: dirName, Err: err}
		}
		return dir, nil
	}
	if st.Uid != 0 && int(st.Uid) != os.Getuid() {
		return -1, &os.PathError{Op: "open", Path: dirName, Err: linkErr(unix.ELOOP)}
	}
	target, err := readlinkFd(h)
	if err != nil {
		return -1, &os.PathError{Op: "readlink", Path: dirName, Err: err}
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(dirName), target)
	}
	// The target is the trusted link maker's choice, followed as written.
	dir, err := unix.Open(target, dirFlags, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dirName, Err: err}
	}
	return dir, nil
}

// readlinkFd reads the target of the symbolic link that the O_PATH handle
// h holds (readlinkat with an empty path).
func readlinkFd(h int) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(h, "", buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// linkErr says what ELOOP means here: a link that was not followed.
func linkErr(err error) error {
	if err == unix.ELOOP {
		return fmt.Errorf("a symbolic link; not followed (log files are read as root)")
	}
	return err
}
