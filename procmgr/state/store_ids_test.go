package state

import (
	"errors"
	"testing"
)

// step is one call in an AssignID scenario.
type step struct {
	op       string // "assign" (default), "put" or "delete" (a record of alias)
	alias    string
	explicit int64
	want     int64  // the id expected from an assign
	owner    string // expect an *IDTakenError naming this owner
	wantErr  bool   // expect some other error
}

func testAssignID(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"new alias gets 1", []step{{alias: "a", want: 1}}},
		{"stable across calls", []step{
			{alias: "a", want: 1}, {alias: "b", want: 2}, {alias: "a", want: 1}, {alias: "b", want: 2},
		}},
		{"explicit id", []step{
			{alias: "a", explicit: 185, want: 185}, {alias: "a", want: 185}, {alias: "a", explicit: 185, want: 185},
		}},
		{"explicit id taken by another alias", []step{
			{alias: "a", explicit: 185, want: 185},
			{alias: "b", explicit: 185, owner: "a"},
			{alias: "b", want: 186},
			{alias: "a", want: 185},
		}},
		{"explicit id of an auto-assigned id", []step{
			{alias: "a", want: 1}, {alias: "b", explicit: 1, owner: "a"},
		}},
		{"explicit id after an auto id", []step{
			{alias: "a", want: 1},
			{alias: "a", explicit: 7, want: 7},
			{alias: "a", want: 7},
			{alias: "b", explicit: 1, owner: "a"}, // a's old id stays retired
			{alias: "c", want: 8},
		}},
		{"alias may take back its retired id", []step{
			{alias: "a", explicit: 3, want: 3}, {alias: "a", explicit: 4, want: 4}, {alias: "a", explicit: 3, want: 3},
			{alias: "b", explicit: 4, owner: "a"},
		}},
		{"auto ids skip explicit ids ever seen", []step{
			{alias: "a", explicit: 100, want: 100},
			{alias: "b", want: 101},
			{alias: "a", explicit: 5, want: 5},
			{alias: "c", want: 102},
			{alias: "d", explicit: 100, owner: "a"},
			{alias: "e", explicit: 50, want: 50},
			{alias: "f", want: 103},
		}},
		{"ids of deleted records stay reserved", []step{
			{alias: "a", want: 1},
			{op: "put", alias: "a"},
			{op: "delete", alias: "a"},
			{alias: "b", want: 2},
			{alias: "c", explicit: 1, owner: "a"},
			{alias: "a", want: 1},
		}},
		{"invalid input", []step{
			{alias: "", wantErr: true},
			{alias: "a", explicit: -1, wantErr: true},
			{alias: "a", want: 1}, // nothing was assigned by the failures
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tt.steps {
				runStep(t, s, i, st)
			}
		})
	}
}

func runStep(t *testing.T, s Store, i int, st step) {
	t.Helper()
	switch st.op {
	case "put":
		if err := s.Put(Record{Alias: st.alias}); err != nil {
			t.Fatalf("step %d: Put(%q): %v", i, st.alias, err)
		}
		return
	case "delete":
		if err := s.Delete(st.alias); err != nil {
			t.Fatalf("step %d: Delete(%q): %v", i, st.alias, err)
		}
		return
	}
	id, err := s.AssignID(st.alias, st.explicit)
	var taken *IDTakenError
	switch {
	case st.owner != "":
		if !errors.As(err, &taken) || taken.Owner != st.owner || taken.ID != st.explicit {
			t.Fatalf("step %d: AssignID(%q, %d) = %d, %v; want IDTakenError{%d, %q}",
				i, st.alias, st.explicit, id, err, st.explicit, st.owner)
		}
	case st.wantErr:
		if err == nil || errors.As(err, &taken) {
			t.Fatalf("step %d: AssignID(%q, %d) = %d, %v; want an error", i, st.alias, st.explicit, id, err)
		}
	case err != nil || id != st.want:
		t.Fatalf("step %d: AssignID(%q, %d) = %d, %v; want %d", i, st.alias, st.explicit, id, err, st.want)
	}
}
