package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

// readFixture returns the contents of testdata/<name>.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureFS is the fixture tree testdata/proc.
var fixtureFS = FS{Root: filepath.Join("testdata", "proc")}
