package procmgr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// modifyWatch reports the names of files written in one directory: one
// inotify descriptor and one watch for all the output files of a manager.
// Consecutive identical events are merged by the kernel, so a fast writer
// costs a read and a stat per wakeup, not per write.
type modifyWatch struct {
	f   *os.File // non-blocking, so reads take deadlines and Close ends them
	buf []byte
}

func watchModify(dir string) (*modifyWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return &modifyWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir), buf: make([]byte, 64<<10)}, nil
}

// next waits at most d for writes and returns the names written, all=true
// when the kernel's queue overflowed (any file may have grown), or
// neither when d passed. An error means the watch is over (closed).
func (w *modifyWatch) next(d time.Duration) (names []string, all bool, err error) {
	if err := w.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, false, err
	}
	n, err := w.f.Read(w.buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return parseInotify(w.buf[:n])
}

func (w *modifyWatch) close() error { return w.f.Close() }

// inotifyHeader is the size of struct inotify_event before its name.
const inotifyHeader = unix.SizeofInotifyEvent

// parseInotify decodes a read of inotify events into the distinct names
// they carry (in order of first appearance) and whether the queue
// overflowed. A truncated record is an error: the kernel returns whole
// events only.
func parseInotify(b []byte) (names []string, overflow bool, err error) {
	seen := map[string]bool{}
	for off := 0; off < len(b); {
		if len(b)-off < inotifyHeader {
			return names, overflow, fmt.Errorf("inotify event at %d: %d bytes left, header needs %d", off, len(b)-off, inotifyHeader)
		}
		mask := binary.NativeEndian.Uint32(b[off+4:])
		nameLen := int(binary.NativeEndian.Uint32(b[off+12:]))
		off += inotifyHeader
		if nameLen > len(b)-off {
			return names, overflow, fmt.Errorf("inotify event at %d: name of %d bytes, %d left", off-inotifyHeader, nameLen, len(b)-off)
		}
		raw := b[off : off+nameLen]
		off += nameLen
		if mask&unix.IN_Q_OVERFLOW != 0 {
			overflow = true
		}
		for i, c := range raw { // NUL-padded
			if c == 0 {
				raw = raw[:i]
				break
			}
		}
		if name := string(raw); name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, overflow, nil
}
