package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroup is the cgroup of one process alias. It holds an O_PATH
// descriptor of its directory until Close. Its methods may be called from
// any goroutine.
type Cgroup struct {
	h        *Hierarchy
	alias    string
	dir      string
	procPath string // as /proc/PID/cgroup names it; "" when unknown
	fd       int
	id       uint64
}

// FD is the cgroup directory's descriptor, for exec.Cmd's
// SysProcAttr{UseCgroupFD: true, CgroupFD: c.FD()}: the child is cloned
// straight into the cgroup (clone3 CLONE_INTO_CGROUP, Linux 5.7).
func (c *Cgroup) FD() int { return c.fd }

// ID is the cgroup's id: its directory's inode number, which sock_diag
// reports for the sockets its processes create.
func (c *Cgroup) ID() uint64 { return c.id }

// Dir is the cgroup's directory, for messages.
func (c *Cgroup) Dir() string { return c.dir }

// Alias is the alias the cgroup is named after.
func (c *Cgroup) Alias() string { return c.alias }

// Procs lists the pids of the cgroup's processes (exited ones not yet
// reaped are not members any more).
func (c *Cgroup) Procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", c.alias, err)
	}
	var pids []int
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Holds reports whether pid is a member. It reads /proc/PID/cgroup, one
// line of which names the process's cgroup v2: a small read, where
// cgroup.procs walks every member under a lock that all cgroups share (an
// agent restarting over 1000 processes asks once for each). When that
// line names another cgroup, or cannot be read or mapped to this one, the
// answer is cgroup.procs'.
func (c *Cgroup) Holds(pid int) (bool, error) {
	if c.procPath != "" && procCgroup(pid) == c.procPath {
		return true, nil
	}
	pids, err := c.Procs()
	if err != nil {
		return false, err
	}
	return slices.Contains(pids, pid), nil
}

// procCgroup returns the cgroup v2 path of /proc/PID/cgroup, or "". It
// reads with bare system calls into a buffer on the stack: os.ReadFile
// would stat the file twice more and allocate.
func procCgroup(pid int) string {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/cgroup", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var b [2048]byte // more than enough for one line per hierarchy
	n, err := unix.Read(fd, b[:])
	if err != nil {
		return ""
	}
	p, _ := ParseSelfCgroup(b[:n])
	return p
}

// Populated says whether the cgroup (or a cgroup below it) has a live
// process, from cgroup.events. A process that has exited but is not yet
// reaped does not count: the agent must still wait for its own child.
func (c *Cgroup) Populated() (bool, error) {
	return readPopulated(c.dir)
}

func readPopulated(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return v == "1", nil
		}
	}
	return false, fmt.Errorf("%s/cgroup.events: no populated line", dir)
}

// Kill SIGKILLs every member at once, new forks included, through
// cgroup.kill (Linux 5.14). Older kernels get killAll: freeze, SIGKILL
// every pid of cgroup.procs until none is left. It returns once the
// signals are sent; Empty says when the members are gone.
func (c *Cgroup) Kill() error {
	err := writeFile(filepath.Join(c.dir, "cgroup.kill"), "1")
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		err = c.killAll()
	}
	if err != nil {
		return fmt.Errorf("kill cgroup of %s: %w", c.alias, err)
	}
	return nil
}

// killAll is Kill without cgroup.kill. The cgroup is frozen (Linux 5.2)
// where it can be, so that no member forks between the listing and the
// signal; SIGKILL goes through cgroup v2's freezer. Rounds repeat until a
// listing is empty, for at most 10 s.
func (c *Cgroup) killAll() error {
	freeze := filepath.Join(c.dir, "cgroup.freeze")
	frozen := writeFile(freeze, "1") == nil
	defer func() {
		if frozen {
			writeFile(freeze, "0")
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pids, err := c.Procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				return fmt.Errorf("kill %d: %w", pid, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes left after SIGKILL", len(pids))
		}
	}
}

// Signal sends sig to every current member, for a stop signal meant for
// the whole cgroup. A member forked meanwhile may be missed; Kill does not
// miss any.
func (c *Cgroup) Signal(sig syscall.Signal) error {
	pids, err := c.Procs()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			return fmt.Errorf("signal %d of %s: %w", pid, c.alias, err)
		}
	}
	return nil
}

// Move puts pid (and its threads) into the cgroup, for a process the agent
// adopts; its later children are born there.
func (c *Cgroup) Move(pid int) error {
	if err := writeFile(filepath.Join(c.dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("move %d into cgroup of %s: %w", pid, c.alias, err)
	}
	return nil
}

// Stats reads what the cgroup uses now.
func (c *Cgroup) Stats() (Stats, error) {
	var s Stats
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		return s, fmt.Errorf("stats of %s: %w", c.alias, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return s, fmt.Errorf("stats of %s: cpu.stat usage_usec %q: %w", c.alias, v, err)
			}
			s.CPUSeconds = float64(us) / 1e6
		}
	}
	if n, err := readUint(filepath.Join(c.dir, "pids.current")); err == nil {
		s.Processes = int(n)
	} else {
		pids, err := c.Procs()
		if err != nil {
			return s, err
		}
		s.Processes = len(pids)
	}
	if n, err := readUint(filepath.Join(c.dir, "memory.current")); err == nil {
		s.MemoryBytes = &n
	}
	return s, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
}

// SetLimits writes l's limits (those not zero) to the cgroup. A limit
// whose controller is not enabled is an error wrapping ErrNoController,
// and nothing is written. cpu_max is taken as ParseCPUMax gives it.
func (c *Cgroup) SetLimits(l Limits) error {
	if err := c.h.CheckLimits(l); err != nil {
		return fmt.Errorf("limits of %s: %w", c.alias, err)
	}
	set := func(file, v string) error {
		if err := writeFile(filepath.Join(c.dir, file), v); err != nil {
			return fmt.Errorf("limits of %s: %s %q: %w", c.alias, file, v, err)
		}
		return nil
	}
	if l.MemoryMax > 0 {
		if err := set("memory.max", strconv.FormatUint(l.MemoryMax, 10)); err != nil {
			return err
		}
	}
	if l.CPUMax != "" {
		if err := set("cpu.max", l.CPUMax); err != nil {
			return err
		}
	}
	if l.PidsMax > 0 {
		if err := set("pids.max", strconv.FormatInt(l.PidsMax, 10)); err != nil {
			return err
		}
	}
	return nil
}

// Remove removes the cgroup's directory once it is empty and closes c.
// A populated cgroup is ErrPopulated. The kernel may answer EBUSY for a
// moment after the last member exits (it is released asynchronously): that
// is retried for up to 5 s.
func (c *Cgroup) Remove() error {
	if pop, err := c.Populated(); err == nil && pop {
		return fmt.Errorf("remove cgroup of %s: %w: %s", c.alias, ErrPopulated, c.dir)
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err = unix.Rmdir(c.dir)
		if err != unix.EBUSY || time.Now().After(deadline) {
			break
		}
	}
	if err != nil && err != unix.ENOENT {
		if err == unix.EBUSY {
			return fmt.Errorf("remove cgroup of %s: %s still busy (a member or a child cgroup is left): %w", c.alias, c.dir, err)
		}
		return fmt.Errorf("remove cgroup of %s: %w", c.alias, err)
	}
	return c.Close()
}

// Close releases the descriptor and stops watching for emptiness; the
// cgroup itself stays.
func (c *Cgroup) Close() error {
	c.h.mu.Lock()
	w := c.h.watch
	c.h.mu.Unlock()
	if w != nil {
		w.forget(c)
	}
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}
