package procfs

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"golang.org/x/sys/unix"
)

// listenHelperEnv makes the test binary a child that opens a TCP listener
// and a bound UDP socket, prints "TCPPORT UDPPORT" and waits for its stdin
// to close.
const listenHelperEnv = "PROCFS_TEST_LISTEN"

func listenHelper() int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	fmt.Printf("%d %d\n", ln.Addr().(*net.TCPAddr).Port, u.LocalAddr().(*net.UDPAddr).Port)
	os.Stdin.Read(make([]byte, 1))
	return 0
}

// TestSocketsByCgroup: the sockets a child makes in a cgroup of its own are
// reported under that cgroup's id (its directory's inode), as ss sees them.
func TestSocketsByCgroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("creating a cgroup needs root")
	}
	host, err := cgroup.ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := cgroup.Resolve("auto", host)
	if err != nil || plan.Mount == "" {
		t.Skipf("no writable cgroup2: %v %s", err, plan.Reason)
	}
	dir := filepath.Join(plan.Mount, fmt.Sprintf("ocp-agent-test-sd-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		for range 500 {
			if syscall.Rmdir(dir) == nil {
				return
			}
			syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 10000})
		}
		t.Errorf("rmdir %s", dir)
	})
	fd, err := syscall.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), listenHelperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	var tcpPort, udpPort uint16
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if _, err := fmt.Sscan(line, &tcpPort, &udpPort); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}

	tab, byCgroup, err := Default.SocketsByCgroup()
	if err != nil {
		t.Fatal(err)
	}
	if byCgroup == nil {
		t.Skip("no cgroup ids from sock_diag on this kernel (Linux 5.9+ sends them)")
	}
	want := []uint16{min(tcpPort, udpPort), max(tcpPort, udpPort)}
	if got := byCgroup[st.Ino]; !slices.Equal(got, want) {
		t.Errorf("ports of cgroup %d: %v, want %v", st.Ino, got, want)
	}
	for id, ps := range byCgroup {
		if id != st.Ino && (slices.Contains(ps, tcpPort) && slices.Contains(ps, udpPort)) {
			t.Errorf("cgroup %d has the helper's ports too: %v", id, ps)
		}
		if !slices.IsSorted(ps) || len(slices.Compact(slices.Clone(ps))) != len(ps) {
			t.Errorf("cgroup %d: ports %v not ascending and unique", id, ps)
		}
	}
	plain, err := Default.Sockets()
	if err != nil {
		t.Fatal(err)
	}
	for ino, port := range tab {
		if p, ok := plain[ino]; ok && p != port {
			t.Errorf("inode %d: %d with cgroups, %d without", ino, port, p)
		}
	}

	// ss (iproute2) resolves the same ids to paths.
	out, err := exec.Command("ss", "-tlnH", "--cgroup").Output()
	if err != nil {
		t.Logf("ss not checked: %v", err)
		return
	}
	rel := strings.TrimPrefix(dir, plan.Mount)
	found := false
	for l := range strings.SplitSeq(string(out), "\n") {
		if strings.Contains(l, fmt.Sprintf(":%d ", tcpPort)) {
			found = true
			if !strings.Contains(l, "cgroup:"+rel) {
				t.Errorf("ss: %q, want cgroup:%s", l, rel)
			}
		}
	}
	if !found {
		t.Errorf("ss does not list port %d:\n%s", tcpPort, out)
	}
}
