package procmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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

// TestWriteAtomic: the file has the data and mode 0644 whatever the umask,
// replaces what was there (a symlink itself, not its target), and no
// temporary file is left.
func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	d, err := openHeldDir(dir, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("theirs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "p.pid")); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	err = d.writeAtomic("p.pid", []byte("42\n"))
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "p.pid"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("p.pid: %v, %v; want a regular file, mode 0644", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "p.pid")); string(b) != "42\n" {
		t.Errorf("p.pid holds %q", b)
	}
	if b, _ := os.ReadFile(target); string(b) != "theirs\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("directory holds %d entries, want the pid file alone", len(es))
	}
}

// BenchmarkWriteAtomic100 is the pid files of a burst of 100 starts: 100
// files written at once in one directory, each by its own goroutine.
func BenchmarkWriteAtomic100(b *testing.B) {
	d, err := openHeldDir(filepath.Join(b.TempDir(), "run"), 0o755)
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				if err := d.writeAtomic(fmt.Sprintf("p%d.pid", i), []byte("12345\n")); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
}
