package procmgr

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// cgroupFacts is what a listing reads of one process's cgroup.
type cgroupFacts struct {
	alias string
	id    uint64 // sock_diag's cgroup id of its sockets
	stats cgroup.Stats
	// stats.Processes counts cgroup.procs (processes, not threads).
	// members are listed only for an adopted process, whose older
	// sockets are found through its members' fds; nil otherwise.
	members []int
}

// readCgroup reads the cgroup of alias: its id, its usage and, with
// members, its processes. An alias without a cgroup is an error wrapping
// os.ErrNotExist.
//
// It reads the files itself rather than through Lookup and Stats: a
// listing does this for every process, and those take 15 system calls
// (an O_PATH open, ReadFile's fstat and second read, a try of each absent
// controller's file) where the id's stat, cpu.stat and cgroup.procs need
// 7, plus memory.current only where its controller is on. The count is
// of cgroup.procs, processes, where pids.current would count threads.
func readCgroup(h *cgroup.Hierarchy, alias string, members bool) (cgroupFacts, error) {
	name, err := cgroup.DirName(alias)
	if err != nil {
		return cgroupFacts{}, err
	}
	dir := h.Dir() + "/" + name
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return cgroupFacts{}, fmt.Errorf("cgroup of %s: %w", alias, &os.PathError{Op: "stat", Path: dir, Err: err})
	}
	f := cgroupFacts{alias: alias, id: st.Ino}
	if err := f.fill(func(file string, buf []byte) ([]byte, error) {
		return readSmall(dir+"/"+file, buf)
	}, slices.Contains(h.Controllers(), "memory"), members); err != nil {
		return cgroupFacts{}, err
	}
	return f, nil
}

// fill reads into f the usage of its cgroup, through read of each file:
// cpu.stat, memory.current (with memory, the controller being on) and
// cgroup.procs (its processes, listed with members). On error f is
// partly filled, for the caller to drop.
func (f *cgroupFacts) fill(read func(file string, buf []byte) ([]byte, error), memory, members bool) error {
	bp := cgroupBufs.Get().(*[]byte)
	defer cgroupBufs.Put(bp)
	b, err := read("cpu.stat", *bp)
	if err != nil {
		return fmt.Errorf("cgroup of %s: %w", f.alias, err)
	}
	f.cpuStat(b)
	if memory {
		if b, err := read("memory.current", *bp); err == nil {
			f.memoryCurrent(b)
		}
	}
	b, err = read("cgroup.procs", *bp)
	if err != nil {
		return fmt.Errorf("members of %s: %w", f.alias, err)
	}
	*bp = b[:0] // kept, grown for a cgroup of many processes
	f.procs(b, members)
	return nil
}

// cpuStat takes the CPU time from the contents of cpu.stat.
func (f *cgroupFacts) cpuStat(b []byte) {
	if v, ok := statField(b, "usage_usec "); ok {
		f.stats.CPUSeconds = float64(v) / 1e6
	}
}

// memoryCurrent takes the memory from the contents of memory.current.
func (f *cgroupFacts) memoryCurrent(b []byte) {
	if n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64); err == nil {
		f.stats.MemoryBytes = &n
	}
}

// procs counts the processes in the contents of cgroup.procs and, with
// members, lists them.
func (f *cgroupFacts) procs(b []byte, members bool) {
	pids := []int{}
	for field := range bytes.FieldsSeq(b) {
		if pid, err := strconv.Atoi(string(field)); err == nil {
			f.stats.Processes++
			if members {
				pids = append(pids, pid)
			}
		}
	}
	if members {
		f.members = pids
	}
}

// cgroupFiles are the files of one cgroup that a listing reads, held
// open (see openFiles): one pread each instead of an open, a read and a
// close, and no stat of the directory for its id.
type cgroupFiles struct {
	dir string
	id  uint64 // the directory's inode: sock_diag's cgroup id
	// fds; memory is -1 without the memory controller.
	cpuStat, procs, memory int
}

