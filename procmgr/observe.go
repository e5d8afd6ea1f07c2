package procmgr

import (
	"errors"
	"io/fs"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ocp-agent/ocp-agent/internal/parallel"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// Observation is one pass over the process table and the socket tables,
// shared by every process of one listing (and by concurrent listings,
// which the agent lets share one), so that a listing costs one scan of
// /proc and one sock_diag query however many processes it shows. It is
// read-only once taken, hence safe for concurrent use.
//
// What each process's facts need beyond that is read from /proc directly
// with procfs, not through gopsutil: its per-process setup parses all of
// /proc/PID/status into a struct, which the profile showed to cost twice
// as much, with six times the allocations, as reading the one Uid line;
// the files read and the facts reported are the same.
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
	sinceBoot  time.Duration // CLOCK_BOOTTIME at the observation, for Elapsed
	bootErr    error
	At         time.Time
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
}

// Observe takes the process table and the socket tables once.
func Observe(fsys procfs.FS) (*Observation, error) {
	o := newObservation(fsys)
	if err := o.scan(); err != nil {
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
	if !fsys.MayAskPidfds() {
		// The pass reads every stat file, the targets' too: they are
		// taken from it after the pass rather than read twice.
		o, err := Observe(fsys)
		if err != nil {
			return nil, nil, err
		}
		return o, o.FactsOf(targets), nil
	}
	o := newObservation(fsys)
	own := make([]ownFacts, len(targets))
	var err error
	// Item 0 is the pass, taken first; whichever core is free takes the
	// next item, so that the one done with the pass joins the rest.
	parallel.For(len(targets)+1, 2, func(i int) {
		if i == 0 {
			err = o.scan()
			return
		}
		t := targets[i-1]
		own[i-1] = o.readOwn(t.PID, t.Ticks, false)
	})
	if err != nil {
		return nil, nil, err
	}
	return o, o.finishAll(targets, own), nil
}

func newObservation(fsys procfs.FS) *Observation {
	if fsys.Root == "" {
		fsys = procfs.Default
	}
	return &Observation{fs: fsys, At: time.Now()}
}

// scan is the pass over the host: every process's place in the tree, and
// the socket tables.
func (o *Observation) scan() error {
	// Every process on the host is visited to find the managed ones'
	// descendants and groups; pidfds answer that in a third of the time
	// the stat files take (procfs.AllKin), where the kernel has them.
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
	o.sockets, o.socketsErr = o.fs.Sockets()
	o.sinceBoot, o.bootErr = procfs.SinceBoot()
	return nil
}

// Facts returns what the observation knows of the process pid that
// started at ticks; ticks 0 accepts any start time.
func (o *Observation) Facts(pid int, ticks uint64) Facts {
	return o.finish(pid, o.readOwn(pid, ticks, true), o.tree.Family)
}

// Target names a process whose facts a listing wants.
type Target struct {
	PID   int
	Ticks uint64 // its start time; 0 accepts any
	// Agent asks for AgentFacts: the process is the agent itself.
	Agent bool
}

// FactsOf returns the Facts (or AgentFacts) of each target, in order.
// The reads are spread over the cores: each is a system call that keeps
// one busy, and a listing of many processes makes thousands.
func (o *Observation) FactsOf(targets []Target) []Facts {
	own := make([]ownFacts, len(targets))
	parallel.For(len(targets), 8, func(i int) {
		own[i] = o.readOwn(targets[i].PID, targets[i].Ticks, true)
	})
	return o.finishAll(targets, own)
}

// finishAll completes the facts of targets, whose ownFacts are read.
func (o *Observation) finishAll(targets []Target, own []ownFacts) []Facts {
	// The agent's own target goes first: its fd directory holds a pidfd
	// per managed process, the longest scan of a listing (1.5 ms with
	// 1000 processes), which as the last item would keep the other cores
	// waiting.
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
		t := targets[i]
		if t.Agent {
			out[i] = o.finish(t.PID, own[i], o.agentFamily)
		} else {
			out[i] = o.finish(t.PID, own[i], o.tree.Family)
		}
	})
	return out
}

// AgentFacts is Facts for the agent itself. Its ports are its own (and
// its group's, when it leads one), not its descendants': they are the
// processes it manages, and their ports are theirs.
func (o *Observation) AgentFacts(pid int, ticks uint64) Facts {
	return o.finish(pid, o.readOwn(pid, ticks, true), o.agentFamily)
}

func (o *Observation) agentFamily(pid int) []int {
	if o.tree.Leads(pid) {
		return o.tree.Group(pid)
	}
	return []int{pid}
}

// ownFacts are a process's facts that need nothing from the pass over the
// host: read for each listed process, in parallel with that pass.
type ownFacts struct {
	alive      bool // it exists, is no zombie, and started at the ticks asked for
	startTicks uint64
	cmdline    string
}

// readOwn reads the ownFacts of pid. With scanned, the pass is done and
// the stat it read, if it read stat files, is used; without, the pass may
// be running and stat is read afresh.
func (o *Observation) readOwn(pid int, ticks uint64, scanned bool) ownFacts {
	var st procfs.Stat
	var ok bool
	if scanned && o.stats != nil {
		st, ok = o.stats[pid]
	} else {
		var err error
		st, err = o.fs.Stat(pid)
		ok = err == nil
	}
	if !ok || st.State == 'Z' || (ticks != 0 && st.StartTicks != ticks) {
		return ownFacts{}
	}
	own := ownFacts{alive: true, startTicks: st.StartTicks}
	if cmdline, err := o.fs.CommandLine(pid); err == nil {
		own.cmdline = cmdline
	}
	return own
}

// finish completes the facts of pid from its ownFacts and the pass: its
// user and the ports of its family.
func (o *Observation) finish(pid int, own ownFacts, family func(int) []int) Facts {
	if !own.alive {
		return Facts{}
	}
	f := Facts{Alive: true, Cmdline: own.cmdline}
	if o.bootErr == nil {
		f.Elapsed = procfs.ElapsedAt(o.sinceBoot, own.startTicks)
	}
	if uid, ok := o.ruid[pid]; ok {
		f.User = userName(uint32(uid))
	} else if uid, err := o.fs.RealUID(pid); err == nil {
		f.User = userName(uint32(uid))
	}
	f.Ports, f.PortsKnown = o.ports(family(pid))
	return f
}

func (o *Observation) ports(members []int) ([]uint16, bool) {
	if o.socketsErr != nil {
		return nil, false
	}
	known := true
	var ports []uint16
	for _, member := range members {
		inodes, err := o.fs.SocketInodes(member)
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
