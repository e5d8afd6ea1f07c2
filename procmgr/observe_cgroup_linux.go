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
	bp := cgroupBufs.Get().(*[]byte)
	defer cgroupBufs.Put(bp)
	b, err := readSmall(dir+"/cpu.stat", *bp)
	if err != nil {
		return cgroupFacts{}, fmt.Errorf("cgroup of %s: %w", alias, err)
	}
	if v, ok := statField(b, "usage_usec "); ok {
		f.stats.CPUSeconds = float64(v) / 1e6
	}
	controllers := h.Controllers()
	if slices.Contains(controllers, "memory") {
		if b, err := readSmall(dir+"/memory.current", *bp); err == nil {
			if n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64); err == nil {
				f.stats.MemoryBytes = &n
			}
		}
	}
	b, err = readSmall(dir+"/cgroup.procs", *bp)
	if err != nil {
		return cgroupFacts{}, fmt.Errorf("members of %s: %w", alias, err)
	}
	*bp = b[:0] // kept, grown for a cgroup of many processes
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
	return f, nil
}

// cgroupBufs are readCgroup's read buffers, one per concurrent reader.
var cgroupBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readSmall reads a cgroup interface file into buf's storage, growing it
// for a long cgroup.procs. The files are seq_files, whose read fills the
// buffer as far as there is data: a short read is the end, which saves
// the read that would return 0.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if n == 0 || short {
			return buf, nil
		}
	}
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
