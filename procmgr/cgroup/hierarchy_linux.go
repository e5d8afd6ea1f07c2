package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Hierarchy is the agent's root cgroup, whose children are the processes'
// cgroups. Its methods are safe for concurrent use.
type Hierarchy struct {
	root        string
	procRoot    string   // root as /proc/PID/cgroup names it; "" when unknown
	controllers []string // enabled in root's cgroup.subtree_control
	note        string   // what did not work while setting up, for Describe

	// mu guards watch, started by the first Empty and used by every
	// Cgroup's Close.
	mu    sync.Mutex
	watch *watcher
}

// wanted are the controllers the agent enables for its processes' cgroups
// when the root has them: what Stats and Limits use.
var wanted = []string{"cpu", "memory", "pids"}

// ReadHost reads what Resolve needs from this machine.
func ReadHost() (Host, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Host{}, err
	}
	sc, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Host{}, err
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	sd := strings.TrimSpace(string(comm)) == "systemd" || os.Getenv("INVOCATION_ID") != "" || os.Getenv("NOTIFY_SOCKET") != ""
	return Host{MountInfo: mi, SelfCgroup: sc, Systemd: sd}, nil
}

// Open resolves setting (see Resolve) on this machine and sets the root
// up: it creates it, moves the agent into the leaf AgentLeaf when the agent
// lives in the root, and enables the cpu, memory and pids controllers the
// root has in its cgroup.subtree_control (best effort: Controllers says
// which are on). It returns nil and a description when cgroups are off:
// "off" in the config, or "auto" where no writable cgroup2 works (then with
// the reason). An explicit path that cannot be used is an error. The
// description is for the log, /healthz and config check.
func Open(setting string) (*Hierarchy, string, error) {
	h, err := ReadHost()
	if err != nil {
		return nil, "", fmt.Errorf("cgroup: %w", err)
	}
	plan, err := Resolve(setting, h)
	if err != nil {
		return nil, "", err
	}
	if plan.Root == "" {
		return nil, offDescription(plan.Reason), nil
	}
	hi, err := setup(plan)
	if err != nil {
		if setting == "auto" || setting == "" {
			return nil, offDescription(err.Error()), nil
		}
		return nil, "", err
	}
	return hi, hi.Describe(), nil
}

func offDescription(reason string) string {
	return "off: process groups and a child subreaper (" + reason + ")"
}

// setup makes the plan's root usable.
func setup(p Plan) (*Hierarchy, error) {
	if err := os.Mkdir(p.Root, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cgroup root: %w", err)
	}
	if _, err := os.Stat(filepath.Join(p.Root, "cgroup.procs")); err != nil {
		return nil, fmt.Errorf("cgroup root %s: not a cgroup: %w", p.Root, err)
	}
	if err := unix.Access(filepath.Join(p.Root, "cgroup.procs"), unix.W_OK); err != nil {
		return nil, fmt.Errorf("cgroup root %s: not writable: %w", p.Root, err)
	}
	h := &Hierarchy{root: p.Root, procRoot: procPath(p, p.Root)}
	var notes []string
	if p.Self == p.Root {
		// No internal processes: the agent leaves the root for a leaf
		// before controllers are enabled for the root's children.
		leaf := filepath.Join(p.Root, AgentLeaf)
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cgroup leaf for the agent: %w", err)
		}
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
			return nil, fmt.Errorf("move the agent into %s: %w", leaf, err)
		}
	}
	avail, _ := readFields(filepath.Join(p.Root, "cgroup.controllers"))
	for _, c := range wanted {
		if !slices.Contains(avail, c) {
			continue
		}
		if err := writeFile(filepath.Join(p.Root, "cgroup.subtree_control"), "+"+c); err != nil {
			notes = append(notes, fmt.Sprintf("enable %s: %v", c, err))
		}
	}
	on, _ := readFields(filepath.Join(p.Root, "cgroup.subtree_control"))
	for _, c := range wanted {
		if slices.Contains(on, c) {
			h.controllers = append(h.controllers, c)
		}
	}
	if p.Reason != "" {
		notes = append([]string{p.Reason}, notes...)
	}
	h.note = strings.Join(notes, "; ")
	return h, nil
}

// Dir is the root's directory.
func (h *Hierarchy) Dir() string { return h.root }

// Controllers are the controllers enabled for the processes' cgroups.
func (h *Hierarchy) Controllers() []string { return slices.Clone(h.controllers) }

