package main

import (
	"encoding/json"
	"fmt"
	"io"
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
)

// needCgroups skips tests of what only cgroups contain.
func needCgroups(t *testing.T, e *testEnv) {
	t.Helper()
	if e.cgroup == "off" {
		t.Skip("no writable cgroup2 here (or not root): the test needs containment")
	}
}

// tcpPortFree reports whether port can be bound on the test address.
func tcpPortFree(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", testIP, port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// waitCount waits for exactly n live processes with command line cmdline.
func waitCount(t *testing.T, cmdline string, n int, why string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := countProcs(t, cmdline)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d processes %q, want %d", why, got, cmdline, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// /healthz and `config check` say how processes are contained.
func TestHealthzAndConfigCheckSayContainment(t *testing.T) {
	e := newEnv(t, "")
	a := e.start()
	resp, err := http.Get("http://" + e.listen + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var h struct{ Status, Cgroup string }
	if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" || !strings.HasPrefix(string(body), `{"status":"ok","cgroup":`) {
		t.Fatalf("/healthz = %s (%v)", body, err)
	}
	want := "cgroup v2 at " + e.cgroup
	if e.cgroup == "off" {
		want = "off: "
	}
	if !strings.HasPrefix(h.Cgroup, want) {
		t.Errorf("/healthz cgroup = %q, want it to begin with %q", h.Cgroup, want)
	}
	if !strings.Contains(a.stderr.String(), "containment: "+want) {
		t.Errorf("the log does not say %q:\n%s", "containment: "+want, a.stderr)
	}
	out, err := exec.Command(filepath.Join(binDir, "ocp-agent"), "config", "check", "--config", e.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "containment: "+want) {
		t.Errorf("config check: %v\n%s", err, out)
	}
}

// An agent killed with SIGKILL in the middle of stops of a group whose
// leader dies on SIGTERM while a member ignores it, several rounds: what a
// record calls STOPPED never runs once the agent is back.
func TestKill9DuringStopsLeavesNothingStopped(t *testing.T) {
	tag := time.Now().UnixNano() % 1e9
	member, leader := fmt.Sprintf("sleep 1003.%d", tag), fmt.Sprintf("sleep 1004.%d", tag)
	e := newEnv(t, fmt.Sprintf(`  - alias: g
    id: 7
    start_command: %q
    start_wait: 300ms
    stop_timeout: 3s
`, fmt.Sprintf(`sh -c 'trap "" TERM; exec %s' & %s`, member, leader)))
	t.Cleanup(func() { killAll(t, member, leader) })
	a := e.start()
	for round := range 3 {
		a.waitStatus(7, api.StatusStarted)
		waitCount(t, member, 1, "before the stop")
		go a.c.Stop(ctxT(t), 20, 7) // cut short: no answer expected
		waitCount(t, leader, 0, fmt.Sprintf("round %d: SIGTERM sent", round))
		a.kill9()
		a = e.start()
		p := a.waitStatus(7, api.StatusStopped)
		waitCount(t, member, 0, fmt.Sprintf("round %d: the restarted agent finished the stop (record %+v)", round, p))
		if _, err := a.c.Start(ctxT(t), 20, 7); err != nil {
			t.Fatalf("round %d: start: %v\n%s", round, err, a.stderr)
		}
	}
}

// settled returns process id once its start is settled: a start request
// joins the autostart in progress and is answered then.
func (a *agentProc) settled(id int64) *api.HostAgentProcess {
	a.t.Helper()
	p, err := a.c.Start(ctxT(a.t), 20, id)
	if err != nil {
		a.t.Fatalf("start %d: %v\n%s", id, err, a.stderr)
	}
	return p
}

// killAll SIGKILLs the processes with these command lines (a failed test's
// leftovers).
func killAll(t *testing.T, cmdlines ...string) {
	for _, c := range cmdlines {
		for {
			n, pid := countProcs(t, c)
			if n == 0 {
				break
			}
			syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// A program that daemonizes without pid_file (setsid -f: fork, setsid in
// the child, exit 0 in the parent) is STARTED with the daemon's pid, and a
// stop ends it.
func TestDaemonWithoutPidFileIsManaged(t *testing.T) {
	daemon := uniqueSleep()
	e := newEnv(t, fmt.Sprintf("  - alias: d\n    id: 8\n    start_command: %q\n    start_wait: 500ms\n", "setsid -f "+daemon))
	needCgroups(t, e)
	t.Cleanup(func() { killAll(t, daemon) })
	a := e.start()
	p := a.waitStatus(8, api.StatusStarted)
	if n, pid := countProcs(t, daemon); n != 1 || pid != p.PID {
		t.Fatalf("%d daemons, pid %d; the agent reports pid %d", n, pid, p.PID)
	}
	a.kill9()
	a = e.start()
	if again := a.waitStatus(8, api.StatusStarted); again.PID != p.PID {
		t.Errorf("after an agent restart pid %d, want %d", again.PID, p.PID)
	}
	waitCount(t, daemon, 1, "no second copy after an agent restart")
	if _, err := a.c.Stop(ctxT(t), 20, 8); err != nil {
		t.Fatal(err)
	}
	waitCount(t, daemon, 0, "after the stop")
}

// A fresh agent whose state_dir was deleted adopts what runs in the
// alias's cgroup instead of starting a second copy.
func TestFreshAgentAdoptsByCgroup(t *testing.T) {
	cmdline := uniqueSleep()
	e := newEnv(t, fmt.Sprintf("  - alias: s\n    id: 9\n    start_command: %q\n    start_wait: 200ms\n", cmdline))
	needCgroups(t, e)
	t.Cleanup(func() { killAll(t, cmdline) })
	a := e.start()
	first := a.waitStatus(9, api.StatusStarted)
	a.kill9()
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	a = e.start()
	again := a.waitStatus(9, api.StatusStarted)
	time.Sleep(500 * time.Millisecond) // a second copy would have been started by now
	if n, _ := countProcs(t, cmdline); n != 1 || again.PID != first.PID {
		t.Errorf("after losing state_dir: %d copies, pid %d (was %d)", n, again.PID, first.PID)
	}
	if _, err := a.c.Stop(ctxT(t), 20, 9); err != nil {
		t.Fatal(err)
	}
	waitCount(t, cmdline, 0, "after the stop")
}

// Real daemons started without pid_file: STARTED, their port bound, and a
// stop frees it.
func TestRealDaemonsWithoutPidFile(t *testing.T) {
	cases := []struct {
		name, program, pkg, args string
	}{
		{"redis", "redis-server", "redis-server", "--port %[1]d --bind %[2]s --daemonize yes --save '' --appendonly no --dir %[3]s"},
		{"memcached", "memcached", "memcached", "-d -p %[1]d -l %[2]s -U 0 -u nobody"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin, err := exec.LookPath(tc.program)
			if err != nil {
				t.Skipf("%s is not installed (Debian package %s)", tc.program, tc.pkg)
			}
			port, id := freePort(t), int64(10+i)
			command := bin + " " + fmt.Sprintf(tc.args, port, testIP, t.TempDir())
			e := newEnv(t, fmt.Sprintf("  - alias: %s\n    id: %d\n    start_command: %q\n    start_wait: 1s\n", tc.name, id, command))
			needCgroups(t, e)
			a := e.start()
			p := a.settled(id)
			if tcpPortFree(port) {
				t.Fatalf("%s is STARTED (pid %d) but port %d is free\n%s", tc.name, p.PID, port, a.stderr)
			}
			if _, err := a.c.Stop(ctxT(t), 20, id); err != nil {
				t.Fatal(err)
			}
			if !tcpPortFree(port) {
				t.Errorf("port %d still bound after the stop", port)
			}
		})
	}
}

// nginx under a shell line: SIGHUP to the reported pid (the shell) kills
// the shell alone; the agent follows nginx, left in the cgroup, instead of
// starting a second one that cannot bind, and a stop ends it.
func TestNginxUnderAShellLine(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (Debian package nginx)")
		}
		nginx = "/usr/sbin/nginx"
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log;
events { worker_connections 16; }
http {
  access_log off;
  client_body_temp_path %s;
  proxy_temp_path %s;
  fastcgi_temp_path %s;
  uwsgi_temp_path %s;
  scgi_temp_path %s;
  server { listen %s:%d; }
}
`, dir, dir, dir, dir, dir, dir, dir, testIP, port)), 0o644)
	e := newEnv(t, fmt.Sprintf("  - alias: web\n    id: 11\n    start_command: %q\n    start_wait: 1s\n    stop_timeout: 5s\n",
		fmt.Sprintf(`cd %s && %s -p %s -c %s -g "daemon off;"`, dir, nginx, dir, conf)))
	needCgroups(t, e)
	a := e.start()
	shell := a.settled(11)
	if tcpPortFree(port) {
		t.Fatalf("nginx STARTED but port %d is free\n%s", port, a.stderr)
	}
	syscall.Kill(shell.PID, syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := a.c.Get(ctxT(t), 20, 11)
		if err == nil && p.Status == api.StatusStarted && p.PID != shell.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP to the shell: %+v, %v\n%s", p, err, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tcpPortFree(port) {
		out, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("port %d free after the shell died\n%s\n%s", port, a.stderr, out)
	}
	if _, err := a.c.Stop(ctxT(t), 20, 11); err != nil {
		t.Fatal(err)
	}
	if !tcpPortFree(port) {
		t.Errorf("port %d still bound after the stop: nginx outlived it", port)
	}
}
