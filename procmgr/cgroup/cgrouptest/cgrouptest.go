// Package cgrouptest gives tests a cgroup root of their own under this
// host's cgroup2 mount, removed at the end with whatever is left in it, so
// that tests never create cgroups anywhere else.
package cgrouptest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// Root returns the path of a new cgroup root for t (not made yet: the
// agent makes it when it opens it), or "" and why there can be none here
// (not root, no writable cgroup2 mount). At the end of t, what runs in the
// cgroups below it is killed and they are removed.
func Root(t testing.TB) (string, string) {
	t.Helper()
	if os.Getuid() != 0 {
		return "", "creating cgroups needs root"
	}
	host, err := cgroup.ReadHost()
	if err != nil {
		return "", err.Error()
	}
	p, err := cgroup.Resolve("auto", host)
	if err != nil {
		return "", err.Error()
	}
	if p.Mount == "" {
		return "", "no writable cgroup2 mount: " + p.Reason
	}
	b := make([]byte, 4)
	rand.Read(b)
	root := filepath.Join(p.Mount, fmt.Sprintf("ocp-agent-test-%d-%s", os.Getpid(), hex.EncodeToString(b)))
	t.Cleanup(func() { Remove(t, root) })
	return root, ""
}

// Hierarchy opens a new cgroup root for t, or skips t saying why there
// can be none here.
func Hierarchy(t testing.TB) *cgroup.Hierarchy {
	t.Helper()
	root, why := Root(t)
	if root == "" {
		t.Skip(why)
	}
	h, _, err := cgroup.Open(root)
	if err != nil {
		t.Fatalf("open cgroup root %s: %v", root, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Remove kills what runs in root's cgroups and removes them and root.
func Remove(t testing.TB, root string) {
	es, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	for _, e := range es {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if err := syscall.Rmdir(dir); err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Errorf("cleanup: rmdir %s: %v", dir, err)
				}
				break
			}
		}
	}
	if err := syscall.Rmdir(root); err != nil {
		t.Errorf("cleanup: rmdir %s: %v", root, err)
	}
}
