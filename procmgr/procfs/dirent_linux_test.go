package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// TestEachEntryUnderSignals: getdents64 returns early, with fewer entries
// than fit, when a signal is pending (fs/readdir.c), and Go's scheduler
// signals its threads (SIGURG) to preempt goroutines. A short read is not
// the end of the directory: every entry must still be listed.
func TestEachEntryUnderSignals(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	for i := range n {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				syscall.Kill(os.Getpid(), syscall.SIGURG) // ignored by Go, but pending
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for round := range 300 {
		got := 0
		if err := eachEntry(dir, func(int, []byte) { got++ }); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Fatalf("round %d: listed %d of %d entries", round, got, n)
		}
	}
}
