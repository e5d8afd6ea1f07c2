package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
	"github.com/ocp-agent/ocp-agent/internal/freezer"
	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// The end-to-end tests run the real binaries: the agent built with the
// race detector, and the demo program as a managed process.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ocp-agent-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for _, b := range [][]string{
		{"build", "-race", "-o", filepath.Join(dir, "ocp-agent"), "."},
		{"build", "-o", filepath.Join(dir, "ocp-demo"), "../ocp-demo"},
	} {
		if out, err := exec.Command("go", b...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %s: %v\n%s", strings.Join(b, " "), err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testIP is a loopback address of this test binary's own, so that the
// ports it picks cannot be taken by the tests of other packages, which run
// at the same time and listen on 127.0.0.1.
var testIP = fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(250), 2+rand.IntN(250))

// freePort returns a TCP port nothing listens on right now on testIP.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", testIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// agentProc is one running agent binary.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	cfg    string
	listen string
	stderr *syncBuffer
	exited chan struct{}
	c      *client.Client
}

// testEnv is one test's config and state directory.
type testEnv struct {
	t        *testing.T
	dir      string
	stateDir string
	cgroup   string // the config's cgroup: a temporary root of the test's own, else off
	listen   string
	cfgPath  string
	env      []string   // added to the agent's environment
	files    []*os.File // inherited by the agent as fds 3..., without close-on-exec
}

func newEnv(t *testing.T, processes string) *testEnv {
	e := &testEnv{t: t, dir: t.TempDir()}
	e.stateDir = filepath.Join(e.dir, "state")
	e.listen = fmt.Sprintf("%s:%d", testIP, freePort(t))
	e.cfgPath = filepath.Join(e.dir, "config.yaml")
	// Registered before the agents' cleanups, so it runs after them: the
	// cgroups are removed once no agent uses them.
	if e.cgroup, _ = cgrouptest.Root(t); e.cgroup == "" {
		e.cgroup = "off"
	}
	cfg := fmt.Sprintf(`host:
  id: 20
server:
  listen: %q
  name: test-host
auth:
  users:
    - name: ocp
      password: secret
      permissions: [HOST_VIEWER, HOST_MANAGER]
state_dir: %s
cgroup: %s
log:
  level: debug
processes:
%s`, e.listen, e.stateDir, e.cgroup, processes)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.killLeftovers) // runs after the agents' own cleanups
	return e
}

// killLeftovers kills what the env's agents left running, found through
// their state: exactly the processes this test started, each checked by
// its start time.
func (e *testEnv) killLeftovers() {
	st, err := state.OpenBolt(e.stateDir)
	if err != nil {
		return
	}
	defer st.Close()
	recs, _ := st.All()
	stats, _ := procfs.Default.AllStats()
	for _, r := range recs {
		if r.Alias == "ocp_agentd" || r.PID <= 0 {
			continue
		}
		if ps, err := procfs.Default.Stat(r.PID); err == nil && ps.StartTicks == r.StartTicks {
			syscall.Kill(r.PID, syscall.SIGKILL)
		}
		if !r.Group {
			continue
		}
		// Members of the session and group the process led outlive it
		// (a shell's child that ignores SIGTERM): they are this test's too.
		for _, m := range stats {
			if m.Session == r.PID && m.PGRP == r.PID {
				syscall.Kill(m.PID, syscall.SIGKILL)
			}
		}
	}
}

// demo returns a process entry running the demo program on port.
func demo(alias string, id, port int, extra string) string {
	return fmt.Sprintf(`  - alias: %s
    id: %d
    start_command: "%s -host %s -p %d"
    log_file_pattern: /tmp/%s.log*
    start_wait: 300ms
    stop_timeout: 3s
%s`, alias, id, filepath.Join(binDir, "ocp-demo"), testIP, port, alias, extra)
}

