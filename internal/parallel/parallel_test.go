package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestForRunsEachIterationOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		counts := make([]atomic.Int32, n)
		For(n, 2, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: iteration %d ran %d times", n, i, c)
			}
		}
	}
}

// TestForConcurrentLoops runs loops from many goroutines at once: every
// loop must finish with all its iterations, whoever ran them.
func TestForConcurrentLoops(t *testing.T) {
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var sum atomic.Int64
				For(100, 2, func(i int) { sum.Add(int64(i)) })
				if s := sum.Load(); s != 4950 {
					t.Errorf("sum %d, want 4950", s)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestForSmallRunsOnCaller(t *testing.T) {
	ran := 0 // not atomic: the race detector says if another goroutine ran it
	For(3, 10, func(int) { ran++ })
	if ran != 3 {
		t.Errorf("ran %d", ran)
	}
}
