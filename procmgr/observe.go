package procmgr

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ocp-agent/ocp-agent/internal/parallel"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// Observation is one pass over the process table and the socket tables,
// shared by every process of one listing (and by concurrent listings,
// which the agent lets share one), so that a listing costs one scan of
// /proc and one sock_diag query however many processes it shows. It is
// read-only once taken, hence safe for concurrent use.
//
// With cgroups (a Manager's Observe), a managed process's members are its
// cgroup's and its ports come from the sock_diag dump grouped by cgroup id,
// so that no pass over every process on the host is made for it: the tree
// is taken only when some target needs it (see needsTree), and then once.
//
// What each process's facts need beyond that is read from /proc directly
// with procfs, not through gopsutil: its per-process setup parses all of
// /proc/PID/status into a struct, which the profile showed to cost twice
// as much, with six times the allocations, as reading the one Uid line;
// the files read and the facts reported are the same. A Manager's
// observations read a managed process's files through the files it holds
// open from one listing to the next (openFiles), one system call each.
type Observation struct {
	fs procfs.FS
	// stats holds every process's stat when the tree came from the stat
	// files (a kernel without PIDFD_GET_INFO); it is nil when it came
	// from pidfds, and facts reads the stat of each process it reports.
	stats map[int]procfs.Stat
	// ruid holds every process's real uid when the tree came from
	// pidfds; nil otherwise, and facts reads /proc/PID/status.
	ruid       map[int]int
	tree       *procfs.Tree
	sockets    procfs.SocketTable
	socketsErr error
	// cg is the hierarchy of the processes' cgroups; nil when off.
	cg *cgroup.Hierarchy
	// files are the manager's held files, read instead of fresh ones for
	// the targets with an alias; nil reads fresh files.
	files *openFiles
	// own are the agent's own ports when observeFacts found them with
	// the pass (scanOwnPorts); nil otherwise. Set before the facts are
	// finished, read-only after.
	own *ownPorts
	// byCgroup holds the dump's ports by cgroup id; nil without cgroups,
	// or where the kernel does not give the ids (then each cgroup's
	// members' fds are scanned).
	byCgroup procfs.CgroupPorts
	// treeOnce takes the tree on first need when the scan did not (with
	// cgroups); treeErr is its error, and tree stays empty after one.
	treeOnce  sync.Once
	treeErr   error
	sinceBoot time.Duration // CLOCK_BOOTTIME at the observation, for Elapsed
	bootErr   error
	At        time.Time
}

// Facts is what /proc says of one process at the time of an Observation.
type Facts struct {
	// Alive: the pid exists, is not a zombie, and has the expected start
	// time. When false, the other fields are empty.
	Alive   bool
	User    string // name of the real uid, or the number when it has none
	Cmdline string // arguments joined by spaces
	// Ports are the listening TCP and bound UDP ports of the process, its
	// descendants and its process group, ascending. PortsKnown is false
	// when some of their file descriptors could not be read.
	Ports      []uint16
	PortsKnown bool
	Elapsed    time.Duration
	// Processes counts the processes of its cgroup, or without cgroups
	// of its family (the process, its descendants and its group).
	Processes int
	// CPUSeconds is the CPU time its cgroup has used (cpu.stat); without
	// cgroups, that of its family's live members and of the children
	// they reaped (familyCPUSeconds), which may drop when one exits.
	CPUSeconds float64
	// MemoryBytes is its cgroup's memory.current; nil without cgroups or
	// without the memory controller.
	MemoryBytes *uint64
}

// Observe takes the process table and the socket tables once.
func Observe(fsys procfs.FS) (*Observation, error) {
	return observe(fsys, nil, nil)
}

// Observe is procmgr.Observe with the manager's cgroups: the socket tables
// grouped by cgroup, and the process table only when a target asks for it.
func (m *Manager) Observe() (*Observation, error) {
	return observe(m.fs, m.cgroups, &m.files)
}

func observe(fsys procfs.FS, h *cgroup.Hierarchy, files *openFiles) (*Observation, error) {
	o := newObservation(fsys, h, files)
	if err := o.scan(h == nil); err != nil {
		return nil, err
	}
	return o, nil
}

