package agent

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSharedSequentialCallsRunEach(t *testing.T) {
	var s shared[int]
	var runs int
	for i := 1; i <= 3; i++ {
		got, err := s.do(func() (int, error) { runs++; return runs, nil })
		if err != nil || got != i {
			t.Fatalf("call %d: %d, %v", i, got, err)
		}
	}
}

// TestSharedCallersGetARunStartedAfterThem holds a run while callers
// arrive: they must all share the one next run, never the held one.
func TestSharedCallersGetARunStartedAfterThem(t *testing.T) {
	var s shared[int64]
	var started atomic.Int64
	release := make(chan struct{})
	run := func() (int64, error) {
		n := started.Add(1)
		if n == 1 {
			<-release
		}
		return n, nil
	}
	first := make(chan int64)
	go func() {
		v, _ := s.do(run)
		first <- v
	}()
	for started.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	const callers = 20
	var wg sync.WaitGroup
	results := make([]int64, callers)
	arrived := make([]int64, callers)
	for i := range callers {
		wg.Add(1)
		arrived[i] = started.Load()
		go func() {
			defer wg.Done()
			results[i], _ = s.do(run)
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them all queue behind the held run
	close(release)
	wg.Wait()
	if v := <-first; v != 1 {
		t.Errorf("first caller got run %d, want 1", v)
	}
	for i, v := range results {
		if v <= arrived[i] {
			t.Errorf("caller %d arrived after run %d started and got run %d", i, arrived[i], v)
		}
	}
	if n := started.Load(); n != 2 {
		t.Errorf("%d runs for %d callers queued behind one; want 2", n, callers)
	}
}

func TestSharedPanicReleasesWaiters(t *testing.T) {
	var s shared[int]
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	panicky := func() (int, error) {
		if calls.Add(1) == 2 {
			panic("boom")
		}
		close(entered)
		<-release
		return 1, nil
	}
	go s.do(panicky) // holds the first run
	<-entered
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			defer func() {
				if recover() != nil {
					errs <- errors.New("panicked")
				}
			}()
			_, err := s.do(panicky)
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	// One of the two ran the panicking run and panicked; the other shared
	// it and got an error.
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a caller of a run that panicked got no error")
		}
	}
	if v, err := s.do(func() (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Errorf("after a panic: %d, %v", v, err)
	}
}
