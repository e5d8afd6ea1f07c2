package procfs

import (
	"bytes"
	"errors"
	"os"
	"slices"
)

// self is this process's pid, read once: os.Getpid is a system call, and
// a listing compares the pid of every process it scans with it.
var self = os.Getpid()

// SocketInodes returns the inodes of the sockets pid has open: the targets
// "socket:[N]" of the links in Root/PID/fd, sorted, each once (an fd
// duplicated with dup(2) links to the same socket). Match them against
// ListeningSockets to find the process's ports.
//
// Reading another user's fds needs privilege: when the fd directory or a
// link in it cannot be read for lack of permission, the error wraps
// fs.ErrPermission, and the caller should say that the ports are unknown,
// not that there are none. This is also the case of a process that made
// itself non-dumpable (set-user-id programs, prctl(PR_SET_DUMPABLE)): its
// fd directory belongs to root. A zombie has no sockets, whoever reads.
// When the process is gone the error wraps fs.ErrNotExist. An fd closed
// during the scan is skipped.
func (fs FS) SocketInodes(pid int) ([]uint64, error) {
	dir := fs.pidPath(pid, "fd")
	var inodes []uint64
	var err error
	if pid == self && fs.root() == "/proc" {
		inodes, err = ownSockets(dir, nil) // the same answer, cheaper
	} else {
		inodes, err = socketLinks(dir)
	}
	if errors.Is(err, os.ErrPermission) && fs.isZombie(pid) {
		// A zombie's fd directory belongs to root whoever ran it, but a
		// zombie has closed all its files: it has no sockets.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(inodes)
	return slices.Compact(inodes), nil
}

// OwnSocketInodes is SocketInodes of this very process, not looking at the
// fds in held: the files a caller knows it holds open for reading (a
// listing holds several per process it lists), which are no sockets. held
// may be a snapshot: an fd in it that a socket reused since was made a
// socket after the snapshot.
func (fs FS) OwnSocketInodes(held FDSet) ([]uint64, error) {
	if fs.root() != "/proc" {
		return fs.SocketInodes(self)
	}
	inodes, err := ownSockets(fs.pidPath(self, "fd"), held)
	if err != nil {
		return nil, err
	}
	slices.Sort(inodes)
	return slices.Compact(inodes), nil
}

// FDSet is a set of fds, a bit for each.
type FDSet []uint64

// Has says whether fd is in s.
func (s FDSet) Has(fd int) bool {
	w := fd / 64
	return fd >= 0 && w < len(s) && s[w]&(1<<(fd%64)) != 0
}

// Add puts fd (>= 0) in s, and says whether it was not in it.
func (s *FDSet) Add(fd int) bool {
	w, bit := fd/64, uint64(1)<<(fd%64)
	for len(*s) <= w {
		*s = append(*s, 0)
	}
	if (*s)[w]&bit != 0 {
		return false
	}
	(*s)[w] |= bit
	return true
}

// Remove takes fd out of s, and says whether it was in it.
func (s FDSet) Remove(fd int) bool {
	if !s.Has(fd) {
		return false
	}
	s[fd/64] &^= 1 << (fd % 64)
	return true
}

// isZombie reports whether pid has exited and not been reaped yet.
func (fs FS) isZombie(pid int) bool {
	s, err := fs.Stat(pid)
	return err == nil && s.State == 'Z'
}

// parseSocketLink returns N of an fd link target "socket:[N]". Other
// targets (files, "pipe:[N]", "anon_inode:[eventpoll]") are not sockets.
func parseSocketLink(target string) (uint64, bool) {
	return parseSocketLinkBytes([]byte(target)) // does not escape: no allocation
}

// parseSocketLinkBytes is parseSocketLink of a link read into a buffer.
func parseSocketLinkBytes(b []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("socket:["))
	if !ok {
		return 0, false
	}
	num, ok := bytes.CutSuffix(rest, []byte("]"))
	if !ok {
		return 0, false
	}
	return parseDec(num)
}