// start runs the agent on the env's config and waits until it serves.
func (e *testEnv) start() *agentProc {
	e.t.Helper()
	a := e.launch()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := a.c.Healthz(context.Background()); err == nil {
			return a
		}
		select {
		case <-a.exited:
			e.t.Fatalf("agent exited at start: %v\n%s", a.cmd.ProcessState, a.stderr)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("agent did not serve within 20s\n%s", a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launch starts the agent binary without waiting for it.
func (e *testEnv) launch() *agentProc {
	a := &agentProc{t: e.t, cfg: e.cfgPath, listen: e.listen, stderr: &syncBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(filepath.Join(binDir, "ocp-agent"), "run", "--config", e.cfgPath)
	a.cmd.Stderr = a.stderr
	a.cmd.Env = append(os.Environ(), e.env...)
	a.cmd.ExtraFiles = e.files
	if err := a.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	a.c = client.New("http://"+e.listen, client.WithBasicAuth("ocp", "secret"))
	e.t.Cleanup(func() { a.kill(e) })
	return a
}

// kill ends the agent and every process it left running for this test.
func (a *agentProc) kill(e *testEnv) {
	select {
	case <-a.exited:
		return
	default:
	}
	if list, err := a.c.List(context.Background(), 20); err == nil {
		for _, p := range list.Contents {
			if p.Alias != "ocp_agentd" && p.PID > 0 {
				syscall.Kill(-p.PID, syscall.SIGKILL)
				syscall.Kill(p.PID, syscall.SIGKILL)
			}
		}
	}
	a.cmd.Process.Kill()
	<-a.exited
}

// stop sends SIGTERM and waits for the agent to exit.
func (a *agentProc) stop() int {
	a.t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.t.Fatalf("agent did not exit after SIGTERM\n%s", a.stderr)
	}
	return a.cmd.ProcessState.ExitCode()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitStarted waits until process id is STARTED and returns it.
func (a *agentProc) waitStarted(id int64) api.HostAgentProcess {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := a.c.Get(ctxT(a.t), 20, id)
		if err == nil && p.Status == api.StatusStarted && p.Ports != nil {
			return *p
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("process %d not started (last %+v, %v)\n%s", id, p, err, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func alive(pid int) bool {
	st, err := procfs.Default.Stat(pid)
	return err == nil && st.State != 'Z'
}

func TestSeedStopRequest(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	before := a.waitStarted(185)

	// The seed's request, as the OCP server sends it.
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.listen+"/compute/hosts/20/agent/processes/185/stop", nil)
	req.SetBasicAuth("ocp", "secret")
	req.Header.Set(api.TraceHeader, "51b0faa7203d42db")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	for _, k := range []string{"data", "duration", "server", "status", "successful", "timestamp", "traceId"} {
		if _, ok := body[k]; !ok {
			t.Errorf("envelope lacks %q: %v", k, body)
		}
	}
	if body["successful"] != true || body["status"] != 200.0 || body["server"] != "test-host" || body["traceId"] != "51b0faa7203d42db" {
		t.Errorf("envelope = %v", body)
	}
	if _, err := time.Parse(api.TimestampLayout, body["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	data := body["data"].(map[string]any)
	want := map[string]any{
		"alias": "obstat2", "elapsedTime": 0.0, "hostId": 20.0, "id": 185.0, "operable": true, "pid": 0.0,
		"ports": nil, "startCommand": nil, "status": "STOPPED", "user": nil,
		"logFilePattern": "/tmp/obstat2.log*",
	}
	for k, v := range want {
		got, ok := data[k]
		if !ok || got != v {
			t.Errorf("data.%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for _, k := range []string{"createTime", "updateTime", "lastActiveTime"} {
		s, _ := data[k].(string)
		if _, err := time.Parse(api.TimeLayout, s); err != nil {
			t.Errorf("data.%s = %v: %v", k, data[k], err)
		}
	}
	if alive(before.PID) {
		t.Errorf("pid %d alive after the stop answered", before.PID)
	}
}

func TestListObservesProcesses(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	p := a.waitStarted(185)
	if p.Ports == nil || *p.Ports != fmt.Sprint(port) {
		t.Errorf("ports = %v, want %d", p.Ports, port)
	}
	wantCmd := fmt.Sprintf("%s -host %s -p %d", filepath.Join(binDir, "ocp-demo"), testIP, port)
	if p.StartCommand == nil || *p.StartCommand != wantCmd {
		t.Errorf("startCommand = %v, want %q", p.StartCommand, wantCmd)
	}
	if p.User == nil || *p.User != currentUser(t) {
		t.Errorf("user = %v", p.User)
	}
	if p.LastActiveTime == nil {
		t.Errorf("lastActiveTime null for a running process")
	}

	list, err := a.c.List(ctxT(t), 20)
	if err != nil {
		t.Fatal(err)
	}
	if list.Page.TotalElements != 2 || list.Page.Size != 2 || list.Page.Number != 1 || list.Page.TotalPages != 1 {
		t.Errorf("page = %+v", list.Page)
	}
	var self *api.HostAgentProcess
	for i := range list.Contents {
		if list.Contents[i].Alias == "ocp_agentd" {
			self = &list.Contents[i]
		}
	}
	if self == nil {
		t.Fatalf("ocp_agentd not listed: %+v", list.Contents)
	}
	_, agentPort, _ := net.SplitHostPort(e.listen)
	// The agent's ports are its own: not those of the processes it manages.
	if self.Operable || self.PID != a.cmd.Process.Pid || self.Status != api.StatusStarted ||
		self.Ports == nil || *self.Ports != agentPort {
		t.Errorf("ocp_agentd = %+v (ports %v, want %s)", self, deref(self.Ports), agentPort)
	}
	if _, err := a.c.Stop(ctxT(t), 20, self.ID); !isAPIError(err, api.CodeNotOperable) {
		t.Errorf("stop ocp_agentd: %v, want 40012", err)
	}
}

func currentUser(t *testing.T) string {
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func isAPIError(err error, code int) bool {
	ae, ok := err.(*client.APIError)
	return ok && ae.Code == code
}

func TestAgentRestartKeepsProcesses(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	first := a.waitStarted(185)
	if code := a.stop(); code != 0 {
		t.Fatalf("agent exit status %d after SIGTERM\n%s", code, a.stderr)
	}
	if !alive(first.PID) {
		t.Fatalf("managed pid %d died with the agent", first.PID)
	}
	a = e.start()
	again := a.waitStarted(185)
	if again.PID != first.PID {
		t.Errorf("after agent restart pid %d, want %d adopted (a second copy?)", again.PID, first.PID)
	}
	if again.CreateTime != first.CreateTime || again.ID != 185 {
		t.Errorf("record changed across restart: %+v vs %+v", again, first)
	}
	if _, err := a.c.Stop(ctxT(t), 20, 185); err != nil {
		t.Fatal(err)
	}
	if alive(first.PID) {
		t.Errorf("adopted pid %d alive after stop", first.PID)
	}
}

func TestStartFailureReports40014(t *testing.T) {
	e := newEnv(t, `  - alias: broken
    id: 7
    start_command: "echo cannot open /etc/broken.conf >&2; exit 3"
    autostart: false
    autorestart: false
`)
	a := e.start()
	_, err := a.c.Start(ctxT(t), 20, 7)
	ae, ok := err.(*client.APIError)
	if !ok || ae.Code != api.CodeStartFailed || ae.HTTPStatus != 500 {
		t.Fatalf("start: %v, want 40014", err)
	}
	if !strings.Contains(ae.Message, "status 3") || !strings.Contains(ae.Message, "cannot open /etc/broken.conf") {
		t.Errorf("message %q lacks the exit status or the output", ae.Message)
	}
}

// TestStopOfFrozenProcessReports40013: a process stuck in the kernel
// (frozen by the cgroup v1 freezer: SIGKILL stays pending) makes the stop
// answer 500 with code 40013 once the grace and the 5 s after SIGKILL are
// over, instead of hanging; when it is thawed it dies and is listed
// STOPPED.
func TestStopOfFrozenProcessReports40013(t *testing.T) {
	e := newEnv(t, `  - alias: stuck
    id: 9
    start_command: "sleep 1000"
    start_wait: 100ms
    stop_timeout: 1s
`)
	a := e.start()
	pid := a.waitStatus(9, api.StatusStarted).PID
	thaw := freezer.Freeze(t, pid)

	t0 := time.Now()
	_, err := a.c.Stop(ctxT(t), 20, 9)
	took := time.Since(t0)
	if !isAPIError(err, api.CodeSurvivedKill) || err.(*client.APIError).HTTPStatus != 500 {
		t.Fatalf("stop of a frozen process: %v, want 500 with code 40013", err)
	}
	if took < time.Second+procmgr.KillWait {
		t.Errorf("answered after %v, before the grace and KillWait were over", took)
	}
	if !alive(pid) {
		t.Fatalf("pid %d died while frozen", pid)
	}
	thaw()
	a.waitStatus(9, api.StatusStopped)
	if alive(pid) {
		t.Errorf("pid %d alive after the thaw, listed STOPPED", pid)
	}
}

func TestExitStatuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("host:\n  id: 20\nstate_dir: /tmp/x\nprocesses:\n  - alias: a\n    start_command: sleep 1\n    stop_timeout: 10\n"), 0o600)
	tests := []struct {
		name   string
		args   []string
		status int
		stderr []string
	}{
		{"missing config", []string{"run", "--config", filepath.Join(dir, "none.yaml")}, 2, []string{"none.yaml"}},
		{"bad duration names file, line and key", []string{"run", "--config", bad}, 2, []string{"bad.yaml:7", "processes[0].stop_timeout"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command"}},
		{"bad flag", []string{"run", "--nope"}, 2, []string{"nope"}},
		{"help", []string{"run", "--help"}, 0, []string{"-config"}},
		{"config check of a bad file", []string{"config", "check", "--config", bad}, 2, []string{"processes[0].stop_timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(binDir, "ocp-agent"), tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Stdout = &stderr // --help prints to stdout
			cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tc.status {
				t.Errorf("exit status %d, want %d\n%s", got, tc.status, stderr.String())
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
		})
	}
}

func TestStartFailuresExitOne(t *testing.T) {
	t.Run("second agent on the same state_dir", func(t *testing.T) {
		e := newEnv(t, "")
		e.start()
		// Same state_dir, another port: the lock must refuse it.
		e2 := *e
		e2.listen = fmt.Sprintf("%s:%d", testIP, freePort(t))
		cfg, _ := os.ReadFile(e.cfgPath)
		e2.cfgPath = filepath.Join(t.TempDir(), "second.yaml")
		os.WriteFile(e2.cfgPath, bytes.Replace(cfg, []byte(e.listen), []byte(e2.listen), 1), 0o600)
		b := e2.launch()
		<-b.exited
		if code := b.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(b.stderr.String(), "in use by another agent") {
			t.Errorf("second agent: status %d, stderr %s", code, b.stderr)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		e := newEnv(t, "")
		ln, err := net.Listen("tcp", e.listen)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		b := e.launch()
		<-b.exited
		if code := b.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(b.stderr.String(), "address already in use") {
			t.Errorf("status %d, stderr %s", code, b.stderr)
		}
	})
}

func TestShutdownFinishesStopInFlight(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, "")+
		"  - alias: stubborn\n    id: 186\n    start_command: \"sh -c 'trap \\\"\\\" TERM; while :; do sleep 0.1; done'\"\n    stop_timeout: 1s\n    start_wait: 200ms\n")
	a := e.start()
	a.waitStarted(185)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, _ := a.c.Get(ctxT(t), 20, 186)
		if p != nil && p.Status == api.StatusStarted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stubborn not started\n%s", a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { _, err := a.c.Stop(ctxT(t), 20, 186); done <- err }()
	time.Sleep(300 * time.Millisecond) // the stop is waiting out its grace
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Errorf("stop in flight during shutdown: %v", err)
	}
	<-a.exited
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d\n%s", code, a.stderr)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
