package procmgr

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// exitWatch notices the exit of every instance of a manager, through one
// epoll set holding their pidfds and one goroutine: a pidfd becomes
// readable when its process exits. A goroutine per instance parked on its
// pidfd cost about 2.5 KiB each (its stack, its g, the poll descriptor the
// runtime keeps for the pidfd and the context hook that ended the wait);
// the set costs the kernel an entry per pidfd and the agent a map entry.
//
// The set itself is registered with the runtime's poller, so that its
// goroutine parks there between exits: no thread is blocked and nothing
// wakes up while no process exits.
//
// When a watched process exits, the goroutine reaps it if the manager
// spawned it (its status is the instance's) and then closes its exited
// channel, as the goroutine of each instance did.
type exitWatch struct {
	ep   *os.File // the epoll set, non-blocking
	epfd int      // ep's descriptor, used under mu while open
	done chan struct{}

	// mu guards what follows and orders each epoll_ctl on a pidfd before
	// the pidfd is closed (release removes it first), so that a
	// descriptor number never names another file by the time it is used.
	mu     sync.Mutex
	closed bool
	next   int32 // the id of the next pidfd added; ids name pidfds in the set
	ins    map[int32]watched
}

// watched is an instance in the set and its pidfd's descriptor.
type watched struct {
	in *instance
	fd int
}

func newExitWatch() (*exitWatch, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll set non-blocking: %w", err)
	}
	return &exitWatch{
		ep: os.NewFile(uintptr(fd), "epoll:exits"), epfd: fd, done: make(chan struct{}),
		ins: map[int32]watched{},
	}, nil
}

// add watches in's pidfd, which must stay open until remove. On a closed
// watch it watches nothing (in.exited never closes, as nobody waits for it
// any more) and leaves a spawned child to the process's reaper.
func (w *exitWatch) add(in *instance) error {
	fd := int(in.pidfd.Fd()) // a blocking pidfd: Fd changes nothing
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		if in.child {
			abandon(in.pid)
		}
		return nil
	}
	id := w.next
	for _, taken := w.ins[id]; taken; _, taken = w.ins[id] {
		id++ // after 2^32 adds, one still watched
	}
	w.next = id + 1
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: id}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("watch the exit of pid %d: epoll_ctl: %w", in.pid, err)
	}
	w.ins[id] = watched{in: in, fd: fd}
	in.watch, in.watchID = w, id
	return nil
}

// remove stops watching in, before its pidfd is closed. A spawned child
// that has not been reaped yet is left to the process's reaper.
func (w *exitWatch) remove(in *instance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.ins[in.watchID]
	if !ok || e.in != in {
		return // its exit was taken, or the watch closed
	}
	delete(w.ins, in.watchID)
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, e.fd, nil)
	if in.child {
		abandon(in.pid)
	}
}

// run waits for exits until close. It is the only reader of the set.
func (w *exitWatch) run() {
	defer close(w.done)
	rc, err := w.ep.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, 64)
	for {
		var n int
		var werr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, werr = unix.EpollWait(int(fd), events, 0)
				if !errors.Is(werr, unix.EINTR) {
					break
				}
			}
			// Nothing ready: park until the set becomes readable.
			return n != 0 || werr != nil
		})
		if err != nil || werr != nil {
			return // closed (or a set that cannot be read, which only a bug here could cause)
		}
		w.exited(events[:n])
	}
}

// exited takes the instances whose pidfds are readable out of the set,
// then reaps each child among them and closes every exited channel.
func (w *exitWatch) exited(events []unix.EpollEvent) {
	var gone []*instance
	w.mu.Lock()
	for _, ev := range events {
		e, ok := w.ins[ev.Fd]
		if !ok {
			continue // removed after epoll_wait reported it
		}
		delete(w.ins, ev.Fd)
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, e.fd, nil)
		gone = append(gone, e.in)
	}
	w.mu.Unlock()
	for _, in := range gone {
		if in.child {
			// Its pidfd is readable: it is a zombie, so wait4 returns at
			// once, and it holds the pid until then.
			in.status = reap(in.pid)
			unregister(in.pid)
		}
		close(in.exited)
	}
}

// close ends run and the watching: instances still watched are dropped
// (their exited channels stay open) and the spawned children among them
// are left to the process's reaper.
func (w *exitWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	for id, e := range w.ins {
		delete(w.ins, id)
		if e.in.child {
			abandon(e.in.pid)
		}
	}
	w.ep.Close() // wakes run, which then returns
}

// reap waits for the child pid, which has exited, and returns its exit
// status (-1 when wait4 fails, which only a bug here could cause).
func reap(pid int) int {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return -1
		}
		return exitStatus(ws)
	}
}
