package procmgr

import (
	"errors"
	"os"
	"slices"
	"sync"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// openFiles are the files that listings read of each managed process
// (/proc/PID/stat, cmdline, and status or a pidfd) and of its cgroup
// (cpu.stat, cgroup.procs, memory.current), held open from one listing to
// the next.
// Reading a held file again is one pread; a fresh one also costs a path
// walk, an open and a close, which measured two thirds of a listing's
// time. What is read is the kernel's answer at each read, never a copy:
// the files are held, not their contents.
//
// A held file names what it was opened for: a /proc file its process (a
// reaped process's files fail to read, whoever has its pid now), a cgroup
// file its cgroup (a removed cgroup's fail, even when one of the same name
// is made again). A file that fails is closed and opened afresh once, so
// that each answer is the one fresh files would give. The files of the
// processes a full listing did not show are closed at its end (keepOnly),
// and all of them when the manager closes.
//
// They take about five fds per running process, which the agent's other
// work must never lack: beyond half the open-files limit (RLIMIT_NOFILE;
// the unit sets 655350, but a hard limit of 4096 is found on older hosts)
// no more are held, and the processes beyond read fresh files.
//
// The zero value is ready; a nil *openFiles holds nothing, and its
// callers read fresh files.
type openFiles struct {
	mu      sync.Mutex
	closed  bool
	byAlias map[string]*aliasFiles
	// held has a bit set for each fd held, set once it is open and
	// cleared before it is closed, for the agent's scan of its own fds
	// (notSockets); count is how many, and how many are reserved to be.
	held  procfs.FDSet
	count int
	// budget is how many fds may be held: half the open-files limit,
	// read at the first listing (budgetSet).
	budget    int
	budgetSet bool
}

// aliasFiles are the files held for one alias. mu is held while they are
// read, or closed and opened again: by one listing's reads of the one
// process, a few µs.
type aliasFiles struct {
	mu sync.Mutex
	// dropped: closed and out of the table; a reader that found it before
	// reads fresh files.
	dropped bool
	proc    *procfs.Process // nil when none is open
	cg      *cgroupFiles    // nil when none is open
}

// entry returns the files of alias, added empty when there are none yet;
// nil when f is nil or closed.
func (f *openFiles) entry(alias string) *aliasFiles {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	e := f.byAlias[alias]
	if e == nil {
		if f.byAlias == nil {
			f.byAlias = make(map[string]*aliasFiles)
		}
		e = &aliasFiles{}
		f.byAlias[alias] = e
	}
	return e
}

// reserve takes room for n fds to be held, if the budget has it; hold
// then gives back what the files opened did not take, and unreserve all
// of it when they could not be opened.
func (f *openFiles) reserve(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.budgetSet {
		f.budget, f.budgetSet = fdBudget(), true
	}
	if f.count+n > f.budget {
		return false
	}
	f.count += n
	return true
}

func (f *openFiles) unreserve(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count -= n
}

// hold records fds, for which reserved were reserved, as held.
func (f *openFiles) hold(fds []int, reserved int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fd := range fds {
		if fd >= 0 && f.held.Add(fd) {
			reserved--
		}
	}
	f.count -= reserved
}

// release forgets fds as held, before they are closed.
func (f *openFiles) release(fds []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fd := range fds {
		if f.held.Remove(fd) {
			f.count--
		}
	}
}

// notSockets are the agent's fds that are held files, a snapshot taken
// now. Taken after the socket tables, it is exact for a listing: an fd
// that was held at the snapshot and is a socket by the time it is looked
// at belongs to a socket made after the tables were read, which is none
// of the listing's ports.
func (f *openFiles) notSockets() procfs.FDSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.held)
}

// keepOnly closes the files of every alias but those of targets, the
// processes a full listing showed: the others are not running.
func (f *openFiles) keepOnly(targets []Target) {
	if f == nil {
		return
	}
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t.Alias] = true
	}
	f.mu.Lock()
	var drop []*aliasFiles
	for alias, e := range f.byAlias {
		if !keep[alias] {
			drop = append(drop, e)
			delete(f.byAlias, alias)
		}
	}
	f.mu.Unlock()
	f.drop(drop)
}

// close closes every file held, and makes f hold none from now on.
func (f *openFiles) close() {
	f.mu.Lock()
	f.closed = true
	drop := make([]*aliasFiles, 0, len(f.byAlias))
	for _, e := range f.byAlias {
		drop = append(drop, e)
	}
	f.byAlias = nil
	f.mu.Unlock()
	f.drop(drop)
}

// drop closes the files of entries taken out of the table.
func (f *openFiles) drop(entries []*aliasFiles) {
	for _, e := range entries {
		e.mu.Lock()
		e.dropped = true
		f.closeProc(e)
		f.closeCgroup(e)
		e.mu.Unlock()
	}
}

func (f *openFiles) closeProc(e *aliasFiles) {
	if e.proc != nil {
		fds := e.proc.FDs()
		f.release(fds[:])
		e.proc.Close()
		e.proc = nil
	}
}

func (f *openFiles) closeCgroup(e *aliasFiles) {
	if e.cg != nil {
		f.release(e.cg.fds())
		e.cg.close()
		e.cg = nil
	}
}

// errReadFresh says that held files could not be had (out of fds, say),
// and the caller should read fresh ones, as without openFiles.
var errReadFresh = errors.New("read fresh files")

// stat reads the stat of t's process through e's files, opened first when
// none are open or they are another pid's. It answers as fs.Stat(t.PID)
// would: held files that fail, show a zombie or another start time are
// closed and opened once more, since the pid may name a new process. The
// files stay open only while they show t's process alive.
func (f *openFiles) stat(e *aliasFiles, fsys procfs.FS, t Target) (procfs.Stat, error) {
	for fresh := false; ; fresh = true {
		if e.proc == nil || e.proc.PID() != t.PID {
			f.closeProc(e)
			const n = 3 // stat, cmdline, pidfd or status
			if !f.reserve(n) {
				return procfs.Stat{}, errReadFresh
			}
			p, err := fsys.OpenProcess(t.PID)
			if err != nil {
				f.unreserve(n)
				if errors.Is(err, os.ErrNotExist) {
					return procfs.Stat{}, err
				}
				return procfs.Stat{}, errReadFresh
			}
			fds := p.FDs()
			f.hold(fds[:], n)
			e.proc, fresh = p, true
		}
		st, err := e.proc.Stat()
		if err == nil && liveTarget(st, t.Ticks) {
			return st, nil
		}
		f.closeProc(e)
		if fresh {
			return st, err
		}
	}
}

// cgroup reads the cgroup of alias through e's files, opened first when
// none are open. It answers as readCgroup would: held files that fail
// (their cgroup was removed, and maybe made again) are closed and opened
// once more.
func (f *openFiles) cgroup(e *aliasFiles, h *cgroup.Hierarchy, alias string, members bool) (cgroupFacts, error) {
	for fresh := false; ; fresh = true {
		if e.cg == nil {
			const n = 3 // cpu.stat, cgroup.procs, memory.current
			if !f.reserve(n) {
				return readCgroup(h, alias, members)
			}
			c, err := openCgroupFiles(h, alias)
			if err != nil {
				f.unreserve(n)
				if errors.Is(err, os.ErrNotExist) {
					return cgroupFacts{}, err
				}
				return readCgroup(h, alias, members)
			}
			f.hold(c.fds(), n)
			e.cg, fresh = c, true
		}
		c, err := e.cg.read(alias, members)
		if err == nil {
			return c, nil
		}
		f.closeCgroup(e)
		if fresh {
			return c, err
		}
	}
}
