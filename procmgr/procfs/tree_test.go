package procfs

import (
	"slices"
	"testing"
)

func TestTree(t *testing.T) {
	// init(1) ── agent(100) ─┬─ sh(200, group 200) ─┬─ server(201, group 200) ── worker(300, group 200)
	//                        │                       └─ daemon(202, setsid: group 202)
	//                        └─ helper(210, setpgid into group 200)
	// kthreadd(2, group 0) ── kworker(3, group 0)
	kin := []Kin{
		{PID: 1, PPID: 0, PGRP: 1},
		{PID: 2, PPID: 0, PGRP: 0},
		{PID: 3, PPID: 2, PGRP: 0},
		{PID: 300, PPID: 201, PGRP: 200}, // unsorted input
		{PID: 100, PPID: 1, PGRP: 100},
		{PID: 200, PPID: 100, PGRP: 200},
		{PID: 201, PPID: 200, PGRP: 200},
		{PID: 202, PPID: 200, PGRP: 202},
		{PID: 210, PPID: 100, PGRP: 200},
	}
	tree := NewTree(kin)
	tests := []struct {
		name string
		got  []int
		want []int
	}{
		{"descendants of sh", tree.Descendants(200), []int{201, 202, 300}},
		{"descendants of agent", tree.Descendants(100), []int{200, 201, 202, 210, 300}},
		{"descendants of a leaf", tree.Descendants(300), nil},
		{"descendants of an unknown pid", tree.Descendants(999), nil},
		{"group 200, leader included", tree.Group(200), []int{200, 201, 210, 300}},
		{"group of one", tree.Group(202), []int{202}},
		{"unknown group", tree.Group(999), nil},
		{"family of sh: descendants (202 left the group) and group (210 is not a descendant)",
			tree.Family(200), []int{200, 201, 202, 210, 300}},
		{"family of server: not the group it does not lead", tree.Family(201), []int{201, 300}},
		{"family of daemon: alone in its group", tree.Family(202), []int{202}},
		{"family of kworker: group 0 is not a group", tree.Family(3), []int{3}},
		{"family of unknown pid", tree.Family(999), []int{999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestTreeResultsAreCopies(t *testing.T) {
	tree := NewTree([]Kin{{PID: 5, PGRP: 5}, {PID: 6, PPID: 5, PGRP: 5}})
	g := tree.Group(5)
	g[0] = 42
	if got := tree.Group(5); !slices.Equal(got, []int{5, 6}) {
		t.Errorf("changing a result changed the tree: Group(5) = %v", got)
	}
	f := tree.Family(5)
	f[0] = 42
	if got := tree.Family(5); !slices.Equal(got, []int{5, 6}) {
		t.Errorf("changing a result changed the tree: Family(5) = %v", got)
	}
}

func TestTreeCycle(t *testing.T) {
	// A snapshot taken while pid 5 exited and was reused by a child of 6,
	// whose parent was the old 5: 5 -> 6 -> 5. It must end, and pid is not
	// its own descendant.
	tree := NewTree([]Kin{{PID: 5, PPID: 6, PGRP: 5}, {PID: 6, PPID: 5, PGRP: 5}, {PID: 7, PPID: 6, PGRP: 7}})
	if got, want := tree.Descendants(5), []int{6, 7}; !slices.Equal(got, want) {
		t.Errorf("Descendants(5) = %v, want %v", got, want)
	}
	if got, want := tree.Family(6), []int{5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("Family(6) = %v, want %v", got, want)
	}
}

func TestTreeDuplicatePID(t *testing.T) {
	tree := NewTree([]Kin{{PID: 5, PPID: 1, PGRP: 5}, {PID: 5, PPID: 1, PGRP: 5}})
	if got := tree.Descendants(1); !slices.Equal(got, []int{5}) {
		t.Errorf("Descendants(1) = %v, want [5]", got)
	}
	if got := tree.Group(5); !slices.Equal(got, []int{5}) {
		t.Errorf("Group(5) = %v, want [5]", got)
	}
}
