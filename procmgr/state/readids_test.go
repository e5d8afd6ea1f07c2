package state

import "testing"

// TestReadIDOwnersWhileTheAgentHoldsTheState: config check reads the ids
// of a state an agent has open and locked, without waiting for it.
func TestReadIDOwnersWhileTheAgentHoldsTheState(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadIDOwners(dir); err != nil || len(got) != 0 {
		t.Fatalf("no state yet: %v, %v", got, err)
	}
	b, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// In this order: b's id is assigned after a's 5, so it is 6.
	for _, a := range []struct {
		alias string
		id    int64
	}{{"a", 5}, {"b", 0}} {
		if _, err := b.AssignID(a.alias, a.id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadIDOwners(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[5] != "a" || got[6] != "b" {
		t.Errorf("owners %v, want 5:a 6:b", got)
	}
}
