package procmgr

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("running processes as nobody and owning files as root needs root")
	}
}

// nobody returns the uid and gid of the user nobody.
func nobody(t *testing.T) (int, int) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// nobodyDir is a directory that nobody can write in (t.TempDir's parent
// is root's alone).
func nobodyDir(t *testing.T) string {
	t.Helper()
	uid, gid := nobody(t)
	dir, err := os.MkdirTemp("", "ocp-adopt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// victim is a process the test runs as root that no managed process may
// have adopted or signalled.
type victim struct {
	pid   int
	ticks uint64
}

func newVictim(t *testing.T) victim {
	t.Helper()
	pid := startSleep(t, "1000")
	return victim{pid: pid, ticks: mustTicks(t, pid)}
}

func (v victim) check(t *testing.T) {
	t.Helper()
	st, err := procfs.Default.Stat(v.pid)
	if err != nil || st.StartTicks != v.ticks || st.State == 'Z' {
		t.Errorf("root victim %d was touched: %+v, %v", v.pid, st, err)
	}
}

// startAsNobody starts argv as nobody outside any manager.
func startAsNobody(t *testing.T, argv ...string) int {
	t.Helper()
	uid, gid := nobody(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestPidFileNamingAnotherUsersProcessIsRefused(t *testing.T) {
	needRoot(t)
	v := newVictim(t)
	dir := nobodyDir(t)
	pidFile := filepath.Join(dir, "x.pid")
	older := startAsNobody(t, "sleep", "1000") // nobody's, but older than the launch

	cases := []struct {
		name    string
		pid     int
		wantErr string
	}{
		{"root daemon", v.pid, "does not run as user nobody"},
		{"init", 1, "which is init or the agent"},
		{"the agent", os.Getpid(), "which is init or the agent"},
		{"kernel thread", 2, "which is a kernel thread"},
		{"nobody's process older than the launch", older, "started before the launch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if h.cgroups != nil && tc.wantErr == "started before the launch" {
				// With cgroups, descent from the launch is membership.
				tc.wantErr = "which is not in the cgroup"
			}
			sp := spec("p", fmt.Sprintf("echo %d > %s", tc.pid, pidFile))
			sp.User = "nobody"
			sp.PidFile = pidFile
			sp.StartWait = time.Second
			m := h.open(sp)
			_, err := m.Start(ctxT(t), "p")
			var se *StartError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("start = %v, want a StartError saying %q", err, tc.wantErr)
			}
			s, _ := m.Snapshot("p")
			if s.Running || !strings.Contains(s.LastError, tc.wantErr) || !strings.Contains(s.LastError, pidFile) {
				t.Errorf("snapshot %+v: want stopped, lastError naming %s and saying %q", s, pidFile, tc.wantErr)
			}
			if got, err := m.Stop(ctxT(t), "p"); err != nil || got.Running {
				t.Errorf("stop = %+v, %v", got, err)
			}
			v.check(t)
			if !alive(older) {
				t.Errorf("nobody's older process %d was killed", older)
			}
			if !alive(1) {
				t.Error("init is gone?")
			}
			// The agent keeps serving.
			if _, err := m.Stop(ctxT(t), "p"); err != nil {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

func TestPidFileAtAgentStartNamingRootProcessIsRefused(t *testing.T) {
	needRoot(t)
	uid, gid := nobody(t)
	v := newVictim(t)
	pidFile := filepath.Join(nobodyDir(t), "x.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(v.pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(pidFile, uid, gid)
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.User = "nobody"
	sp.PidFile = pidFile
	sp.Autostart = true
	m := h.open(sp)
	var s Snapshot
	waitFor(t, "a started instance", func() bool { s, _ = m.Snapshot("p"); return s.Phase == "running" })
	if s.PID == v.pid {
		t.Fatalf("adopted the root victim %d", v.pid)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	v.check(t)
}

func TestPidFileOfTheUsersDaemonIsFollowed(t *testing.T) {
	needRoot(t)
	dir := nobodyDir(t)
	pidFile := filepath.Join(dir, "d.pid")
	h := newHarness(t)
	// A daemon of nobody: the server setsid's away from the launcher,
	// which exits 0 once the pid file is written.
	sp := spec("p", fmt.Sprintf("setsid sleep 1000 < /dev/null > /dev/null 2>&1 & echo $! > %s", pidFile))
	sp.User = "nobody"
	sp.PidFile = pidFile
	sp.StartWait = time.Second
	m := h.open(sp)
	s := mustStart(t, m, "p")
	t.Cleanup(func() { killIfSame(s) })
	if s.LastError != "" {
		t.Errorf("lastError after a start that succeeded: %q", s.LastError)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	if alive(s.PID) {
		t.Errorf("daemon %d alive after stop", s.PID)
	}
}

// hostileLog captures what the manager logs, to look for leaked content.
func hostileLog(h *harness) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	h.log = zap.New(core)
	return logs
}

func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n * 1024
}

func TestHostilePidFilesAnswerPromptlyAndLeakNothing(t *testing.T) {
	const secret = "s3cr3t-pa55word-line"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "shadow")
	if err := os.WriteFile(secretFile, []byte("root:"+secret+":19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		make    func(path string) error
		wantErr string
	}{
		{"link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "is a symbolic link"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "is not a regular file"},
		{"link to a root-only file", func(p string) error { return os.Symlink(secretFile, p) }, "is a symbolic link"},
		{"secret content", func(p string) error { return os.WriteFile(p, []byte(secret+"\n"), 0o644) }, "does not hold a pid"},
		{"large file", func(p string) error { return os.WriteFile(p, []byte(strings.Repeat(secret, 1<<16)), 0o644) }, "larger than 64 bytes"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "is not a regular file"},
	}
	before := rss(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "x.pid")
			if err := tc.make(pidFile); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			logs := hostileLog(h)
			sp := spec("p", "true")
			sp.PidFile = pidFile
			sp.StartWait = 300 * time.Millisecond
			m := h.open(sp) // adoption at start reads it once already
			_, err := m.Start(ctxT(t), "p")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), secret) {
				t.Errorf("start = %v; want an error saying %q, without the content", err, tc.wantErr)
			}
			if _, err := m.Stop(ctxT(t), "p"); err != nil {
				t.Errorf("stop: %v", err)
			}
			s, _ := m.Snapshot("p")
			if strings.Contains(s.LastError, secret) {
				t.Errorf("lastError leaks the content: %q", s.LastError)
			}
			for _, e := range logs.All() {
				line := e.Message + fmt.Sprint(e.ContextMap())
				if strings.Contains(line, secret) {
					t.Errorf("log leaks the content: %s", line)
				}
			}
			if logs.FilterMessage("not following the pid file").Len() == 0 {
				t.Error("no log line says why the pid file was refused")
			}
		})
	}
	// Reading /dev/zero until the end would take all memory; 100 MiB
	// is far more than the manager's tests need.
	if grew := rss(t) - before; grew > 100<<20 {
		t.Errorf("resident memory grew by %d MiB", grew>>20)
	}
}

func TestPidFileOwnedByAnotherUserIsRefused(t *testing.T) {
	needRoot(t)
	uid, gid := nobody(t)
	path := filepath.Join(t.TempDir(), "x.pid")
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(path, uid, gid)
	if _, _, err := readPidFile(path, 0); err == nil || !strings.Contains(err.Error(), "is owned by uid") {
		t.Errorf("a root process's pid file owned by nobody: %v", err)
	}
	if pid, _, err := readPidFile(path, uid); err != nil || pid != os.Getpid() {
		t.Errorf("nobody's own pid file: %d, %v", pid, err)
	}
}

func TestParsePid(t *testing.T) {
	cases := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1234\n", 1234, true},
		{"  42  ", 42, true},
		{"42\nsecond line\n", 42, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5", 0, false},
		{"12a", 0, false},
		{"99999999999", 0, false},
		{"+12", 0, false},
	}
	for _, tc := range cases {
		got, ok := parsePid([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parsePid(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParsePid(f *testing.F) {
	for _, s := range []string{"1234\n", " 7 ", "x", "", "1\n2", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, ok := parsePid(b)
		if ok && (pid <= 0 || !strings.Contains(string(b), strconv.Itoa(pid))) {
			t.Errorf("parsePid(%q) = %d", b, pid)
		}
	})
}

func TestMatchAdoptsOnlyTheUsersProcesses(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("ocpvictim%d", time.Now().UnixNano()%1e9)
	// A root process that took the program's name (exec -a).
	p, err := os.StartProcess("/bin/sleep", []string{name, "1000"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	v := victim{pid: p.Pid, ticks: mustTicks(t, p.Pid)}
	h := newHarness(t)
	sp := spec("p", "sleep 1000")
	sp.User = "nobody"
	sp.Match = regexp.MustCompile(`^` + name + ` 1000$`)
	sp.Autostart = true
	m := h.open(sp)
	var s Snapshot
	waitFor(t, "running", func() bool { s, _ = m.Snapshot("p"); return s.Phase == "running" })
	if s.PID == v.pid {
		t.Fatalf("match adopted root's process %d", v.pid)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	v.check(t)

	// The same name under nobody is the user's own: it is adopted.
	mine := startAsNobody(t, "bash", "-c", "exec -a "+name+" sleep 1000")
	waitFor(t, "the renamed process", func() bool {
		argv, _ := procfs.Default.Cmdline(mine)
		return len(argv) > 0 && argv[0] == name
	})
	s, err = m.Start(ctxT(t), "p")
	if err != nil || s.PID != mine {
		t.Errorf("start = pid %d, %v; want nobody's matching %d adopted", s.PID, err, mine)
	}
	v.check(t)
}
