// Package testdir makes directories for tests whose processes run as
// another user.
package testdir

import (
	"os"
	"testing"
)

// Shared returns a new directory that every user can search, removed when
// the test ends. t.TempDir will not do for processes of another user: its
// parent is private to the user running the tests.
func Shared(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ocp-agent-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
