package procmgr

import (
	"context"
	"errors"
	"io/fs"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// Observation is one pass over the process table and the socket tables,
// shared by every process of one listing, so that a listing costs one
// read of /proc/net however many processes it shows.
type Observation struct {
	fs         procfs.FS
	stats      map[int]procfs.Stat
	tree       *procfs.Tree
	sockets    procfs.SocketTable
	socketsErr error
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
	if fsys.Root == "" {
		fsys = procfs.Default
	}
	o := &Observation{fs: fsys, At: time.Now()}
	all, err := fsys.AllStats()
	if err != nil {
		return nil, err
	}
	o.stats = make(map[int]procfs.Stat, len(all))
	for _, st := range all {
		o.stats[st.PID] = st
	}
	o.tree = procfs.NewTree(all)
	o.sockets, o.socketsErr = fsys.ListeningSockets()
	return o, nil
}

// Facts returns what the observation knows of the process pid that
// started at ticks; ticks 0 accepts any start time.
func (o *Observation) Facts(pid int, ticks uint64) Facts {
	return o.facts(pid, ticks, o.tree.Family)
}

// AgentFacts is Facts for the agent itself. Its ports are its own (and
// its group's, when it leads one), not its descendants': they are the
// processes it manages, and their ports are theirs.
func (o *Observation) AgentFacts(pid int, ticks uint64) Facts {
	return o.facts(pid, ticks, func(pid int) []int {
		if o.stats[pid].PGRP == pid {
			return o.tree.Group(pid)
		}
		return []int{pid}
	})
}

func (o *Observation) facts(pid int, ticks uint64, family func(int) []int) Facts {
	st, ok := o.stats[pid]
	if !ok || st.State == 'Z' || (ticks != 0 && st.StartTicks != ticks) {
		return Facts{}
	}
	f := Facts{Alive: true}
	f.Elapsed, _ = procfs.Elapsed(st.StartTicks)
	ctx := context.Background()
	gp := &process.Process{Pid: int32(pid)}
	if argv, err := gp.CmdlineSliceWithContext(ctx); err == nil {
		f.Cmdline = strings.Join(argv, " ")
	}
	if uids, err := gp.UidsWithContext(ctx); err == nil && len(uids) > 0 {
		f.User = userName(uids[0])
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
