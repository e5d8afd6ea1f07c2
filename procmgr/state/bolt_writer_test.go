package state

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// putAll writes n records (alias prefix-NNN) at once from n goroutines,
// released together, and returns each one's error.
func putAll(s Store, prefix string, n int) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			r := fullRecord()
			r.Alias, r.ID = fmt.Sprintf("%s-%03d", prefix, i), int64(i+1)
			errs[i] = s.Put(r)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// Concurrent writes share transactions, and each is on disk (found after a
// reopen) once its Put returned.
func TestConcurrentPutsShareCommits(t *testing.T) {
	dir := t.TempDir()
	s := openBolt(t, dir)
	const n = 200
	before := s.commits.Load()
	for i, err := range putAll(s, "p", n) {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	commits := s.commits.Load() - before
	t.Logf("%d concurrent puts in %d commits", n, commits)
	if commits >= n {
		t.Errorf("%d concurrent puts took %d commits; want them grouped (fewer)", n, commits)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBolt(t, dir)
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d records after reopen, want %d", len(all), n)
	}
	want := fullRecord()
	for i, r := range all {
		want.Alias, want.ID = fmt.Sprintf("p-%03d", i), int64(i+1)
		if !recordsEqual(r, want) {
			t.Fatalf("record %d: got %+v, want %+v", i, r, want)
		}
	}
}

// A failing function of a batch fails alone: the others of the same
// transaction are committed, and the failed one wrote nothing.
func TestBatchFailureIsolated(t *testing.T) {
	s := openBolt(t, t.TempDir())
	if _, err := s.AssignID("owner", 7); err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("bad write")
	put := func(alias string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			v, err := encodeRecord(Record{Alias: alias, ID: 1})
			if err != nil {
				return err
			}
			return tx.Bucket(bucketRecords).Put([]byte(alias), v)
		}
	}
	tests := []struct {
		name  string
		fns   []func(*bolt.Tx) error
		fails []bool
	}{
		{"last fails", []func(*bolt.Tx) error{put("a1"), put("a2"), func(tx *bolt.Tx) error {
			if err := put("bad1")(tx); err != nil {
				return err
			}
			return errBad
		}}, []bool{false, false, true}},
		{"first fails", []func(*bolt.Tx) error{func(tx *bolt.Tx) error {
			_, err := assignID(boltIDs{tx}, "thief", 7)
			return err
		}, put("b1")}, []bool{true, false}},
		{"all good", []func(*bolt.Tx) error{put("c1"), put("c2")}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := make([]*write, len(tt.fns))
			for i, fn := range tt.fns {
				batch[i] = &write{fn: fn, done: make(chan error, 1)}
			}
			s.commit(batch)
			for i, w := range batch {
				err := <-w.done
				if (err != nil) != tt.fails[i] {
					t.Errorf("write %d: error %v, want failure %v", i, err, tt.fails[i])
				}
			}
		})
	}
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.Alias)
	}
	if fmt.Sprint(got) != "[a1 a2 b1 c1 c2]" {
		t.Errorf("records %v, want [a1 a2 b1 c1 c2] (nothing of the failed writes)", got)
	}
	if id, err := s.AssignID("thief", 0); err != nil || id != 8 {
		t.Errorf("thief's id: %d, %v; want 8 (7 stayed owner's)", id, err)
	}
}

// Writes racing Close either succeed, and are then on disk, or fail with
// ErrClosed; none is lost or left waiting.
func TestPutsRacingClose(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	var errs []error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs = putAll(s, "r", n)
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = openBolt(t, dir)
	for i, err := range errs {
		_, ok, gerr := s.Get(fmt.Sprintf("r-%03d", i))
		if gerr != nil {
			t.Fatal(gerr)
		}
		switch {
		case err == nil && !ok:
			t.Errorf("put %d succeeded but its record is missing", i)
		case err != nil && !errors.Is(err, ErrClosed):
			t.Errorf("put %d: %v, want nil or ErrClosed", i, err)
		case err != nil && ok:
			t.Errorf("put %d failed (%v) but its record is there", i, err)
		}
	}
}

// BenchmarkPutConcurrent100 is the write of a host-wide stop: 100 records
// written at once, each durable before its Put returns. One op is the
// whole burst; commits/op says how many transactions it took.
func BenchmarkPutConcurrent100(b *testing.B) {
	s, err := OpenBolt(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100
	start := make([]chan struct{}, n)
	var done sync.WaitGroup
	var failed error
	var mu sync.Mutex
	for i := range n {
		start[i] = make(chan struct{})
		go func() {
			r := fullRecord()
			r.Alias = fmt.Sprintf("p%03d", i)
			for range start[i] {
				r.RestartCount++
				if err := s.Put(r); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
				done.Done()
			}
		}()
	}
	defer func() {
		for _, c := range start {
			close(c)
		}
	}()
	c0 := s.commits.Load()
	b.ReportAllocs()
	for b.Loop() {
		done.Add(n)
		for _, c := range start {
			c <- struct{}{}
		}
		done.Wait()
	}
	if failed != nil {
		b.Fatal(failed)
	}
	b.ReportMetric(float64(s.commits.Load()-c0)/float64(b.N), "commits/op")
}

// BenchmarkPutParallel is writes from many goroutines, each on its own
// record, without pause: the cost per write under contention.
func BenchmarkPutParallel(b *testing.B) {
	s, err := OpenBolt(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next sync.Mutex
	id := 0
	b.SetParallelism(25)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		id++
		r := fullRecord()
		r.Alias = fmt.Sprintf("p%03d", id)
		next.Unlock()
		for pb.Next() {
			r.RestartCount++
			if err := s.Put(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// An agent started again on the same config asks for every alias's id
// again: the ids it has already cost no commit, a new one or a change does.
func TestAssignIDCommitsOnlyChanges(t *testing.T) {
	s := openBolt(t, t.TempDir())
	if _, err := s.AssignID("a", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignID("b", 7); err != nil {
		t.Fatal(err)
	}
	before := s.commits.Load()
	for _, c := range []struct {
		alias    string
		explicit int64
		want     int64
	}{{"a", 0, 1}, {"a", 1, 1}, {"b", 0, 7}, {"b", 7, 7}} {
		if id, err := s.AssignID(c.alias, c.explicit); err != nil || id != c.want {
			t.Fatalf("AssignID(%q, %d) = %d, %v; want %d", c.alias, c.explicit, id, err, c.want)
		}
	}
	if n := s.commits.Load() - before; n != 0 {
		t.Errorf("ids already assigned took %d commits; want none", n)
	}
	if id, err := s.AssignID("a", 9); err != nil || id != 9 {
		t.Fatalf("AssignID(a, 9) = %d, %v; want 9", id, err)
	}
	if id, err := s.AssignID("c", 0); err != nil || id != 10 {
		t.Fatalf("AssignID(c, 0) = %d, %v; want 10", id, err)
	}
	if n := s.commits.Load() - before; n != 2 {
		t.Errorf("a changed id and a new alias took %d commits; want 2", n)
	}
}
