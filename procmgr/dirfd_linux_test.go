package procmgr

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// size reads a file's size without opening it, and never follows a
// symlink: the rotation's look at every output file.
func TestHeldDirSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(big, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.log"), []byte("12345"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(big, filepath.Join(dir, "link.log")); err != nil {
		t.Fatal(err)
	}
	d, err := openHeldDir(dir, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	cases := []struct {
		name    string
		size    int64
		missing bool
	}{
		{"p.log", 5, false},
		{"link.log", int64(len(big)), false}, // the link's own size, not its target's
		{"absent.log", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			size, err := d.size(tc.name)
			if tc.missing {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("size = %d, %v; want not exist", size, err)
				}
				return
			}
			if err != nil || size != tc.size {
				t.Fatalf("size = %d, %v; want %d", size, err, tc.size)
			}
		})
	}
}
