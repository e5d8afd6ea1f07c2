//go:build linux

package procfs

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The listing's readers must say exactly what the plain ones say.

func TestJoinCmdlineMatchesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cmdline", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := joinCmdline(b), strings.Join(parseCmdline(b), " "); got != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
}

func FuzzJoinCmdline(f *testing.F) {
	f.Add([]byte("sleep\x0030\x00"))
	f.Add([]byte("printf\x00\x00x\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := joinCmdline(b), strings.Join(parseCmdline(b), " "); got != want {
			t.Fatalf("%q: %q, want %q", b, got, want)
		}
	})
}

func TestLiveCommandLine(t *testing.T) {
	argv, err := Default.Cmdline(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Default.CommandLine(os.Getpid())
	if err != nil || got != strings.Join(argv, " ") {
		t.Errorf("CommandLine = %q, %v; Cmdline says %q", got, err, argv)
	}
	if _, err := fixtureFS.CommandLine(999999); !os.IsNotExist(err) {
		t.Errorf("gone process: %v, want not exist", err)
	}
}

// dirent encodes a struct linux_dirent64.
func dirent(name string) []byte {
	n := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b, 1)
	binary.NativeEndian.PutUint16(b[16:], uint16(n))
	b[18] = 10 // DT_LNK
	copy(b[19:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	b := slices.Concat(dirent("."), dirent(".."), dirent("0"), dirent("12345"), dirent("..."))
	var got []string
	parseDirents(b, func(name []byte) { got = append(got, string(name)) })
	if want := []string{"0", "12345", "..."}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A record claiming more than there is ends the parse.
	bad := dirent("7")
	binary.NativeEndian.PutUint16(bad[16:], 200)
	got = nil
	parseDirents(slices.Concat(dirent("6"), bad), func(name []byte) { got = append(got, string(name)) })
	if want := []string{"6"}; !slices.Equal(got, want) {
		t.Errorf("truncated: got %q, want %q", got, want)
	}
}

func FuzzParseDirents(f *testing.F) {
	f.Add(slices.Concat(dirent("."), dirent("3"), dirent("socket")))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDirents(b, func(name []byte) {
			if slices.Contains(name, 0) {
				t.Fatalf("name with a NUL: %q", name)
			}
		})
	})
}

// TestOwnSocketsMatchLinks: the agent's own fds, by fstat, say what their
// links say.
func TestOwnSocketsMatchLinks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dir := Default.pidPath(os.Getpid(), "fd")
	own, err := ownSockets(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	links, err := socketLinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(own)
	slices.Sort(links)
	if !slices.Equal(own, links) || len(own) < 2 {
		t.Errorf("fstat says %v, links say %v", own, links)
	}
}

// TestReadRecordWhole: reading a per-process file until a short read
// gives the whole file, however large, as os.ReadFile does.
func TestReadRecordWhole(t *testing.T) {
	// A child with a command line larger than the pooled buffers, stopped
	// so that its stat and status stay the same between two reads.
	// (sleep itself would exit at once on the extra arguments, and did,
	// when a loaded machine let it run before the SIGSTOP: sh stays, as
	// its last command is a builtin, and ignores them.)
	long := strings.Repeat("x", 3000)
	cmd := exec.Command("sh", "-c", "sleep 1000; :", "sh", long, long, long, long)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that its sleep goes with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		st, err := Default.Stat(cmd.Process.Pid)
		if err == nil && st.State == 'T' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child not stopped: %+v %v", st, err)
		}
	}
	// SigQ counts the signals queued for the whole uid, which other
	// processes change between two reads: it is left out of the match.
	sigQ := regexp.MustCompile(`(?m)^SigQ:.*$`)
	for _, name := range []string{"cmdline", "stat", "status"} {
		path := Default.pidPath(cmd.Process.Pid, name)
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want = sigQ.ReplaceAll(want, nil)
		for _, size := range []int{0, 64, 4096} {
			got, err := readRecord(path, make([]byte, 0, size))
			got = sigQ.ReplaceAll(got, nil)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s, buffer of %d: %d bytes, %v; want %d bytes", name, size, len(got), err, len(want))
			}
		}
	}
}

// TestManyFds lists an fd directory that takes several getdents calls.
func TestManyFds(t *testing.T) {
	var want []uint64
	for range 600 {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		want = append(want, st.Ino)
	}
	dir := Default.pidPath(os.Getpid(), "fd")
	for name, list := range map[string]func(string) ([]uint64, error){
		"links": socketLinks,
		"fstat": func(dir string) ([]uint64, error) { return ownSockets(dir, nil) },
	} {
		got, err := list(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, ino := range want {
			if !slices.Contains(got, ino) {
				t.Fatalf("%s: socket %d of %d missing (%d found)", name, ino, len(want), len(got))
			}
		}
	}
}
