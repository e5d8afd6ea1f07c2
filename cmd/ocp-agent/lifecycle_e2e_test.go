package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// uniqueSleep is a `sleep` command line no other test runs, so that the
// test can count the copies of exactly its process.
func uniqueSleep() string {
	return fmt.Sprintf("sleep 1000.%d", time.Now().UnixNano()%1e9)
}

// countProcs counts the live processes whose command line is cmdline.
func countProcs(t *testing.T, cmdline string) (n int, pid int) {
	t.Helper()
	stats, err := procfs.Default.AllStats()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stats {
		if st.State == 'Z' {
			continue
		}
		argv, _ := procfs.Default.Cmdline(st.PID)
		if strings.Join(argv, " ") == cmdline {
			n, pid = n+1, st.PID
		}
	}
	return n, pid
}

// kill9 kills the agent the hard way and waits for it to be gone.
func (a *agentProc) kill9() {
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
}

func (a *agentProc) waitStatus(id int64, status string) *api.HostAgentProcess {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := a.c.Get(ctxT(a.t), 20, id)
		if err == nil && p.Status == status {
			return p
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("process %d not %s (last %+v, %v)\n%s", id, status, p, err, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKill9OfTheAgentKeepsProcesses(t *testing.T) {
	cmdline := uniqueSleep()
	e := newEnv(t, fmt.Sprintf("  - alias: s\n    id: 5\n    start_command: %q\n    start_wait: 200ms\n", cmdline))
	a := e.start()
	first := a.waitStatus(5, api.StatusStarted)
	a.kill9()
	if !alive(first.PID) {
		t.Fatalf("pid %d died with the agent", first.PID)
	}
	a = e.start()
	again := a.waitStatus(5, api.StatusStarted)
	time.Sleep(500 * time.Millisecond) // a second copy would have been started by now
	if n, _ := countProcs(t, cmdline); n != 1 || again.PID != first.PID {
		t.Errorf("after kill -9 and restart: %d copies, pid %d (was %d)", n, again.PID, first.PID)
	}
	// Outside tools find the pid in state_dir/run/<alias>.pid.
	b, err := os.ReadFile(filepath.Join(e.stateDir, "run", "s.pid"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(first.PID) {
		t.Errorf("pid file: %q, %v; want %d", b, err, first.PID)
	}
}

func TestKill9DuringAStop(t *testing.T) {
	// A process that ignores SIGTERM keeps the stop in its grace while
	// the agent is killed; the next agent finishes the stop.
	e := newEnv(t, `  - alias: stubborn
    id: 6
    start_command: "trap '' TERM; while :; do sleep 0.1; done"
    stop_timeout: 2s
    start_wait: 200ms
`)
	a := e.start()
	p := a.waitStatus(6, api.StatusStarted)
	go a.c.Stop(ctxT(t), 20, 6)
	time.Sleep(500 * time.Millisecond)
	a.kill9()
	if !alive(p.PID) {
		t.Fatalf("the stubborn process died before its grace ended")
	}
	a = e.start()
	got := a.waitStatus(6, api.StatusStopped)
	if alive(p.PID) || got.DesiredStatus != api.StatusStopped {
		t.Errorf("after the resumed stop: pid %d alive %v, record %+v", p.PID, alive(p.PID), got)
	}
}

func TestKill9DuringAStart(t *testing.T) {
	cmdline := uniqueSleep()
	e := newEnv(t, fmt.Sprintf("  - alias: s\n    id: 5\n    start_command: %q\n    start_wait: 3s\n    autostart: false\n", cmdline))
	a := e.start()
	go a.c.Start(ctxT(t), 20, 5)
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := countProcs(t, cmdline); n == 0; n, _ = countProcs(t, cmdline) {
		if time.Now().After(deadline) {
			t.Fatal("the start never forked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.kill9() // inside start_wait
	a = e.start()
	got := a.waitStatus(5, api.StatusStarted)
	time.Sleep(500 * time.Millisecond)
	n, pid := countProcs(t, cmdline)
	if n != 1 || got.PID != pid {
		t.Errorf("after kill -9 during start: %d copies, the record says pid %d, /proc says %d", n, got.PID, pid)
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	keep, gone, added := uniqueSleep(), uniqueSleep()+"1", uniqueSleep()+"2"
	entry := func(alias string, id int, cmd string) string {
		return fmt.Sprintf("  - alias: %s\n    id: %d\n    start_command: %q\n    start_wait: 100ms\n", alias, id, cmd)
	}
	e := newEnv(t, entry("keep", 1, keep)+entry("gone", 2, gone))
	a := e.start()
	k := a.waitStatus(1, api.StatusStarted)
	g := a.waitStatus(2, api.StatusStarted)

	cfg, _ := os.ReadFile(e.cfgPath)
	text := strings.Replace(string(cfg), entry("gone", 2, gone), entry("added", 10, added), 1)
	writeConfig(t, e.cfgPath, text)
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitStatus(10, api.StatusStarted)
	deadline := time.Now().Add(10 * time.Second)
	for alive(g.PID) {
		if time.Now().After(deadline) {
			t.Fatalf("removed process %d still alive\n%s", g.PID, a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := a.c.Get(ctxT(t), 20, 2); !isAPIError(err, api.CodeNoProcess) {
		t.Errorf("removed process still served: %v", err)
	}
	if p := a.waitStatus(1, api.StatusStarted); p.PID != k.PID {
		t.Errorf("unchanged process restarted by the reload: pid %d, was %d", p.PID, k.PID)
	}

	// A broken config is refused; the old one stays in force.
	writeConfig(t, e.cfgPath, text+"    bogus_key: 1\n")
	a.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	list, err := a.c.List(ctxT(t), 20)
	if err != nil || list.Page.TotalElements != 3 {
		t.Fatalf("after a bad reload: %v, %+v", err, list)
	}
	if !strings.Contains(a.stderr.String(), "reload refused") {
		t.Errorf("no log line for the refused reload:\n%s", a.stderr)
	}
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".cfg."+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer the agent's stderr copier writes to while
// a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
