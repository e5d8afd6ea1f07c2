package state

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStore is the contract every Store meets; it runs against Bolt and
// Memory alike, so that tests written against Memory hold for Bolt.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("AssignID", func(t *testing.T) { testAssignID(t, newStore) })
	t.Run("Records", func(t *testing.T) { testRecords(t, newStore) })
	t.Run("All", func(t *testing.T) { testAll(t, newStore) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, newStore) })
	t.Run("PutAll", func(t *testing.T) { testPutAll(t, newStore) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore) })
}

// fullRecord sets every field, with times in a zone other than UTC and
// with nanoseconds, which a lossy encoding would drop.
func fullRecord() Record {
	zone := time.FixedZone("CST", 8*3600)
	code := 137
	return Record{
		Alias:          "obstat2",
		ID:             185,
		CreateTime:     time.Date(2024, 3, 1, 10, 0, 0, 123456789, zone),
		UpdateTime:     time.Date(2024, 3, 2, 11, 30, 0, 1, zone),
		LastActiveTime: time.Date(2024, 3, 3, 12, 0, 5, 0, time.UTC),
		Desired:        DesiredStarted,
		PID:            4242,
		StartTicks:     1 << 40,
		BootID:         "0e1c6f2a-8f3b-4c7d-9a51-2b7c3d4e5f60",
		Group:          true,
		RestartCount:   3,
		LastExitCode:   &code,
	}
}

func testRecords(t *testing.T, newStore func(t *testing.T) Store) {
	zero := 0
	tests := []struct {
		name string
		r    Record
	}{
		{"every field", fullRecord()},
		{"zero LastActiveTime and no exit code", Record{
			Alias: "never-ran", ID: 1, CreateTime: time.Unix(1700000000, 0), Desired: DesiredStopped,
		}},
		{"exit code zero is kept, not dropped", Record{Alias: "clean-exit", ID: 2, LastExitCode: &zero}},
		{"alias only", Record{Alias: "bare"}},
		{"unicode alias", Record{Alias: "进程 one/two", Desired: DesiredStopped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if err := s.Put(tt.r); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, ok, err := s.Get(tt.r.Alias)
			if err != nil || !ok {
				t.Fatalf("Get(%q) = _, %v, %v; want the record", tt.r.Alias, ok, err)
			}
			assertRecord(t, got, tt.r)
			all, err := s.All()
			if err != nil || len(all) != 1 {
				t.Fatalf("All() = %v, %v; want one record", all, err)
			}
			assertRecord(t, all[0], tt.r)
			if err := s.Delete(tt.r.Alias); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, ok, err := s.Get(tt.r.Alias); ok || err != nil {
				t.Fatalf("Get after Delete = _, %v, %v; want none", ok, err)
			}
		})
	}

	t.Run("get missing", func(t *testing.T) {
		if _, ok, err := newStore(t).Get("nope"); ok || err != nil {
			t.Fatalf("Get = _, %v, %v; want not found, no error", ok, err)
		}
	})
	t.Run("delete missing", func(t *testing.T) {
		if err := newStore(t).Delete("nope"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	})
	t.Run("put overwrites", func(t *testing.T) {
		s := newStore(t)
		first, second := fullRecord(), fullRecord()
		second.PID, second.LastExitCode, second.Desired = 0, nil, DesiredStopped
		mustPut(t, s, first)
		mustPut(t, s, second)
		got, _, _ := s.Get(first.Alias)
		assertRecord(t, got, second)
	})
	t.Run("stored record shares nothing with the caller's", func(t *testing.T) {
		s := newStore(t)
		r := fullRecord()
		mustPut(t, s, r)
		*r.LastExitCode = 1
		got, _, _ := s.Get(r.Alias)
		if *got.LastExitCode != 137 {
			t.Fatalf("LastExitCode = %d after the caller changed its copy; want 137", *got.LastExitCode)
		}
	})
	t.Run("invalid records are refused", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []Record{{}, {Alias: "a", Desired: "RUNNING"}} {
			if err := s.Put(r); err == nil {
				t.Errorf("Put(%+v) succeeded; want an error", r)
			}
		}
	})
}

func testAll(t *testing.T, newStore func(t *testing.T) Store) {
	s := newStore(t)
	if all, err := s.All(); err != nil || len(all) != 0 {
		t.Fatalf("All() on an empty store = %v, %v", all, err)
	}
	aliases := []string{"zeta", "alpha", "Beta", "m", "alpha2", "_x", "obstat2"}
	for i, a := range aliases {
		mustPut(t, s, Record{Alias: a, ID: int64(i + 1)})
	}
	mustDelete(t, s, "m")
	all, err := s.All()
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.Alias)
	}
	want := []string{"Beta", "_x", "alpha", "alpha2", "obstat2", "zeta"}
	if !slices.Equal(got, want) {
		t.Fatalf("All() aliases = %q; want %q", got, want)
	}
}

