// Package cgrouptest gives tests a cgroup Hierarchy of their own under
// this host's cgroup2 mount, removed with everything in it when they end.
package cgrouptest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// Hierarchy opens a Hierarchy on a temporary root named after prefix; the
// test is skipped, saying why, when not root or without a writable
// cgroup2. At the end each cgroup in it is killed and removed, then the
// root.
func Hierarchy(tb testing.TB, prefix string) *cgroup.Hierarchy {
	tb.Helper()
	if os.Getuid() != 0 {
		tb.Skip("creating cgroups needs root")
	}
	host, err := cgroup.ReadHost()
	if err != nil {
		tb.Fatal(err)
	}
	p, err := cgroup.Resolve("auto", host)
	if err != nil || p.Mount == "" {
		tb.Skipf("no writable cgroup2 here: %v %s", err, p.Reason)
	}
	b := make([]byte, 4)
	rand.Read(b)
	root := filepath.Join(p.Mount, fmt.Sprintf("ocp-agent-test-%s-%d-%s", prefix, os.Getpid(), hex.EncodeToString(b)))
	h, _, err := cgroup.Open(root)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		aliases, _ := h.Aliases()
		for _, a := range aliases {
			c, err := h.Lookup(a)
			if err != nil {
				continue
			}
			if empty, err := c.Empty(); err == nil {
				c.Kill()
				select {
				case <-empty:
				case <-time.After(30 * time.Second):
				}
			}
			if err := c.Remove(); err != nil {
				tb.Errorf("cleanup: %v", err)
			}
		}
		h.Close()
		if err := os.Remove(root); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
	return h
}
