package procfs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
)

// TestProcessReadsAsFresh: a held Process answers what fresh reads of the
// same files answer, with the real uid from a pidfd and from status.
func TestProcessReadsAsFresh(t *testing.T) {
	var attr *syscall.SysProcAttr
	wantUID := os.Getuid()
	if os.Getuid() == 0 {
		// A uid other than the reader's, to tell them apart.
		attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		wantUID = nobody
	}
	pid := startChild(t, attr, "sleep", "1000").Process.Pid
	waitFor(t, "exec of sleep", func() bool {
		c, err := Default.CommandLine(pid)
		return err == nil && c == "sleep 1000"
	})
	for _, tc := range []struct {
		name string
		fs   FS
	}{
		{"pidfd", Default},
		{"status", FS{Root: "/proc", NoPidfd: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.fs.OpenProcess(pid)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			// A pidfd exactly where the kernel answers it, and not with NoPidfd.
			if held := p.pidfd >= 0; held != tc.fs.MayAskPidfds() || (held && p.status >= 0) {
				t.Errorf("pidfd %d, status %d; MayAskPidfds %v", p.pidfd, p.status, tc.fs.MayAskPidfds())
			}
			for range 2 { // a second read is made afresh too
				st, err := p.Stat()
				want, werr := tc.fs.Stat(pid)
				st.State, want.State = 0, 0 // sleeping or not, as it pleases
				if err != nil || werr != nil || st != want {
					t.Errorf("Stat: %+v, %v; fresh %+v, %v", st, err, want, werr)
				}
				cmd, err := p.CommandLine()
				if err != nil || cmd != "sleep 1000" {
					t.Errorf("CommandLine: %q, %v", cmd, err)
				}
				uid, err := p.RealUID()
				if err != nil || uid != wantUID {
					t.Errorf("RealUID: %d, %v; want %d", uid, err, wantUID)
				}
			}
		})
	}
}

// TestProcessFollowsItsProcess: a held Process reads what its process is
// now (here its command line across an exec), shows it as a zombie once it
// exits, and fails as gone once it is reaped, whoever has its pid then.
func TestProcessFollowsItsProcess(t *testing.T) {
	// The shell waits for its stdin to close, then execs sleep.
	cmd := exec.Command("sh", "-c", "read x; exec sleep 1000")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	pid := cmd.Process.Pid
	p, err := Default.OpenProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, "exec of sh", func() bool {
		c, err := p.CommandLine()
		return err == nil && c == "sh -c read x; exec sleep 1000"
	})
	stdin.Close()
	waitFor(t, "exec of sleep", func() bool {
		c, err := p.CommandLine()
		return err == nil && c == "sleep 1000"
	})

	// Exited, not reaped: a zombie. Reaped: gone.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "zombie", func() bool {
		st, err := p.Stat()
		return err == nil && st.State == 'Z'
	})
	cmd.Wait()
	if _, err := p.Stat(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of the reaped process: %v, want fs.ErrNotExist", err)
	}
	if _, err := p.CommandLine(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CommandLine of the reaped process: %v, want fs.ErrNotExist", err)
	}
	if _, err := p.RealUID(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RealUID of the reaped process: %v, want fs.ErrNotExist", err)
	}
	if _, err := Default.OpenProcess(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenProcess of the reaped process: %v, want fs.ErrNotExist", err)
	}
}

// TestOwnSocketInodesSkips: the fds in held are not looked at, even a
// socket (as the caller says), and every other socket is found.
func TestOwnSocketInodesSkips(t *testing.T) {
	var held FDSet
	add := func(fd int) { held.Add(fd) }
	ino := func(fd int) uint64 {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	for range 100 {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		add(fd)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	add(fds[1])
	got, err := Default.OwnSocketInodes(held)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, ino(fds[0])) || slices.Contains(got, ino(fds[1])) {
		t.Errorf("inodes %v: want %d, not %d", got, ino(fds[0]), ino(fds[1]))
	}
	all, err := Default.SocketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(all, ino(fds[0])) || !slices.Contains(all, ino(fds[1])) {
		t.Errorf("SocketInodes %v lacks the pair", all)
	}
	if len(got) != len(all)-1 {
		t.Errorf("%d sockets but the held one, %d in all", len(got), len(all))
	}
}
