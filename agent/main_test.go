package agent

import (
	"os"
	"testing"
)

// TestMain removes what the benchmarks shared (benchManaged) once all
// have run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchManagedDir != "" {
		os.RemoveAll(benchManagedDir)
	}
	os.Exit(code)
}
