package procfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseChildren(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []int
		bad  bool
	}{
		{name: "none", in: "", want: nil},
		{name: "kernel's form", in: "4242 4250 ", want: []int{4242, 4250}},
		{name: "newline", in: "7\n", want: []int{7}},
		{name: "not a pid", in: "12 x ", bad: true},
		{name: "zero", in: "0 ", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChildren([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseChildren(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("ParseChildren(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// writeTree writes files (path relative to root: contents) under a new
// root and returns its FS.
func writeTree(t *testing.T, files map[string]string) FS {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return FS{Root: root}
}

func TestChildren(t *testing.T) {
	t.Run("every thread's", func(t *testing.T) {
		fsys := writeTree(t, map[string]string{
			"100/task/100/children": "300 105 ",
			"100/task/101/children": "200 ",
			"100/task/102/children": "",
		})
		got, err := fsys.Children(100)
		if err != nil || !slices.Equal(got, []int{105, 200, 300}) {
			t.Fatalf("Children = %v, %v; want [105 200 300]", got, err)
		}
	})
	t.Run("kernel without the files", func(t *testing.T) {
		fsys := writeTree(t, map[string]string{"100/task/100/stat": "x"})
		if _, err := fsys.Children(100); !errors.Is(err, ErrNoChildren) {
			t.Fatalf("Children = %v, want ErrNoChildren", err)
		}
	})
	t.Run("gone", func(t *testing.T) {
		fsys := writeTree(t, map[string]string{"100/task/100/children": ""})
		if _, err := fsys.Children(99); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Children of a missing pid = %v, want ErrNotExist", err)
		}
	})
}

// TestLiveChildren: a child of this process is among its children, once
// started and until reaped.
func TestLiveChildren(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kids, err := Default.Children(os.Getpid())
	cmd.Process.Kill()
	cmd.Wait()
	if errors.Is(err, ErrNoChildren) {
		t.Skip(err)
	}
	if err != nil || !slices.Contains(kids, cmd.Process.Pid) {
		t.Fatalf("Children(self) = %v, %v; want it to hold %d", kids, err, cmd.Process.Pid)
	}
	kids, err = Default.Children(os.Getpid())
	if err != nil || slices.Contains(kids, cmd.Process.Pid) {
		t.Fatalf("Children(self) after the reap = %v, %v; want %d gone", kids, err, cmd.Process.Pid)
	}
}