// Describe says where the cgroups are and what they can do, e.g.
// "cgroup v2 at /sys/fs/cgroup/ocp-agent, controllers cpu memory pids".
func (h *Hierarchy) Describe() string {
	s := "cgroup v2 at " + h.root
	if len(h.controllers) == 0 {
		s += ", no controllers (no memory or limits; CPU time from cpu.stat)"
	} else {
		s += ", controllers " + strings.Join(h.controllers, " ")
	}
	if h.note != "" {
		s += " (" + h.note + ")"
	}
	return s
}

// CheckLimits says whether l can be applied: an error wrapping
// ErrNoController names each limit whose controller is not enabled. It
// serves config checks before any process's cgroup exists.
func (h *Hierarchy) CheckLimits(l Limits) error {
	for _, c := range l.controllers() {
		if !slices.Contains(h.controllers, c) {
			return h.noController(c)
		}
	}
	return nil
}

var limitKey = map[string]string{"memory": "memory_max", "cpu": "cpu_max", "pids": "pids_max"}

func (h *Hierarchy) noController(c string) error {
	return fmt.Errorf("%w: %s needs the %s controller, which is not enabled in %s (its cgroup.controllers lacks it: on a hybrid cgroup v1/v2 host the controllers belong to v1; under systemd, the unit needs Delegate=yes)",
		ErrNoController, limitKey[c], c, h.root)
}

// Create makes the cgroup of alias afresh and opens it. An empty one left
// from before is removed and made again: once a cgroup has been killed
// through cgroup.kill, this kernel SIGKILLs every child later cloned into
// it with CLONE_INTO_CGROUP (the kill sequence the fork compares is read
// from the parent's cgroup, not the target's), so a start after a stop
// that needed SIGKILL would die at once. When it cannot be removed (a
// child cgroup made by someone else), it is reused. A populated one is
// ErrPopulated: adopt it through Lookup instead.
func (h *Hierarchy) Create(alias string) (*Cgroup, error) {
	name, err := DirName(alias)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(h.root, name)
	if pop, err := readPopulated(dir); err == nil && !pop {
		_ = unix.Rmdir(dir)
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cgroup of %s: %w", alias, err)
	}
	c, err := h.open(alias, dir)
	if err != nil {
		return nil, err
	}
	if pop, err := c.Populated(); err != nil || pop {
		c.Close()
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrPopulated, dir)
		}
		return nil, fmt.Errorf("cgroup of %s: %w", alias, err)
	}
	return c, nil
}

// Lookup opens the existing cgroup of alias, for adoption after an agent
// restart: a populated cgroup named after an alias is that process, even
// when the state_dir was lost. A missing one is an error wrapping
// os.ErrNotExist.
func (h *Hierarchy) Lookup(alias string) (*Cgroup, error) {
	name, err := DirName(alias)
	if err != nil {
		return nil, err
	}
	return h.open(alias, filepath.Join(h.root, name))
}

// Aliases lists the aliases that have a cgroup under the root, populated
// or not (so that the cgroups of aliases gone from the config are found).
func (h *Hierarchy) Aliases() ([]string, error) {
	es, err := os.ReadDir(h.root)
	if err != nil {
		return nil, fmt.Errorf("list cgroups: %w", err)
	}
	var as []string
	for _, e := range es {
		if a, ok := AliasOf(e.Name()); ok && e.IsDir() {
			as = append(as, a)
		}
	}
	return as, nil
}

func (h *Hierarchy) open(alias, dir string) (*Cgroup, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup of %s: %w", alias, &os.PathError{Op: "open", Path: dir, Err: err})
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cgroup of %s: stat %s: %w", alias, dir, err)
	}
	c := &Cgroup{h: h, alias: alias, dir: dir, fd: fd, id: st.Ino}
	if h.procRoot != "" {
		c.procPath = path.Join(h.procRoot, filepath.Base(dir))
	}
	return c, nil
}

// Close stops the watcher of emptiness, if one was started. Open Cgroups
// must not be waited on afterwards.
func (h *Hierarchy) Close() error {
	h.mu.Lock()
	w := h.watch
	h.watch = nil
	h.mu.Unlock()
	if w != nil {
		return w.close()
	}
	return nil
}

func writeFile(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readFields(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	return strings.Fields(string(b)), err
}

// Preview says what Open would choose for setting, without making or
// moving anything (for `config check`): Describe's "cgroup v2 at ..." or
// "off: ...". Whether the root can be made is only known when Open tries.
func Preview(setting string) (string, error) {
	h, err := ReadHost()
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	plan, err := Resolve(setting, h)
	if err != nil {
		return "", err
	}
	if plan.Root == "" {
		return offDescription(plan.Reason), nil
	}
	return "cgroup v2 at " + plan.Root, nil
}
