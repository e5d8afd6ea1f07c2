package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// TestConcurrentListsAndGets lists and gets from many goroutines at once
// (shared listings, facts read on all cores): every answer must be whole
// and right.
func TestConcurrentListsAndGets(t *testing.T) {
	const n = 4
	var procs strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&procs, "  - {alias: s%d, id: %d, start_command: \"sleep 1000\", start_wait: 0s}\n", i, i)
	}
	a, _ := runAgent(t, fmt.Sprintf("host: {id: 20}\nserver: {listen: \"127.0.0.1:0\"}\nauth: {disabled: true}\ncgroup: off\nstate_dir: %s\nprocesses:\n%s",
		openTempDir(t), procs.String()))
	ctx := context.Background()
	check := func(p api.HostAgentProcess) error {
		if p.Alias == SelfAlias {
			if p.Status != api.StatusStarted || p.StartCommand == nil {
				return fmt.Errorf("the agent itself: %+v", p)
			}
			return nil
		}
		if p.Status != api.StatusStarted || p.PID == 0 || p.User == nil || p.StartCommand == nil || *p.StartCommand != "sleep 1000" {
			return fmt.Errorf("%s: status %s pid %d user %v command %v", p.Alias, p.Status, p.PID, p.User, p.StartCommand)
		}
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps, err := a.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ok := len(ps) == n+1
		for _, p := range ps {
			ok = ok && check(p) == nil
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all started: %+v", ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if g%2 == 0 {
					ps, err := a.List(ctx)
					if err == nil && len(ps) != n+1 {
						err = fmt.Errorf("%d records, want %d", len(ps), n+1)
					}
					for _, p := range ps {
						if err == nil {
							err = check(p)
						}
					}
					if err != nil {
						errs <- err
						return
					}
				} else {
					p, err := a.Get(ctx, int64(g%n+1))
					if err == nil {
						err = check(p)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
