package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The reading of /proc through bare system calls, for the listing's hot
// path: an *os.File costs an allocation, a finalizer and a failed attempt
// to register with the runtime's poller (epoll refuses /proc files) on
// every open, which a listing does thousands of times. Errors are the
// same *fs.PathError values os would return, so that errors.Is works as
// documented (fs.ErrNotExist, fs.ErrPermission).

// readInto reads the whole file at path into buf[:0], growing it as
// needed, and returns it. Reusing one buffer for many small /proc files
// (AllStats) or a few large ones saves most of the allocations of
// os.ReadFile, which starts from 512 bytes since /proc files report size
// 0.
func readInto(path string, buf []byte) ([]byte, error) {
	return readAt(unix.AT_FDCWD, path, path, buf, false)
}

// readRecord is readInto for the per-process files that the kernel
// makes whole at each read (stat, status: one seq_file record; cmdline):
// a read that returns less than asked for has reached the end, which
// saves the read that would return nothing, a quarter of the system calls
// of a listing's per-process files. Not for tables of many records
// (/proc/net/*), whose reads stop short at a record boundary.
func readRecord(path string, buf []byte) ([]byte, error) {
	return readAt(unix.AT_FDCWD, path, path, buf, true)
}

// readAt is readInto of name relative to the directory dirfd; path names
// the file in errors. With record, a short read ends the file.
func readAt(dirfd int, name, path string, buf []byte, record bool) ([]byte, error) {
	fd, err := openAt(dirfd, name, unix.O_RDONLY)
	if err != nil {
		return nil, gone(&fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, cap(buf)))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, gone(&fs.PathError{Op: "read", Path: path, Err: err})
		}
		if n == 0 {
			return buf, nil
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if record && short {
			return buf, nil
		}
	}
}

// openAt opens name relative to dirfd, close-on-exec, retrying on EINTR.
func openAt(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// dirReader lists directories with getdents64 into a buffer it keeps, so
// that listing many small directories (every /proc/PID/fd of a listing)
// allocates nothing but the names asked for.
type dirReader struct {
	buf []byte
}

// each calls f with the name of every entry of the directory open as fd,
// but "." and "..". The name is only valid during the call.
func (r *dirReader) each(fd int, path string, f func(name []byte)) error {
	if r.buf == nil {
		r.buf = make([]byte, 8<<10)
	}
	for {
		n, err := getdentsRaw(fd, r.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return gone(&fs.PathError{Op: "getdents", Path: path, Err: err})
		}
		if n <= 0 {
			return nil
		}
		// Only an empty read is the end. The kernel also stops early,
		// with room left, when a signal is pending (filldir64), and Go's
		// scheduler signals its threads to preempt goroutines: taking a
		// short read for the end lost fds, and so ports, about once in
		// 25,000 directories (TestEachEntryUnderSignals).
		parseDirents(r.buf[:n], f)
	}
}

// getdentsRaw is unix.Getdents without telling the runtime that a system
// call is under way: the listing of /proc/self/fd in a listing takes a
// few hundred µs per call (the kernel makes a dentry for each of its
// hundreds of fds), long enough that the runtime's monitor thread took
// the caller's P away at each and then kept polling every 20 µs: 9 % of a
// listing's CPU in a perf profile of the agent, 3.7 % this way. A procfs
// directory listing does not wait on anything that can take long, so
// holding the P through it costs other goroutines at most that long.
func getdentsRaw(fd int, buf []byte) (int, error) {
	n, _, errno := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// parseDirents calls f with the name of each struct linux_dirent64 in b
// (ino u64, off s64, reclen u16, type u8, name NUL-terminated), but "."
// and "..". It stops at a malformed record rather than read past it.
func parseDirents(b []byte, f func(name []byte)) {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			return
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if !(len(name) == 1 && name[0] == '.') && !(len(name) == 2 && name[0] == '.' && name[1] == '.') {
			f(name)
		}
		b = b[reclen:]
	}
}

// PreadAll reads the whole file open as fd into buf[:0] from its start,
// one pread at a time, growing buf as needed. It is for files made whole
// by each read from offset 0 (/proc/PID files, cgroup interface files,
// seq_files), whose reads fill the buffer as far as there is data: a short
// read is the end, which saves the read that would return 0. Reading
// from offset 0 lets a caller keep fd open and read it again. The error is
// the system call's, for the caller to wrap with the file's name.
func PreadAll(fd int, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, cap(buf)))
		}
		n, err := unix.Pread(fd, buf[len(buf):cap(buf)], int64(len(buf)))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if n == 0 || short {
			return buf, nil
		}
	}
}
