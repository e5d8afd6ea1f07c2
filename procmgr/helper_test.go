package procmgr

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary double as the managed programs the tests
// need: `procmgr.test helper MODE ARGS...` runs helperMain instead of tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "helper" {
		helperMain(os.Args[2], os.Args[3:])
		return
	}
	// Helpers built with -race would otherwise sleep 1 s at exit, which
	// start_wait would see as still running.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	// A descriptor without close-on-exec that the "agent" inherited: no
	// managed process may get it (TestOptionsReachTheChild).
	if fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0); err == nil {
		inheritedFD = fd
	}
	os.Exit(m.Run())
}

// inheritedFD is a descriptor opened without close-on-exec before any
// manager exists; -1 when it could not be opened.
var inheritedFD = -1

// helper returns a start_command that runs this test binary as a helper.
func helper(t *testing.T, mode string, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exe + " helper " + mode
	for _, a := range args {
		cmd += " " + a
	}
	return cmd
}

func helperMain(mode string, args []string) {
	switch mode {
	case "ignore-term":
		// Ignores SIGTERM, saying so once per signal on stdout, so that
		// tests can count the signals it got.
		c := make(chan os.Signal, 16)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		for range c {
			fmt.Println("got SIGTERM")
		}
	case "child-ignores-term":
		// Exits on SIGTERM, but leaves a child in its group that ignores
		// it; writes the child's pid to args[0].
		exe, _ := os.Executable()
		child := exec.Command(exe, "helper", "ignore-term")
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.WriteFile(args[0], []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		child.Wait()
	case "listen":
		// Listens on a TCP and a UDP port, has a child that listens on
		// another TCP port, and writes "tcp udp childtcp" to args[0].
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		ul, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		exe, _ := os.Executable()
		childOut := args[0] + ".child"
		child := exec.Command(exe, "helper", "listen-one", childOut)
		if err := child.Start(); err != nil {
			os.Exit(1)
		}
		var cport string
		for i := 0; i < 500 && cport == ""; i++ {
			b, _ := os.ReadFile(childOut)
			cport = string(b)
			time.Sleep(10 * time.Millisecond)
		}
		line := fmt.Sprintf("%d %d %s", tl.Addr().(*net.TCPAddr).Port, ul.LocalAddr().(*net.UDPAddr).Port, cport)
		os.WriteFile(args[0]+".tmp", []byte(line), 0o644)
		os.Rename(args[0]+".tmp", args[0])
		select {}
	case "listen-one":
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		os.WriteFile(args[0]+".tmp", []byte(strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)), 0o644)
		os.Rename(args[0]+".tmp", args[0])
		select {}
	case "listen-setsid":
		// Listens on a TCP port and starts a setsid'd child that listens
		// on another (it left the group, not the cgroup), and writes
		// "tcp childtcp" to args[0].
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		exe, _ := os.Executable()
		childOut := args[0] + ".child"
		child := exec.Command(exe, "helper", "listen-one", childOut)
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			os.Exit(1)
		}
		var cport []byte
		for i := 0; i < 3000 && len(cport) == 0; i++ {
			cport, _ = os.ReadFile(childOut)
			time.Sleep(10 * time.Millisecond)
		}
		line := fmt.Sprintf("%d %s", tl.Addr().(*net.TCPAddr).Port, cport)
		os.WriteFile(args[0]+".tmp", []byte(line), 0o644)
		os.Rename(args[0]+".tmp", args[0])
		select {}
	case "busy":
		// Spins, for tests of CPU time.
		for {
		}
	case "daemonize":
		// Starts a copy of itself in the background that writes its pid
		// to args[0], then exits 0, as a classic daemon does.
		exe, _ := os.Executable()
		child := exec.Command(exe, "helper", "daemon", args[0])
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "daemon":
		// Written aside and renamed, so that a reader never sees it empty.
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(args[0]+".tmp", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
		os.Rename(args[0]+".tmp", args[0])
		select {}
	case "escape-setsid":
		// Stays up with a child in a session of its own that listens
		// (its port in args[0]): the child leaves the process group.
		startHelper(true, "listen-one", args[0])
		select {}
	case "escape-double-fork":
		// Stays up; its child starts a listener in a session of its own
		// and exits, so the listener leaves the group and the parent
		// chain too.
		runHelper("daemonize-listen", args[0])
		select {}
	case "daemonize-listen":
		startHelper(true, "listen-one", args[0])
		os.Exit(0)
	case "escape-ignore-term":
		// Stays up with a child in its own session that ignores SIGTERM
		// and listens.
		startHelper(true, "listen-ignore-term", args[0])
		select {}
	case "listen-ignore-term":
		signal.Ignore(syscall.SIGTERM)
		helperMain("listen-one", args)
	case "double-fork-sleep":
		// Its child starts a sleeper in a session of its own, writes the
		// sleeper's pid to args[0] and exits; then it sleeps too.
		runHelper("fork-sleeper", args[0])
		select {}
	case "fork-sleeper":
		c := exec.Command("sleep", "1000")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			os.Exit(1)
		}
		os.WriteFile(args[0]+".tmp", []byte(strconv.Itoa(c.Process.Pid)), 0o644)
		os.Rename(args[0]+".tmp", args[0])
		os.Exit(0)
	default:
		if healthHelper(mode, args) {
			return
		}
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		os.Exit(2)
	}
}

// startHelper starts this binary as helper mode in the background (in a
// session of its own when setsid), or exits 1.
func startHelper(setsid bool, mode string, args ...string) {
	exe, _ := os.Executable()
	child := exec.Command(exe, append([]string{"helper", mode}, args...)...)
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := child.Start(); err != nil {
		os.Exit(1)
	}
}

// runHelper runs this binary as helper mode and waits for it, or exits 1.
func runHelper(mode string, args ...string) {
	exe, _ := os.Executable()
	if err := exec.Command(exe, append([]string{"helper", mode}, args...)...).Run(); err != nil {
		os.Exit(1)
	}
}
