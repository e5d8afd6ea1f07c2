package procmgr

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// victimFile is a root-owned file the agent must never write through a
// link: its content, mode and owner are compared at the end of the test.
type victimFile struct {
	path string
	was  victimFileState
}

type victimFileState struct {
	content  string
	mode     os.FileMode
	uid, gid uint32
}

func newVictimFile(t *testing.T, dir string) *victimFile {
	t.Helper()
	p := filepath.Join(dir, "passwd")
	if err := os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v := &victimFile{path: p}
	v.was = v.state(t)
	return v
}

func (v *victimFile) state(t *testing.T) victimFileState {
	t.Helper()
	b, err := os.ReadFile(v.path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(v.path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return victimFileState{string(b), fi.Mode(), st.Uid, st.Gid}
}

func (v *victimFile) unchanged(t *testing.T) {
	t.Helper()
	if now := v.state(t); now != v.was {
		t.Errorf("victimFile changed: was %+v, now %+v", v.was, now)
	}
}

func needRootAndNobody(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs the process as nobody and chowns directories")
	}
}

// TestOutputDirOwnedByUserRefused: an output directory the managed user
// owns (state_dir under its home) or anyone may write is refused, naming
// the directory, so the user never gets to swap the agent's files.
func TestOutputDirOwnedByUserRefused(t *testing.T) {
	needRootAndNobody(t)
	cases := []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"owned by nobody", func(d string) error { return os.Chown(d, 65534, 65534) }, "owned by uid 65534"},
		{"world-writable", func(d string) error { return os.Chmod(d, 0o777) }, "writable by others"},
		{"group-writable", func(d string) error { return os.Chmod(d, 0o770) }, "writable by others"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "output")
			if err := os.Mkdir(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			_, err := New(Options{Store: h.store, OutputDir: dir}, []Spec{spec("p", "true")})
			if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %s and %q", err, dir, tc.want)
			}
		})
	}
}

// TestLinksInStateDirNotFollowed: a symlink or hard link to a root-owned
// victimFile in place of a file the agent writes (the output, a backup, the
// pid file) is never written through, while a process runs as nobody.
func TestLinksInStateDirNotFollowed(t *testing.T) {
	needRootAndNobody(t)
	cases := []struct {
		name      string
		file      string // relative to the output dir
		hard      bool
		startFail string // "" when the start succeeds
	}{
		{"symlink as output", "p.log", false, "too many levels of symbolic links"},
		{"hard link as output", "p.log", true, "not a regular file with a single link"},
		{"symlink as first backup", "p.log.1", false, ""},
		{"symlink as second backup", "p.log.2", false, ""},
		{"symlink as pid file", "run/p.pid", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.outputMaxSize = 1024
			v := newVictimFile(t, h.outDir) // same file system: a hard link is possible
			if err := os.MkdirAll(filepath.Join(h.outDir, "run"), 0o755); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(h.outDir, tc.file)
			link2 := os.Symlink
			if tc.hard {
				link2 = os.Link
			}
			if err := link2(v.path, link); err != nil {
				t.Fatal(err)
			}
			sp := spec("p", "while :; do echo 0123456789012345678901234567890123456789; sleep 0.01; done")
			sp.User = "nobody"
			m := h.open(sp)
			_, err := m.Start(ctxT(t), "p")
			if tc.startFail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.startFail) {
					t.Fatalf("start = %v, want %q", err, tc.startFail)
				}
				v.unchanged(t)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(h.outDir, "p.log")
			waitFor(t, "two rotations", func() bool { _, err := os.Stat(out + ".2"); return err == nil })
			v.unchanged(t)
			if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 && tc.file == "run/p.pid" {
				t.Errorf("the pid file is still a symlink")
			}
			if s, _ := m.Snapshot("p"); !s.Running {
				t.Errorf("the process stopped: %+v", s)
			}
		})
	}
}

// TestFastWriterStaysNearTheCap: a process writing as fast as it can, as
// nobody, never makes its output much larger than the cap, and the agent's
// own writes (the copies into backups) stay bounded by the cap per second.
func TestFastWriterStaysNearTheCap(t *testing.T) {
	needRootAndNobody(t)
	dd, err := exec.LookPath("dd")
	if err != nil {
		t.Skip("dd not installed (coreutils)")
	}
	const capSize = defaultOutputMaxSize
	const run = 4 * time.Second
	h := newHarness(t)
	h.outputMaxSize = capSize
	sp := spec("fast", dd+" if=/dev/zero bs=64k")
	sp.User = "nobody"
	m := h.open(sp)
	ioBefore := selfIO(t)
	start := time.Now()
	mustStart(t, m, "fast")
	path := filepath.Join(h.outDir, "fast.log")
	var peak, samples int64
	for time.Since(start) < run {
		if fi, err := os.Stat(path); err == nil {
			peak = max(peak, fi.Size())
		}
		samples++
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	ioAfter := selfIO(t) // before the stop: a reaped child's I/O is added to its parent's
	if _, err := m.Stop(ctxT(t), "fast"); err != nil {
		t.Fatal(err)
	}
	copied, dropped := m.rotated.copied.Load(), m.rotated.dropped.Load()
	t.Logf("cap %d B, %v: child wrote about %d MiB; file peak %d B (%.1f x cap, %d samples); agent copied %d B (%.1f x cap), dropped %d B; /proc/self/io write_bytes +%d, wchar +%d",
		capSize, took.Round(time.Millisecond), (copied+dropped)>>20, peak, float64(peak)/capSize, samples,
		copied, float64(copied)/capSize, dropped, ioAfter["write_bytes"]-ioBefore["write_bytes"], ioAfter["wchar"]-ioBefore["wchar"])
	// Generous: how far the file gets past the cap is how fast the child
	// writes times how long the watch waits for a CPU. Alone here, 3 to 4
	// times the cap; on a host whose cores were both busy with other
	// builds, 52 times once (the child had a core of its own, the agent
	// did not). What must hold at any rate is the bound on the agent's own
	// writes (below) and that the file comes back under the cap.
	if peak > 128*capSize {
		t.Errorf("the output reached %d bytes, %d times the cap", peak, peak/capSize)
	}
	waitFor(t, "the output back under its cap", func() bool {
		fi, err := os.Stat(filepath.Join(h.outDir, "fast.log"))
		return err == nil && fi.Size() <= capSize
	})
	// One copy of at most the cap per second, plus the slack of the edges.
	if limit := int64(took/copyEvery+2) * capSize; copied > limit {
		t.Errorf("the agent copied %d bytes in %v, more than %d", copied, took, limit)
	}
	if dropped == 0 {
		t.Errorf("nothing dropped: the writer was not fast, the test proves nothing")
	}
}

// selfIO reads /proc/self/io.
func selfIO(t *testing.T) map[string]int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Logf("no /proc/self/io: %v", err)
		return map[string]int64{}
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			out[k] = n
		}
	}
	return out
}