// ObserveFacts is Observe followed by FactsOf(targets), in less time: what
// each target needs beyond the pass over the host (its stat and command
// line) is read on the other cores while that pass runs, instead of after
// it. A listing of 100 processes otherwise waited about 0.9 ms, a quarter
// of its time, for the pass alone on one core.
func ObserveFacts(fsys procfs.FS, targets []Target) (*Observation, []Facts, error) {
	return observeFacts(fsys, nil, nil, targets)
}

// ObserveFacts is procmgr.ObserveFacts with the manager's cgroups and its
// held files (see openFiles): a target with an Alias whose cgroup exists
// needs no pass over the host, and its files are read without being
// opened. targets are all the processes a listing shows: the files held
// for any other alias are closed.
func (m *Manager) ObserveFacts(targets []Target) (*Observation, []Facts, error) {
	o, facts, err := observeFacts(m.fs, m.cgroups, &m.files, targets)
	m.files.keepOnly(targets)
	return o, facts, err
}

func observeFacts(fsys procfs.FS, h *cgroup.Hierarchy, files *openFiles, targets []Target) (*Observation, []Facts, error) {
	o := newObservation(fsys, h, files)
	tree := slices.ContainsFunc(targets, o.needsTree)
	if tree && !fsys.MayAskPidfds() {
		// The pass reads every stat file, the targets' too: they are
		// taken from it after the pass rather than read twice.
		if err := o.scan(true); err != nil {
			return nil, nil, err
		}
		return o, o.FactsOf(targets), nil
	}
	own := make([]ownFacts, len(targets))
	var err error
	// Item 0 is the pass, taken first; whichever core is free takes the
	// next item, so that the one done with the pass joins the rest.
	parallel.For(len(targets)+1, 2, func(i int) {
		if i == 0 {
			if err = o.scan(tree); err == nil {
				o.scanOwnPorts(targets)
			}
			return
		}
		own[i-1] = o.readOwn(targets[i-1], false)
	})
	if err != nil {
		return nil, nil, err
	}
	return o, o.finishAll(targets, own), nil
}

func newObservation(fsys procfs.FS, h *cgroup.Hierarchy, files *openFiles) *Observation {
	if fsys.Root == "" {
		fsys = procfs.Default
	}
	return &Observation{fs: fsys, cg: h, files: files, At: time.Now()}
}

// needsTree says whether t's facts need the pass over every process: all
// do without cgroups; with them, only a managed process named by no alias.
// (The agent's ports are then its own sockets, see agentPorts; a process
// whose cgroup turns out to be missing takes the tree late, see family.)
func (o *Observation) needsTree(t Target) bool {
	return o.cg == nil || (!t.Agent && t.Alias == "")
}

// scan is the pass over the host: with tree, every process's place in the
// tree; always the socket tables.
func (o *Observation) scan(tree bool) error {
	if tree {
		o.treeOnce.Do(func() { o.treeErr = o.scanTree() })
		if o.treeErr != nil {
			return o.treeErr
		}
	}
	if o.cg != nil {
		o.sockets, o.byCgroup, o.socketsErr = o.fs.SocketsByCgroup()
	} else {
		o.sockets, o.socketsErr = o.fs.Sockets()
	}
	o.sinceBoot, o.bootErr = procfs.SinceBoot()
	return nil
}

// scanOwnPorts finds the agent's own ports, when a target asks for them
// with cgroups (see finish), right after the pass and on the same core:
// the scan of the agent's fds is the longest item of a listing (a fifth of
// its time with 100 processes), which left for when the facts are
// finished kept the other core waiting. It must follow the socket tables
// (see openFiles.notSockets).
func (o *Observation) scanOwnPorts(targets []Target) {
	for _, t := range targets {
		if t.Agent && o.cg != nil {
			ports, known := o.ports(nil, []int{t.PID})
			o.own = &ownPorts{pid: t.PID, ports: ports, known: known}
			return
		}
	}
}

// ownPorts are the agent's own ports, found by scanOwnPorts.
type ownPorts struct {
	pid   int
	ports []uint16
	known bool
}

