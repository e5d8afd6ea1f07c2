package safedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const nobody = 65534

// TestCheck builds each layout under a fresh temporary directory (root
// owned 0700 under the sticky, root-owned /tmp: itself a passing layout)
// and checks the verdict and the component it names.
func TestCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the layouts chown directories to nobody")
	}
	type layout func(t *testing.T, base string) string // returns the dir to check
	mkdir := func(t *testing.T, p string, mode os.FileMode, uid int) {
		t.Helper()
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		make layout
		bad  string // "" when the layout passes; else the base-relative component named
		why  string
	}{
		{"root 0755", func(t *testing.T, b string) string {
			mkdir(t, b+"/state", 0o755, 0)
			return b + "/state"
		}, "", ""},
		{"not created yet under a good parent", func(t *testing.T, b string) string {
			return b + "/a/b/state"
		}, "", ""},
		{"owned by nobody", func(t *testing.T, b string) string {
			mkdir(t, b+"/home", 0o755, nobody)
			mkdir(t, b+"/home/state", 0o755, 0)
			return b + "/home/state"
		}, "/home", "owned by uid 65534"},
		{"not created yet under a user's home", func(t *testing.T, b string) string {
			mkdir(t, b+"/home", 0o700, nobody)
			return b + "/home/ocp/state"
		}, "/home", "owned by uid 65534"},
		{"world-writable", func(t *testing.T, b string) string {
			mkdir(t, b+"/state", 0o777, 0)
			return b + "/state"
		}, "/state", "writable by everyone"},
		{"group-writable parent", func(t *testing.T, b string) string {
			mkdir(t, b+"/p", 0o775, 0)
			mkdir(t, b+"/p/state", 0o755, 0)
			return b + "/p/state"
		}, "/p", "writable by its group"},
		{"sticky parent, root-owned child", func(t *testing.T, b string) string {
			mkdir(t, b+"/tmp", os.ModeSticky|0o777, 0)
			mkdir(t, b+"/tmp/state", 0o755, 0)
			return b + "/tmp/state"
		}, "", ""},
		{"sticky parent, child owned by nobody", func(t *testing.T, b string) string {
			mkdir(t, b+"/tmp", os.ModeSticky|0o777, 0)
			mkdir(t, b+"/tmp/x", 0o755, nobody)
			mkdir(t, b+"/tmp/x/state", 0o755, 0)
			return b + "/tmp/x/state"
		}, "/tmp/x", "owned by uid 65534 in"},
		{"sticky directory itself", func(t *testing.T, b string) string {
			mkdir(t, b+"/tmp", os.ModeSticky|0o777, 0)
			return b + "/tmp"
		}, "/tmp", "writable by everyone"},
		{"symlink to a good dir", func(t *testing.T, b string) string {
			mkdir(t, b+"/real", 0o755, 0)
			if err := os.Symlink("real", b+"/link"); err != nil {
				t.Fatal(err)
			}
			return b + "/link"
		}, "", ""},
		{"symlink in a user's dir", func(t *testing.T, b string) string {
			mkdir(t, b+"/real", 0o755, 0)
			mkdir(t, b+"/home", 0o755, nobody)
			if err := os.Symlink(b+"/real", b+"/home/link"); err != nil {
				t.Fatal(err)
			}
			return b + "/home/link"
		}, "/home", "owned by uid 65534"},
		{"symlink to a user's dir", func(t *testing.T, b string) string {
			mkdir(t, b+"/home", 0o755, nobody)
			if err := os.Symlink(b+"/home", b+"/link"); err != nil {
				t.Fatal(err)
			}
			return b + "/link/state"
		}, "/home", "owned by uid 65534"},
		{"a file", func(t *testing.T, b string) string {
			if err := os.WriteFile(b+"/f", nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return b + "/f"
		}, "/f", "is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := tc.make(t, base)
			err := Check(dir)
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("Check(%s): %v", dir, err)
				}
				return
			}
			var ue *UntrustedError
			if !errors.As(err, &ue) {
				t.Fatalf("Check(%s) = %v, want an UntrustedError", dir, err)
			}
			if want := base + tc.bad; ue.Bad != want || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("Check(%s) = %q (bad %s), want %s %q", dir, err, ue.Bad, want, tc.why)
			}
		})
	}
}

func TestCheckRelative(t *testing.T) {
	if err := Check("state"); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("Check(relative) = %v", err)
	}
}

// TestCheckTempDir: the layout every other test's state_dir uses passes.
func TestCheckTempDir(t *testing.T) {
	if err := Check(filepath.Join(t.TempDir(), "state")); err != nil {
		t.Errorf("a state_dir under t.TempDir() is refused: %v", err)
	}
}
