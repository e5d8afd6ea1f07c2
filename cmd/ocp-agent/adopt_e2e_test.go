package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// TestPidFileOfRootDaemonIsNotAdopted: a process running as nobody writes
// the pid of a root process into its pid_file and exits 0. The agent
// refuses to follow it (40014, saying why, and lastError in the record),
// a stop answers without touching the root process, and the agent keeps
// serving.
func TestPidFileOfRootDaemonIsNotAdopted(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a process as nobody needs root")
	}
	victim, err := os.StartProcess("/bin/sleep", []string{"sleep", "1000"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Kill(); victim.Wait() })
	before, err := procfs.Default.Stat(victim.Pid)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(openDir(t, &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID}), "x.pid")
	e := newEnv(t, fmt.Sprintf(`  - alias: sneaky
    id: 7
    user: nobody
    start_command: "echo %d > %s"
    pid_file: %s
    start_wait: 500ms
    autostart: false
    autorestart: false
`, victim.Pid, pidFile, pidFile))
	a := e.start()
	_, err = a.c.Start(ctxT(t), 20, 7)
	ae, ok := err.(*client.APIError)
	want := fmt.Sprintf("pid file %s names pid %d, which does not run as user nobody", pidFile, victim.Pid)
	if !ok || ae.Code != api.CodeStartFailed || !strings.Contains(ae.Message, want) {
		t.Fatalf("start: %v, want 40014 saying %q", err, want)
	}
	p, err := a.c.Get(ctxT(t), 20, 7)
	if err != nil || p.Status != api.StatusStopped || p.LastError == nil || *p.LastError != want || p.NextStartTime != nil {
		t.Errorf("record %+v (lastError %q), %v", p, deref(p.LastError), err)
	}
	if p, err := a.c.Stop(ctxT(t), 20, 7); err != nil || p.Status != api.StatusStopped {
		t.Errorf("stop: %+v, %v", p, err)
	}
	after, err := procfs.Default.Stat(victim.Pid)
	if err != nil || after.StartTicks != before.StartTicks || after.State == 'Z' {
		t.Errorf("the root process %d was touched: %+v, %v", victim.Pid, after, err)
	}
	if err := a.c.Healthz(context.Background()); err != nil {
		t.Errorf("agent stopped serving: %v", err)
	}
}