// lateTree is the tree for a target that needs it although the scan did
// not take it; taken once, on first need. After an error it is empty, and
// the ports it would have found are unknown.
func (o *Observation) lateTree() (*procfs.Tree, bool) {
	o.treeOnce.Do(func() { o.treeErr = o.scanTree() })
	if o.treeErr != nil || o.tree == nil {
		return procfs.NewTree(nil), false
	}
	return o.tree, true
}

// scanTree visits every process on the host, to find the managed ones'
// descendants and groups.
func (o *Observation) scanTree() error {
	// Pidfds answer that in a third of the time the stat files take
	// (procfs.AllKin), where the kernel has them.
	kin, err := o.fs.AllKin()
	switch {
	case errors.Is(err, procfs.ErrNoPidfdInfo):
		all, err := o.fs.AllStats()
		if err != nil {
			return err
		}
		o.stats = make(map[int]procfs.Stat, len(all))
		for _, st := range all {
			o.stats[st.PID] = st
		}
		kin = procfs.KinOf(all)
	case err != nil:
		return err
	default:
		o.ruid = make(map[int]int, len(kin))
		for _, k := range kin {
			o.ruid[k.PID] = k.RUID
		}
	}
	o.tree = procfs.NewTree(kin)
	return nil
}

// Facts returns what the observation knows of the process pid that
// started at ticks; ticks 0 accepts any start time.
func (o *Observation) Facts(pid int, ticks uint64) Facts {
	t := Target{PID: pid, Ticks: ticks}
	return o.finish(t, o.readOwn(t, true))
}

// Target names a process whose facts a listing wants.
type Target struct {
	PID   int
	Ticks uint64 // its start time; 0 accepts any
	// Agent asks for AgentFacts: the process is the agent itself.
	Agent bool
	// Alias names the managed process, whose cgroup (with cgroups) holds
	// its members; "" looks at its family instead.
	Alias string
	// Adopted: the agent did not start it (found through pid_file or
	// match), so it may hold sockets made before it entered its cgroup,
	// which the dump files under another cgroup: its members' fds are
	// scanned too.
	Adopted bool
}

// FactsOf returns the Facts (or AgentFacts) of each target, in order.
// The reads are spread over the cores: each is a system call that keeps
// one busy, and a listing of many processes makes thousands.
func (o *Observation) FactsOf(targets []Target) []Facts {
	own := make([]ownFacts, len(targets))
	parallel.For(len(targets), 8, func(i int) {
		own[i] = o.readOwn(targets[i], true)
	})
	return o.finishAll(targets, own)
}

// finishAll completes the facts of targets, whose ownFacts are read.
func (o *Observation) finishAll(targets []Target, own []ownFacts) []Facts {
	// The agent's own target goes first: its fd directory holds a pidfd
	// per managed process, the longest scan of a listing (1.5 ms with
	// 1000 processes), which as the last item would keep the other cores
	// waiting. (With cgroups, observeFacts scanned it with the pass.)
	order := make([]int, 0, len(targets))
	for i, t := range targets {
		if t.Agent {
			order = append(order, i)
		}
	}
	for i, t := range targets {
		if !t.Agent {
			order = append(order, i)
		}
	}
	out := make([]Facts, len(targets))
	parallel.For(len(order), 8, func(k int) {
		i := order[k]
		out[i] = o.finish(targets[i], own[i])
	})
	return out
}

// AgentFacts is Facts for the agent itself. Its ports are its own (and
// its group's, when it leads one), not its descendants': they are the
// processes it manages, and their ports are theirs.
func (o *Observation) AgentFacts(pid int, ticks uint64) Facts {
	t := Target{PID: pid, Ticks: ticks, Agent: true}
	return o.finish(t, o.readOwn(t, true))
}

// family returns the processes whose ports and count are t's without a
// cgroup, and false when the tree could not be had.
func (o *Observation) family(t Target) ([]int, bool) {
	tree, ok := o.tree, true
	if tree == nil {
		tree, ok = o.lateTree()
	}
	if !t.Agent {
		return tree.Family(t.PID), ok
	}
	if tree.Leads(t.PID) {
		return tree.Group(t.PID), ok
	}
	return []int{t.PID}, ok
}

