package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests that need a second process re-execute this test binary with
// helperEnv set to a mode; TestMain then runs that mode instead of the tests.
const (
	helperEnv      = "STATE_TEST_HELPER"
	helperDirEnv   = "STATE_TEST_DIR"
	helperStartEnv = "STATE_TEST_START"
	helperSlots    = 8
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(helperDirEnv)))
	}
	os.Exit(m.Run())
}

// runHelper is the child's side. It reports on stdout, one line per event:
// "ready [pid]" once it holds the store, "error: ..." when it cannot open
// it (exit status 3 for ErrLocked), or one generation number per Put.
func runHelper(mode, dir string) int {
	s, err := OpenBolt(dir)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		if errors.Is(err, ErrLocked) {
			return 3
		}
		return 1
	}
	defer s.Close()
	switch mode {
	case "hold":
		fmt.Println("ready")
	case "hold-spawn":
		// A managed process outlives the agent; it must not keep the lock.
		c := exec.Command("sleep", "60")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			fmt.Printf("error: %v\n", err)
			return 1
		}
		fmt.Printf("ready %d\n", c.Process.Pid)
	case "put-loop":
		g, _ := strconv.Atoi(os.Getenv(helperStartEnv))
		for ; ; g++ {
			if err := s.Put(genRecord(g%helperSlots, g)); err != nil {
				fmt.Printf("error: %v\n", err)
				return 1
			}
			fmt.Println(g) // acknowledged: the Put has returned
		}
	default:
		fmt.Printf("error: unknown helper mode %q\n", mode)
		return 1
	}
	io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
	return 0
}

// genRecord is generation g of slot's record. Every field is derived from g,
// and the size varies with g (up to a few pages), so a torn write, or one
// record assembled from two generations, does not pass checkGen.
func genRecord(slot, g int) Record {
	code := g % 256
	return Record{
		Alias:          fmt.Sprintf("p%02d", slot),
		ID:             int64(slot + 1),
		CreateTime:     time.Unix(int64(g), 0),
		UpdateTime:     time.Unix(int64(g), int64(g)),
		LastActiveTime: time.Unix(int64(g)+1, 0),
		Desired:        []string{DesiredStarted, DesiredStopped}[g%2],
		PID:            g,
		StartTicks:     uint64(g) * 3,
		BootID:         fmt.Sprintf("boot-%d-%s", g, strings.Repeat("x", g*37%9000)),
		Group:          g%2 == 0,
		RestartCount:   g,
		LastExitCode:   &code,
	}
}

// checkGen returns the generation of r, or an error if r is not exactly
// a record genRecord made.
func checkGen(r Record) (int, error) {
	slot, err := strconv.Atoi(strings.TrimPrefix(r.Alias, "p"))
	if err != nil {
		return 0, fmt.Errorf("unexpected alias %q", r.Alias)
	}
	if want := genRecord(slot, r.PID); !recordsEqual(r, want) {
		return 0, fmt.Errorf("torn record %s; want %s", describe(r), describe(want))
	}
	return r.PID, nil
}

// helper is a running child process of this test binary.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startHelper(t *testing.T, mode, dir string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode, helperDirEnv+"="+dir)...)
	if os.Getenv("GORACE") == "" {
		// A race-enabled child otherwise sleeps 1s at exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() { h.kill() })
	return h
}

// line returns the child's next line of output, failing after a while.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if h.out.Scan() {
			got <- h.out.Text()
		}
		close(got)
	}()
	select {
	case l, ok := <-got:
		if !ok {
			t.Fatalf("helper %d ended its output", h.cmd.Process.Pid)
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatalf("helper %d said nothing for 10s", h.cmd.Process.Pid)
		return ""
	}
}

// kill ends the child with SIGKILL, as a crash would, and reaps it.
func (h *helper) kill() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	h.cmd.Wait()
}

// stop lets the child close its store and exit, and returns its status.
func (h *helper) stop() error {
	h.stdin.Close()
	return h.cmd.Wait()
}
