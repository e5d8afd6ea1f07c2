//go:build linux

package procfs

import (
	"strings"
	"testing"
	"time"
)

func TestLiveBootID(t *testing.T) {
	id, err := Default.BootID()
	if err != nil {
		t.Fatal(err)
	}
	// A UUID: 8-4-4-4-12 hex digits.
	parts := strings.Split(id, "-")
	if len(id) != 36 || len(parts) != 5 || len(parts[0]) != 8 || len(parts[4]) != 12 {
		t.Errorf("boot id %q is not a UUID", id)
	}
	if again, _ := Default.BootID(); again != id {
		t.Errorf("boot id changed from %q to %q", id, again)
	}
}

func TestLiveElapsed(t *testing.T) {
	before := time.Now()
	child := startChild(t, nil, "sleep", "30")
	const wait = 200 * time.Millisecond
	time.Sleep(wait)
	s, err := Default.Stat(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Elapsed(s.StartTicks)
	if err != nil {
		t.Fatal(err)
	}
	// The child started after before and before the sleep; the start time
	// is rounded down to a tick, which can only add to the elapsed time.
	if upper := time.Since(before) + tick; e < wait || e > upper {
		t.Errorf("Elapsed of the child = %v, want between %v and %v", e, wait, upper)
	}

	init, err := Default.Stat(1)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := SinceBoot()
	if err != nil {
		t.Fatal(err)
	}
	e1, err := Elapsed(init.StartTicks)
	if err != nil {
		t.Fatal(err)
	}
	// pid 1 started StartTicks after boot (right at boot on a host, later
	// in a container): Elapsed is SinceBoot less that, and at least the
	// child's.
	startedAt := time.Duration(init.StartTicks) * tick
	if d := boot - startedAt - e1; d < -time.Second || d > time.Second {
		t.Errorf("Elapsed(pid 1) = %v, want about SinceBoot %v - %v", e1, boot, startedAt)
	}
	if e1 < e {
		t.Errorf("pid 1 (%v) younger than the child (%v)", e1, e)
	}
	t.Logf("pid 1 started %v after boot; elapsed %v of %v since boot", startedAt, e1, boot)
}
