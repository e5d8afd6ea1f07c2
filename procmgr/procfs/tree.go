package procfs

import "slices"

// Tree answers questions about the parent/child and process-group relations
// of a snapshot of processes (from AllKin, or KinOf(AllStats)). Build one
// per listing: it does not change when processes come and go.
type Tree struct {
	children map[int][]int // ppid -> pids, sorted
	groups   map[int][]int // pgrp -> pids, sorted
	pgrp     map[int]int   // pid -> pgrp
}

// NewTree indexes kin. It does not keep kin.
func NewTree(kin []Kin) *Tree {
	t := &Tree{
		children: make(map[int][]int),
		groups:   make(map[int][]int),
		pgrp:     make(map[int]int, len(kin)),
	}
	for _, s := range kin {
		t.children[s.PPID] = append(t.children[s.PPID], s.PID)
		t.groups[s.PGRP] = append(t.groups[s.PGRP], s.PID)
		t.pgrp[s.PID] = s.PGRP
	}
	for _, m := range []map[int][]int{t.children, t.groups} {
		for k, pids := range m {
			slices.Sort(pids)
			m[k] = slices.Compact(pids)
		}
	}
	return t
}

// Descendants returns the children of pid, their children and so on,
// sorted, not including pid; nil when there are none.
//
// A snapshot is not atomic, so with pid reuse during the scan the parent
// links can form a cycle; each pid is visited once, which ends it.
func (t *Tree) Descendants(pid int) []int {
	seen := map[int]bool{pid: true}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range t.children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Group returns the members of process group pgid, sorted; nil when there
// are none. The leader (pid pgid) is a member while it lives, but a group
// outlives its leader.
func (t *Tree) Group(pgid int) []int {
	return slices.Clone(t.groups[pgid])
}

// Leads reports whether pid leads its process group.
func (t *Tree) Leads(pid int) bool {
	g, ok := t.pgrp[pid]
	return ok && g == pid
}

// Family returns pid, its descendants and, when pid leads a process
// group, the members of that group, each once, sorted: the processes whose
// ports count as pid's. A descendant that moved to another group (setsid,
// setpgid) is still included, as is a member of pid's group that is not a
// descendant. The group of a process that does not lead it is somebody
// else's (a shell's job, or every test binary that `go test` started), so
// it is not added.
func (t *Tree) Family(pid int) []int {
	out := append(t.Descendants(pid), pid)
	if t.Leads(pid) {
		out = append(out, t.groups[pid]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
