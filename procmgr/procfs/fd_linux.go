package procfs

import (
	"errors"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

// dirReaders are getdents buffers, shared by concurrent listings.
var dirReaders = sync.Pool{New: func() any { return new(dirReader) }}

// eachEntry opens dir and calls fn with its fd and the name of each of
// its entries, read with getdents64 into a pooled buffer.
func eachEntry(dir string, fn func(dfd int, name []byte)) error {
	dfd, err := openAt(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return gone(&fs.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(dfd)
	r := dirReaders.Get().(*dirReader)
	defer dirReaders.Put(r)
	return r.each(dfd, dir, func(name []byte) { fn(dfd, name) })
}

// socketLinks returns the socket inodes of the fd links in dir, unsorted:
// the directory is read with getdents64 and each link with readlinkat
// relative to it, into buffers that are reused. A link closed during the
// scan is skipped.
func socketLinks(dir string) ([]uint64, error) {
	var inodes []uint64
	var linkErr error
	// "socket:[" and 20 digits fit; a longer target (a file's path) is
	// cut short, which cannot make it look like a socket.
	var link [64]byte
	err := eachEntry(dir, func(dfd int, name []byte) {
		if linkErr != nil {
			return
		}
		n, err := readlinkAt(dfd, string(name), link[:])
		if errors.Is(err, unix.ENOENT) {
			return // closed since the listing (or the process exited)
		}
		if err != nil {
			linkErr = gone(&fs.PathError{Op: "readlink", Path: dir + "/" + string(name), Err: err})
			return
		}
		if ino, ok := parseSocketLinkBytes(link[:n]); ok {
			inodes = append(inodes, ino)
		}
	})
	if err == nil {
		err = linkErr
	}
	if err != nil {
		return nil, err
	}
	return inodes, nil
}

func readlinkAt(dirfd int, name string, buf []byte) (int, error) {
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// ownSockets is socketLinks of this very process, whose fds need no link
// read through /proc: fstat(2) of each fd listed in dir says whether it
// is a socket and its inode. The agent holds two pidfds per process it
// manages, so this is most of the fds a listing would otherwise read.
// The fds in held are not looked at.
func ownSockets(dir string, held FDSet) ([]uint64, error) {
	var inodes []uint64
	err := eachEntry(dir, func(_ int, name []byte) {
		fd, ok := parseDec(name)
		if !ok || fd > 1<<30 || held.Has(int(fd)) {
			return
		}
		var st unix.Stat_t
		// An fd closed since the listing fails with EBADF, and one reused
		// meanwhile is as good as its link read a moment later.
		if unix.Fstat(int(fd), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
			inodes = append(inodes, st.Ino)
		}
	})
	if err != nil {
		return nil, err
	}
	return inodes, nil
}
