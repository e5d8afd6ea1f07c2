package procmgr

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestReaperNeverTakesASpawnedChild: processes that exit at once, started
// together while orphans are reaped (each exit is a SIGCHLD, and a pass of
// the reaper), all report their own exit status: the reaper never reaps
// an instance procmgr spawned, however soon it dies after its fork.
func TestReaperNeverTakesASpawnedChild(t *testing.T) {
	const n = 30
	h := newHarness(t)
	var specs []Spec
	for i := range n {
		sp := spec(fmt.Sprintf("p%d", i), `sh -c "exit 7"`)
		sp.ID = int64(i + 1)
		sp.StartWait = time.Minute // each start ends with its exit, however slow the machine
		specs = append(specs, sp)
	}
	m := h.open(specs...)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = m.Start(ctxT(t), specs[i].Alias)
		})
	}
	wg.Wait()
	for i, err := range errs {
		var se *StartError
		if !errors.As(err, &se) || se.ExitStatus != 7 {
			t.Errorf("start of %s: %v; want it to fail with exit status 7", specs[i].Alias, err)
		}
	}
}
