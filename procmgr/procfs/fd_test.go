package procfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		target string
		want   uint64
		ok     bool
	}{
		{"socket:[10316]", 10316, true},
		{"socket:[0]", 0, true},
		{"socket:[18446744073709551615]", 18446744073709551615, true},
		{"socket:[18446744073709551616]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[12", 0, false},
		{"socket:[x]", 0, false},
		{"socket:[-1]", 0, false},
		{"pipe:[10316]", 0, false},
		{"anon_inode:[eventpoll]", 0, false},
		{"/dev/null", 0, false},
		{"/tmp/socket:[5]", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSocketLink(tt.target)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSocketLink(%q) = %d, %v; want %d, %v", tt.target, got, ok, tt.want, tt.ok)
		}
	}
}

// fdTree makes root/PID/fd with the given links (name -> target).
func fdTree(t *testing.T, pid string, links map[string]string) FS {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, pid, "fd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return FS{Root: root}
}

func TestSocketInodesFixture(t *testing.T) {
	fsys := fdTree(t, "10", map[string]string{
		"0":  "/dev/null",
		"1":  "socket:[333]",
		"2":  "pipe:[222]",
		"3":  "socket:[111]",
		"4":  "socket:[333]", // dup of 1
		"5":  "anon_inode:[eventpoll]",
		"6":  "socket:[x]",
		"7":  "socket:[12",
		"10": "socket:[18446744073709551615]",
	})
	got, err := fsys.SocketInodes(10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{111, 333, 18446744073709551615}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	got, err = fdTree(t, "11", nil).SocketInodes(11)
	if err != nil || len(got) != 0 {
		t.Errorf("no fds: got %v, %v; want none, nil", got, err)
	}

	if _, err := fsys.SocketInodes(12); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing pid: %v, want fs.ErrNotExist", err)
	}
}

func TestSocketInodesPermissionFixture(t *testing.T) {
	// Proves that EACCES on the fd directory comes back as fs.ErrPermission.
	// Root reads a mode-000 directory anyway (CAP_DAC_OVERRIDE), so this
	// runs only unprivileged; TestLiveSocketInodesPermission covers root.
	if os.Geteuid() == 0 {
		t.Skip("root bypasses directory permissions; see TestLiveSocketInodesPermission")
	}
	fsys := fdTree(t, "10", map[string]string{"3": "socket:[111]"})
	dir := filepath.Join(fsys.Root, "10", "fd")
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	_, err := fsys.SocketInodes(10)
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("error %v, want one wrapping fs.ErrPermission", err)
	}
}

func TestSocketInodesOtherErrors(t *testing.T) {
	// An fd "directory" that is a file gives ENOTDIR: neither "gone" nor
	// "permission", so callers do not mistake it for either.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "10"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "10", "fd"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FS{Root: root}.SocketInodes(10)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		t.Errorf("error %v, want one that is neither ErrNotExist nor ErrPermission", err)
	}
}