func testClosed(t *testing.T, newStore func(t *testing.T) Store) {
	s := newStore(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, errAssign := s.AssignID("a", 0)
	_, _, errGet := s.Get("a")
	_, errAll := s.All()
	for name, err := range map[string]error{
		"AssignID": errAssign, "Get": errGet, "All": errAll,
		"Put": s.Put(Record{Alias: "a"}), "Delete": s.Delete("a"),
		"PutAll": s.PutAll([]Record{{Alias: "a"}}),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", name, err)
		}
	}
}

// testPutAll writes many records at once; a batch that cannot be encoded
// writes none of them.
func testPutAll(t *testing.T, newStore func(t *testing.T) Store) {
	s := newStore(t)
	mustPut(t, s, Record{Alias: "old", ID: 9})
	var rs []Record
	for i := range 50 {
		r := fullRecord()
		r.Alias, r.ID = fmt.Sprintf("p%02d", i), int64(i+1)
		rs = append(rs, r)
	}
	if err := s.PutAll(rs); err != nil {
		t.Fatalf("PutAll: %v", err)
	}
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 51 {
		t.Fatalf("%d records, want 51", len(all))
	}
	for i, r := range all[1:] { // "old" sorts first
		if !recordsEqual(r, rs[i]) {
			t.Errorf("record %d: %+v, want %+v", i, r, rs[i])
		}
	}
	bad := Record{Alias: "bad", UpdateTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} // not encodable as RFC 3339
	if err := s.PutAll([]Record{{Alias: "fine"}, bad}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("PutAll with an unencodable record: %v; want an error naming it", err)
	}
	if _, ok, _ := s.Get("fine"); ok {
		t.Error("PutAll that failed wrote a record")
	}
	if err := s.PutAll(nil); err != nil {
		t.Errorf("PutAll(nil): %v", err)
	}
}

// testConcurrent runs under -race: one goroutine per process, as the agent
// does, each assigning an id and writing its record.
func testConcurrent(t *testing.T, newStore func(t *testing.T) Store) {
	s := newStore(t)
	const n = 16
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			alias := fmt.Sprintf("p%02d", i)
			id, err := s.AssignID(alias, 0)
			if err != nil {
				t.Errorf("AssignID(%s): %v", alias, err)
				return
			}
			ids[i] = id
			for j := range 3 {
				if err := s.Put(Record{Alias: alias, ID: id, RestartCount: j}); err != nil {
					t.Errorf("Put(%s): %v", alias, err)
				}
				if _, err := s.All(); err != nil {
					t.Errorf("All: %v", err)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(ids)
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("ids = %v; want 1..%d, each once", ids, n)
		}
	}
}

// assertRecord fails the test unless got is want.
func assertRecord(t *testing.T, got, want Record) {
	t.Helper()
	if !recordsEqual(got, want) {
		t.Fatalf("record = %s; want %s", describe(got), describe(want))
	}
}

// recordsEqual compares times with Equal: the zone's *Location and the
// monotonic reading are not part of a stored time.
func recordsEqual(got, want Record) bool {
	sameTimes := got.CreateTime.Equal(want.CreateTime) && got.UpdateTime.Equal(want.UpdateTime) &&
		got.LastActiveTime.Equal(want.LastActiveTime) && got.LastActiveTime.IsZero() == want.LastActiveTime.IsZero()
	sameCode := (got.LastExitCode == nil) == (want.LastExitCode == nil) &&
		(got.LastExitCode == nil || *got.LastExitCode == *want.LastExitCode)
	g, w := got, want
	g.CreateTime, g.UpdateTime, g.LastActiveTime, g.LastExitCode = time.Time{}, time.Time{}, time.Time{}, nil
	w.CreateTime, w.UpdateTime, w.LastActiveTime, w.LastExitCode = time.Time{}, time.Time{}, time.Time{}, nil
	return sameTimes && sameCode && g == w
}

func describe(r Record) string {
	code := "nil"
	if r.LastExitCode != nil {
		code = fmt.Sprint(*r.LastExitCode)
	}
	return fmt.Sprintf("%+v (LastExitCode %s)", r, code)
}

func mustPut(t *testing.T, s Store, r Record) {
	t.Helper()
	if err := s.Put(r); err != nil {
		t.Fatalf("Put(%q): %v", r.Alias, err)
	}
}

func mustDelete(t *testing.T, s Store, alias string) {
	t.Helper()
	if err := s.Delete(alias); err != nil {
		t.Fatalf("Delete(%q): %v", alias, err)
	}
}