// openCgroupFiles opens the files of alias's cgroup. They are opened
// relative to the directory, whose id is taken from the same open, so
// that all are of one cgroup even if it is removed and made again
// meanwhile. The error wraps os.ErrNotExist when alias has no cgroup.
func openCgroupFiles(h *cgroup.Hierarchy, alias string) (*cgroupFiles, error) {
	name, err := cgroup.DirName(alias)
	if err != nil {
		return nil, err
	}
	dir := h.Dir() + "/" + name
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup of %s: %w", alias, &os.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return nil, fmt.Errorf("cgroup of %s: %w", alias, &os.PathError{Op: "stat", Path: dir, Err: err})
	}
	c := &cgroupFiles{dir: dir, id: st.Ino, cpuStat: -1, procs: -1, memory: -1}
	open := func(name string) (int, error) {
		for {
			fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != unix.EINTR {
				if err != nil {
					return -1, fmt.Errorf("cgroup of %s: %w", alias, &os.PathError{Op: "open", Path: dir + "/" + name, Err: err})
				}
				return fd, nil
			}
		}
	}
	if c.cpuStat, err = open("cpu.stat"); err != nil {
		return nil, err
	}
	if c.procs, err = open("cgroup.procs"); err != nil {
		c.close()
		return nil, err
	}
	if slices.Contains(h.Controllers(), "memory") {
		// As readCgroup: a memory.current that cannot be read is no figure.
		c.memory, _ = open("memory.current")
	}
	return c, nil
}

// fds are the fds c holds.
func (c *cgroupFiles) fds() []int { return []int{c.cpuStat, c.procs, c.memory} }

// close closes its files.
func (c *cgroupFiles) close() {
	for _, fd := range c.fds() {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	c.cpuStat, c.procs, c.memory = -1, -1, -1
}

// read reads what readCgroup reads, through the held files. Once the
// cgroup is removed, each read fails (ENODEV).
func (c *cgroupFiles) read(alias string, members bool) (cgroupFacts, error) {
	f := cgroupFacts{alias: alias, id: c.id}
	if err := f.fill(func(file string, buf []byte) ([]byte, error) {
		fd := c.procs
		switch file {
		case "cpu.stat":
			fd = c.cpuStat
		case "memory.current":
			fd = c.memory
		}
		return preadSmall(fd, c.dir, file, buf)
	}, c.memory >= 0, members); err != nil {
		return cgroupFacts{}, err
	}
	return f, nil
}

// cgroupBufs are readCgroup's read buffers, one per concurrent reader.
var cgroupBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readSmall reads a cgroup interface file into buf's storage, growing it
// for a long cgroup.procs (see procfs.PreadAll).
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf, err = procfs.PreadAll(fd, buf)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return buf, nil
}

// preadSmall is readSmall of the file open as fd, which stays open. dir
// and name name it in errors (joined only then: this is once per process
// and file of every listing).
func preadSmall(fd int, dir, name string, buf []byte) ([]byte, error) {
	buf, err := procfs.PreadAll(fd, buf)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: dir + "/" + name, Err: err}
	}
	return buf, nil
}

// fdBudget is how many fds listings may hold open (openFiles): half the
// open-files limit.
func fdBudget() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return int(min(l.Cur/2, 1<<24))
}

// statField finds "key value" in a flat-keyed file such as cpu.stat.
func statField(b []byte, key string) (uint64, bool) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
			n, err := strconv.ParseUint(string(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// cgroupMembers lists the processes of c's cgroup, read again when
// readCgroup did not.
func cgroupMembers(h *cgroup.Hierarchy, c *cgroupFacts) ([]int, error) {
	if c.members != nil {
		return c.members, nil
	}
	again, err := readCgroup(h, c.alias, true)
	return again.members, err
}

// cgroupStats reads the usage of alias's cgroup, for the metrics.
func cgroupStats(h *cgroup.Hierarchy, alias string) (cgroup.Stats, error) {
	f, err := readCgroup(h, alias, false)
	return f.stats, err
}
