package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// watcher tells when cgroups become empty, without timers: the kernel
// raises a file-modified event on cgroup.events when "populated" changes.
// One inotify descriptor and one goroutine serve every cgroup of a
// Hierarchy (a thousand processes cost a thousand watches, not a thousand
// goroutines).
type watcher struct {
	f  *os.File // the inotify descriptor, non-blocking, in Go's poller
	fd int      // f's number (f.Fd would make it blocking)

	// mu guards wds: Empty and Close of any Cgroup add and drop entries,
	// the reading goroutine fires them.
	mu  sync.Mutex
	wds map[int]*watched
}

// watched is one cgroup.events under watch.
type watched struct {
	dir     string
	holders map[*Cgroup]bool // open handles watching it
	waiters []chan struct{}  // closed when it is seen unpopulated
}

// Empty returns a channel closed once the cgroup has no live process (at
// once if it has none now) or is removed. Each call gives a channel of its
// own; the watch lasts until Close or Remove, when pending channels are
// closed too.
func (c *Cgroup) Empty() (<-chan struct{}, error) {
	w, err := c.h.watcher()
	if err != nil {
		return nil, fmt.Errorf("watch cgroup of %s: %w", c.alias, err)
	}
	ch := make(chan struct{})
	wd, err := w.add(c, ch)
	if err != nil {
		return nil, fmt.Errorf("watch cgroup of %s: %w", c.alias, err)
	}
	// After the watch is in place any change raises an event, so a
	// check now misses nothing.
	w.check(wd)
	return ch, nil
}

func (h *Hierarchy) watcher() (*watcher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watch != nil {
		return h.watch, nil
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, wds: map[int]*watched{}}
	go w.read()
	h.watch = w
	return w, nil
}

func (w *watcher) add(c *Cgroup, ch chan struct{}) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(c.dir, "cgroup.events"), unix.IN_MODIFY)
	if err != nil {
		return 0, err
	}
	e := w.wds[wd]
	if e == nil {
		e = &watched{dir: c.dir, holders: map[*Cgroup]bool{}}
		w.wds[wd] = e
	}
	e.holders[c] = true
	e.waiters = append(e.waiters, ch)
	return wd, nil
}

// check fires wd's waiters if its cgroup is unpopulated or gone.
func (w *watcher) check(wd int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.wds[wd]
	if e == nil || len(e.waiters) == 0 {
		return
	}
	if pop, err := readPopulated(e.dir); err == nil && pop {
		return
	}
	for _, ch := range e.waiters {
		close(ch)
	}
	e.waiters = nil
}

// drop closes wd's waiters and forgets it (its cgroup was removed).
func (w *watcher) drop(wd int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.wds[wd]; e != nil {
		for _, ch := range e.waiters {
			close(ch)
		}
		delete(w.wds, wd)
	}
}

// forget stops watching for c; the watch goes with its last holder.
func (w *watcher) forget(c *Cgroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for wd, e := range w.wds {
		if !e.holders[c] {
			continue
		}
		delete(e.holders, c)
		if len(e.holders) == 0 {
			for _, ch := range e.waiters {
				close(ch)
			}
			delete(w.wds, wd)
			unix.InotifyRmWatch(w.fd, uint32(wd))
		}
	}
}

// read handles events until the descriptor is closed.
func (w *watcher) read() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.failAll()
			}
			return
		}
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			wd := int(int32(binary.NativeEndian.Uint32(b[0:])))
			mask := binary.NativeEndian.Uint32(b[4:])
			nameLen := binary.NativeEndian.Uint32(b[12:])
			b = b[min(uint64(len(b)), unix.SizeofInotifyEvent+uint64(nameLen)):]
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				w.checkAll()
			case mask&unix.IN_IGNORED != 0:
				w.drop(wd)
			default:
				w.check(wd)
			}
		}
	}
}

func (w *watcher) checkAll() {
	w.mu.Lock()
	wds := make([]int, 0, len(w.wds))
	for wd := range w.wds {
		wds = append(wds, wd)
	}
	w.mu.Unlock()
	for _, wd := range wds {
		w.check(wd)
	}
}

// failAll closes every waiter when reading fails for good, so that no
// one waits forever on a watcher that is dead; waiters check Populated.
func (w *watcher) failAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for wd, e := range w.wds {
		for _, ch := range e.waiters {
			close(ch)
		}
		delete(w.wds, wd)
	}
}

func (w *watcher) close() error {
	err := w.f.Close()
	w.failAll()
	return err
}
