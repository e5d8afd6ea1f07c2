package procmgr

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// heldDir is a directory under state_dir held open, so that every file in
// it is opened relative to the directory itself (openat) rather than by a
// path that someone could redirect, and with O_NOFOLLOW, so that no
// symlink is ever followed. os.Root would not do: it follows symlinks that
// stay inside the root, and we want none at all.
type heldDir struct {
	f    *os.File
	fd   int
	path string
}

// openHeldDir creates path (mode perm) if needed and holds it. It refuses
// a directory that is a symlink, or that someone other than root or the
// agent's user owns or may write: such a one could swap its files.
func openHeldDir(path string, perm os.FileMode) (*heldDir, error) {
	if err := os.MkdirAll(path, perm); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if uid := uint32(os.Geteuid()); st.Uid != 0 && st.Uid != uid {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: owned by uid %d, not root: its owner could redirect the agent's writes", path, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: writable by others (mode %04o): they could redirect the agent's writes", path, st.Mode&0o7777)
	}
	return &heldDir{f: os.NewFile(uintptr(fd), path), fd: fd, path: path}, nil
}

func (d *heldDir) close() {
	if d != nil {
		d.f.Close()
	}
}

// errNotRegular means a name in a held directory is not a plain file with
// one link: the agent writes only to files it made.
var errNotRegular = errors.New("not a regular file with a single link")

// open opens name in d, never following a symlink (ELOOP) and never
// blocking on a FIFO, and accepts only a regular file with a single link:
// a hard link to a file elsewhere would let writes land there.
func (d *heldDir) open(name string, flag int, perm uint32) (*os.File, error) {
	path := filepath.Join(d.path, name)
	fd, err := unix.Openat(d.fd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// size is the size of name in d, read without opening it (a symlink's
// own): one syscall, for a look at every output file.
func (d *heldDir) size(name string) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, &os.PathError{Op: "stat", Path: filepath.Join(d.path, name), Err: err}
	}
	return st.Size, nil
}

// holds reports whether name in d is a regular file with a single link
// (see open) and exactly data in it. It reads with bare system calls (an
// os.File would cost three more), as it runs for each of 1000 processes
// when the agent restarts.
func (d *heldDir) holds(name string, data []byte) bool {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Size != int64(len(data)) {
		return false
	}
	var buf [32]byte // a pid and a newline
	if len(data) > len(buf) {
		return false
	}
	n, err := unix.Read(fd, buf[:])
	return err == nil && bytes.Equal(buf[:n], data)
}

// writeAtomic writes data to name in d through a new temporary file
// renamed over name, so that a reader never sees half of it. The
// temporary file is made with O_EXCL (never one someone left there, nor
// through a symlink), so it is the agent's own new regular file without
// the checks of open, and written through its bare descriptor: a burst
// of starts writes a hundred pid files in one directory at once, and each
// call on a name there (create, rename, remove) takes the directory's
// lock, so this makes the two it needs and no more.
func (d *heldDir) writeAtomic(name string, data []byte) error {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "." + name + "." + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, &os.PathError{Op: "create", Path: filepath.Join(d.path, tmp), Err: err})
	}
	err = writeFD(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, 0o644) // against the umask
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.rename(tmp, name)
	} else {
		err = &os.PathError{Op: "write", Path: filepath.Join(d.path, tmp), Err: err}
	}
	if err != nil {
		d.remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeFD writes all of data to fd.
func writeFD(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// rename renames from to to within d; neither is followed if a symlink.
func (d *heldDir) rename(from, to string) error {
	if err := unix.Renameat(d.fd, from, d.fd, to); err != nil {
		return &os.LinkError{Op: "rename", Old: filepath.Join(d.path, from), New: filepath.Join(d.path, to), Err: err}
	}
	return nil
}

// remove removes name from d (a symlink itself, never its target).
func (d *heldDir) remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return &os.PathError{Op: "remove", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

// noFollow opens a path's final component only if it is not a symlink,
// and without blocking if it is a FIFO.
const noFollow = unix.O_NOFOLLOW | unix.O_NONBLOCK

// holdDirs opens the output and pid directories the manager writes in.
func (m *Manager) holdDirs(opts Options) error {
	if opts.OutputDir == "" {
		return errors.New("output directory: not set")
	}
	var err error
	if m.outDir, err = openHeldDir(opts.OutputDir, 0o750); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if opts.PidDir != "" {
		if m.runDir, err = openHeldDir(opts.PidDir, 0o755); err != nil {
			m.outDir.close()
			return fmt.Errorf("pid directory: %w", err)
		}
	}
	return nil
}

func (m *Manager) closeDirs() {
	m.outDir.close()
	m.runDir.close()
}