// ownFacts are a process's facts that need nothing from the pass over the
// host: read for each listed process, in parallel with that pass.
type ownFacts struct {
	alive      bool // it exists, is no zombie, and started at the ticks asked for
	startTicks uint64
	cmdline    string
	// uid is its real uid when read with its held files (uidRead).
	uid     int
	uidRead bool
	// cgroup is what its cgroup holds and uses; nil without cgroups, for
	// the agent, or when the alias has no cgroup.
	cgroup *cgroupFacts
}

// readOwn reads the ownFacts of pid. With scanned, the pass is done and
// the stat it read, if it read stat files, is used; without, the pass may
// be running and stat is read afresh.
func (o *Observation) readOwn(t Target, scanned bool) ownFacts {
	if t.Alias != "" && !t.Agent {
		if e := o.files.entry(t.Alias); e != nil {
			if own, err := o.readHeld(e, t); !errors.Is(err, errReadFresh) {
				return own
			}
		}
	}
	pid, ticks := t.PID, t.Ticks
	var st procfs.Stat
	var ok bool
	if scanned && o.stats != nil {
		st, ok = o.stats[pid]
	} else {
		var err error
		st, err = o.fs.Stat(pid)
		ok = err == nil
	}
	if !ok || !liveTarget(st, ticks) {
		return ownFacts{}
	}
	own := ownFacts{alive: true, startTicks: st.StartTicks}
	if cmdline, err := o.fs.CommandLine(pid); err == nil {
		own.cmdline = cmdline
	}
	if o.cg != nil && t.Alias != "" && !t.Agent {
		if c, err := readCgroup(o.cg, t.Alias, t.Adopted); err == nil {
			own.cgroup = &c
		}
	}
	return own
}

// liveTarget says whether st is of a live process (no zombie) that is the
// instance started at ticks (any, when ticks is 0).
func liveTarget(st procfs.Stat, ticks uint64) bool {
	return st.State != 'Z' && (ticks == 0 || st.StartTicks == ticks)
}

// readHeld is readOwn through e, the held files of t's alias; it fails
// with errReadFresh when they cannot be had, and readOwn reads fresh ones.
// It also reads the real uid, which finish would otherwise read fresh
// from status, unless the pass over the host gives it (o.ruid, from
// pidfds: only without cgroups, and where the kernel answers them).
func (o *Observation) readHeld(e *aliasFiles, t Target) (ownFacts, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dropped {
		return ownFacts{}, errReadFresh
	}
	st, err := o.files.stat(e, o.fs, t)
	if errors.Is(err, errReadFresh) {
		return ownFacts{}, err
	}
	if err != nil || !liveTarget(st, t.Ticks) {
		return ownFacts{}, nil
	}
	own := ownFacts{alive: true, startTicks: st.StartTicks}
	if cmdline, err := e.proc.CommandLine(); err == nil {
		own.cmdline = cmdline
	}
	if o.cg != nil || !o.fs.MayAskPidfds() {
		if uid, err := e.proc.RealUID(); err == nil {
			own.uid, own.uidRead = uid, true
		}
	}
	if o.cg != nil {
		if c, err := o.files.cgroup(e, o.cg, t.Alias, t.Adopted); err == nil {
			own.cgroup = &c
		}
	}
	return own, nil
}

