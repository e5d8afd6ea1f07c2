// Package freezer makes a process survive SIGKILL for tests: a task frozen
// by the cgroup v1 freezer sits in uninterruptible sleep, and a SIGKILL
// stays pending until it is thawed. It is the one way a test can bring
// about what a process stuck in the kernel (a dead NFS server, a failing
// disk) does to a stop: answer 40013.
package freezer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// root is where the cgroup v1 freezer hierarchy is mounted on the hosts
// the tests run on (cgroup v2's freezer lets fatal signals through, so it
// cannot serve).
const root = "/sys/fs/cgroup/freezer"

// Freeze moves pid into a freezer cgroup of its own and freezes it. It
// skips the test, with the reason, where that is impossible (not root, no
// cgroup v1 freezer). The returned thaw (also run at cleanup) thaws the
// cgroup and removes it once empty.
func Freeze(t testing.TB, pid int) (thaw func()) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("freezing a process needs root")
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		t.Skipf("no cgroup v1 freezer at %s: %v", root, err)
	}
	removeStale()
	dir := filepath.Join(root, fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(file, v string) error { return os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644) }
	thawed := false
	thaw = func() {
		if thawed {
			return
		}
		thawed = true
		if err := remove(dir); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(thaw)
	if err := write("cgroup.procs", strconv.Itoa(pid)); err != nil {
		t.Fatalf("move pid %d into %s: %v", pid, dir, err)
	}
	if err := write("freezer.state", "FROZEN"); err != nil {
		t.Fatalf("freeze %s: %v", dir, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		if err == nil && strings.TrimSpace(string(b)) == "FROZEN" {
			return thaw
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not freeze: %q, %v", dir, b, err)
		}
	}
}

// prefix starts the name of every cgroup Freeze makes, followed by the
// test process's pid and the frozen pid.
const prefix = "ocp-agent-test-"

// remove thaws the cgroup dir and removes it. A cgroup can only go once
// empty: what still lives in it goes back to the root cgroup (the test
// kills it as usual).
func remove(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0o644); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("thaw %s: %w", dir, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, p := range strings.Fields(string(b)) {
			_ = os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(p), 0o644)
		}
		err := os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
}

// removeStale thaws and removes the cgroups of test processes that died
// before their cleanup ran (a -timeout panic, a kill): their processes
// would stay frozen, and unkillable, for good.
func removeStale() {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		owner, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(owner)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = remove(filepath.Join(root, e.Name()))
		}
	}
}
