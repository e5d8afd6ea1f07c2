package main

import (
	"context"
	"fmt"
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
)

// nobody is the unprivileged account the tests run the agent as.
const nobodyUID, nobodyGID = 65534, 65534

// openDir returns a new directory every user can reach and, when owner is
// not nil, owned by that uid/gid: t.TempDir's parent is private to root.
func openDir(t *testing.T, owner *syscall.Credential) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ocp-sec-") // short: sun_path is 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if owner != nil {
		if err := os.Chown(dir, int(owner.Uid), int(owner.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// launchAs runs the agent binary on cfgPath as cred (nil: as the test),
// waits until it answers on its socket or, without one, on listen, and
// stops it with the test.
func launchAs(t *testing.T, cred *syscall.Credential, cfgPath, listen, sock string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, cfg: cfgPath, listen: listen, stderr: &syncBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(filepath.Join(binDir, "ocp-agent"), "run", "--config", cfgPath)
	a.cmd.Stderr = a.stderr
	a.cmd.Dir = "/"
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.exited
	})
	a.c = client.New("http://"+listen, client.WithBasicAuth("ocp", "secret"))
	if sock != "" {
		a.c = socketClient(sock)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.c.Healthz(context.Background()) != nil {
		select {
		case <-a.exited:
			t.Fatalf("agent exited at start: %v\n%s", a.cmd.ProcessState, a.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not serve within 20s\n%s", a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a
}

// socketClient is a client of the agent's unix socket, as root.
func socketClient(sock string) *client.Client {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	return client.New("http://ocp-agent", client.WithHTTPClient(hc))
}

// TestRunAsNonRoot runs the agent as nobody: it manages nobody's own
// processes, says at load why a process's `user` cannot be honoured, and
// answers a start of that process with 40014 carrying the reason.
func TestRunAsNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running the agent as another user needs root (make test runs as root)")
	}
	nobody := &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID}
	if err := os.Chmod(binDir, 0o755); err != nil { // nobody runs the binaries
		t.Fatal(err)
	}
	dir := openDir(t, nobody)
	stateDir, sock := filepath.Join(dir, "state"), filepath.Join(dir, "agent.sock")
	// The password sits in a file of nobody's, mode 0600: only the agent
	// (and root) can read it.
	pwFile := filepath.Join(dir, "ocp.password")
	if err := os.WriteFile(pwFile, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(pwFile, nobodyUID, nobodyGID)
	port, listen := freePort(t), fmt.Sprintf("%s:%d", testIP, freePort(t))
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`host: {id: 20}
server: {listen: %q, socket: %s, name: test-host}
auth:
  users:
    - name: ocp
      password_file: %s
      permissions: [HOST_MANAGER]
cgroup: off
state_dir: %s
processes:
%s  - alias: as-root
    id: 186
    start_command: /bin/sleep 1000
    user: root
    autostart: false
    autorestart: false
`, listen, sock, pwFile, stateDir, demo("obstat2", 185, port, ""))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, dir: dir, stateDir: stateDir, listen: listen, cfgPath: cfgPath}
	t.Cleanup(e.killLeftovers)

	a := launchAs(t, nobody, cfgPath, listen, "")
	if !strings.Contains(a.stderr.String(), "processes[1].user: the agent runs as uid 65534, not root, so it cannot start processes as root") {
		t.Errorf("no warning at load about user: root\n%s", a.stderr)
	}
	p := a.waitStarted(185)
	if p.User == nil || *p.User != "nobody" {
		t.Errorf("obstat2 runs as %v, want nobody", deref(p.User))
	}
	list, err := a.c.List(ctxT(t), 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list.Contents {
		if q.Alias == "ocp_agentd" && (q.User == nil || *q.User != "nobody") {
			t.Errorf("the agent runs as %v", deref(q.User))
		}
	}

	// Its own process: stopped and started again.
	if q, err := a.c.Stop(ctxT(t), 20, 185); err != nil || q.Status != api.StatusStopped {
		t.Fatalf("stop: %+v, %v", q, err)
	}
	if alive(p.PID) {
		t.Errorf("pid %d alive after the stop", p.PID)
	}
	if q, err := a.c.Start(ctxT(t), 20, 185); err != nil || q.Status != api.StatusStarted {
		t.Fatalf("start: %+v, %v", q, err)
	}

	// Another user's: refused, saying why.
	_, err = a.c.Start(ctxT(t), 20, 186)
	ae, ok := err.(*client.APIError)
	if !ok || ae.Code != api.CodeStartFailed || ae.HTTPStatus != 500 ||
		!strings.Contains(ae.Message, "cannot run as user root: the agent runs as uid 65534, and only root can switch users") {
		t.Errorf("start as-root: %v, want 40014 saying why", err)
	}

	// Root reaches the socket nobody's agent made, and is HOST_MANAGER.
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != nobodyUID {
		t.Errorf("socket %v, %v: want 0600, owned by nobody", fi, err)
	}
	if q, err := socketClient(sock).Stop(ctxT(t), 20, 185); err != nil || q.Status != api.StatusStopped {
		t.Errorf("root's stop over nobody's socket: %+v, %v", q, err)
	}

	if code := a.stop(); code != 0 {
		t.Errorf("exit status %d\n%s", code, a.stderr)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after a clean stop: %v", err)
	}
}

// TestSocketHeldByAnotherAgent checks that an agent refuses to start on a
// socket another agent serves (exit 1), and takes over one left by an agent
// that died.
func TestSocketHeldByAnotherAgent(t *testing.T) {
	dir := openDir(t, nil)
	sock := filepath.Join(dir, "agent.sock")
	config := func(name string) string {
		path := filepath.Join(dir, name+".yaml")
		text := fmt.Sprintf("host: {id: 20}\nserver: {listen: \"\", socket: %s}\ncgroup: off\nstate_dir: %s\n", sock, filepath.Join(dir, name))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first, second := config("first"), config("second")
	a := launchAs(t, nil, first, "", sock)

	b := exec.Command(filepath.Join(binDir, "ocp-agent"), "run", "--config", second)
	out, _ := b.CombinedOutput()
	if code := b.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "socket in use") ||
		!strings.Contains(string(out), fmt.Sprintf("pid %d", a.cmd.Process.Pid)) {
		t.Errorf("second agent on a live socket: status %d\n%s", code, out)
	}
	if err := a.c.Healthz(ctxT(t)); err != nil {
		t.Errorf("the first agent lost its socket: %v", err)
	}

	// Killed, the first leaves its socket behind; the next agent takes it.
	a.cmd.Process.Kill()
	<-a.exited
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("socket of a killed agent: %v", err)
	}
	c := launchAs(t, nil, second, "", sock)
	if code := c.stop(); code != 0 {
		t.Errorf("exit status %d\n%s", code, c.stderr)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after a clean stop: %v", err)
	}
}