// finish completes the facts of t from its ownFacts and the pass: its user
// and the ports and count of its cgroup or family.
func (o *Observation) finish(t Target, own ownFacts) Facts {
	pid := t.PID
	if !own.alive {
		return Facts{}
	}
	f := Facts{Alive: true, Cmdline: own.cmdline}
	if o.bootErr == nil {
		f.Elapsed = procfs.ElapsedAt(o.sinceBoot, own.startTicks)
	}
	if own.uidRead {
		f.User = userName(uint32(own.uid))
	} else if uid, ok := o.ruid[pid]; ok {
		f.User = userName(uint32(uid))
	} else if uid, err := o.fs.RealUID(pid); err == nil {
		f.User = userName(uint32(uid))
	}
	switch {
	case own.cgroup != nil:
		c := own.cgroup
		f.Processes = c.stats.Processes
		f.CPUSeconds = c.stats.CPUSeconds
		f.MemoryBytes = c.stats.MemoryBytes
		f.Ports, f.PortsKnown = o.cgroupPorts(c)
	case t.Agent && o.cg != nil:
		// With cgroups, the agent's ports are its own: its group is
		// itself under systemd, and its family is in the managed
		// cgroups. It is one process.
		f.Processes = 1
		f.CPUSeconds = familyCPUSeconds(o.fs, []int{pid})
		if o.own != nil && o.own.pid == pid {
			f.Ports, f.PortsKnown = o.own.ports, o.own.known
		} else {
			f.Ports, f.PortsKnown = o.ports(nil, []int{pid})
		}
	default:
		members, ok := o.family(t)
		f.Processes = len(members)
		f.CPUSeconds = familyCPUSeconds(o.fs, members)
		f.Ports, f.PortsKnown = o.ports(nil, members)
		f.PortsKnown = f.PortsKnown && ok
	}
	return f
}

// cgroupPorts are the ports of a cgroup's sockets: from the dump by its
// id, and from its members' fds when the dump has no ids or the process
// was adopted (readCgroup listed the members then).
func (o *Observation) cgroupPorts(c *cgroupFacts) ([]uint16, bool) {
	if o.socketsErr != nil {
		return nil, false
	}
	if o.byCgroup == nil {
		// Without ids, the members' fds are the only way; the members
		// are the cgroup's, still no pass over the host.
		pids, err := cgroupMembers(o.cg, c)
		if err != nil {
			return nil, false
		}
		return o.ports(nil, pids)
	}
	ports := o.byCgroup[c.id]
	if c.members == nil {
		return ports, true
	}
	return o.ports(ports, c.members)
}

// ports adds to have (sorted, unique, not modified) the ports of the
// sockets members hold.
func (o *Observation) ports(have []uint16, members []int) ([]uint16, bool) {
	if o.socketsErr != nil {
		return nil, false
	}
	known := true
	ports := slices.Clone(have)
	for _, member := range members {
		inodes, err := o.socketInodes(member)
		if errors.Is(err, fs.ErrPermission) {
			known = false
			continue
		}
		for _, ino := range inodes {
			if port, ok := o.sockets[ino]; ok {
				ports = append(ports, port)
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports), known
}

// selfPID is the agent's pid, read once (os.Getpid is a system call).
var selfPID = os.Getpid()

// socketInodes is fs.SocketInodes(pid), which for the agent itself skips
// the files held for listings: fstat would only say they are no sockets,
// at a system call each, and there are several per process it manages.
func (o *Observation) socketInodes(pid int) ([]uint64, error) {
	if o.files != nil && pid == selfPID {
		return o.fs.OwnSocketInodes(o.files.notSockets())
	}
	return o.fs.SocketInodes(pid)
}

// userNames caches uid -> name: a lookup reads /etc/passwd (or asks NSS),
// and listings ask for the same few uids again and again. Shared by every
// listing, hence the mutex.
var userNames struct {
	sync.Mutex
	m map[uint32]string
}

func userName(uid uint32) string {
	userNames.Lock()
	defer userNames.Unlock()
	if name, ok := userNames.m[uid]; ok {
		return name
	}
	id := strconv.FormatUint(uint64(uid), 10)
	name := id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	if userNames.m == nil {
		userNames.m = make(map[uint32]string)
	}
	userNames.m[uid] = name
	return name
}

// Cgroups is the hierarchy of the processes' cgroups; nil when off.
func (m *Manager) Cgroups() *cgroup.Hierarchy { return m.cgroups }

// CgroupStats reads what the cgroup of alias uses now, for the metrics; ok
// is false without cgroups or when alias has no cgroup.
func (m *Manager) CgroupStats(alias string) (stats cgroup.Stats, ok bool) {
	if m.cgroups == nil {
		return cgroup.Stats{}, false
	}
	s, err := cgroupStats(m.cgroups, alias)
	return s, err == nil
}
