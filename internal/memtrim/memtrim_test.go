package memtrim

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

var sink [][]byte

// TestRunReturnsFreedHeap: after the heap frees 32 MiB, Run gives the
// resident free heap back within a few of its intervals; the runtime's
// own background return is far slower than that.
func TestRunReturnsFreedHeap(t *testing.T) {
	sample := []metrics.Sample{{Name: freeBytes}}
	if s := free(sample); sample[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("%s not in this runtime (%d)", freeBytes, s)
	}
	for range 32 {
		sink = append(sink, make([]byte, 1<<20))
	}
	for i := range sink {
		sink[i][0] = 1 // resident
	}
	sink = nil
	runtime.GC()
	if n := free(sample); n < 8<<20 {
		t.Skipf("the runtime returned the freed heap on its own (%d bytes free)", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, 20*time.Millisecond, 4<<20)
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for free(sample) >= 4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of free heap still resident after 5 s", free(sample))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunEnds: Run returns when its context ends.
func TestRunEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, time.Hour, 1)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
