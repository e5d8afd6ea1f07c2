package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent"
	"github.com/ocp-agent/ocp-agent/agent/api"
)

// socketEnv is an env whose config has server.socket, in a short
// directory (sun_path holds 107 bytes), and a notify socket standing in
// for systemd.
func socketEnv(t *testing.T, processes string) (*testEnv, string, *notifyListener) {
	t.Helper()
	dir, err := os.MkdirTemp("", "reload")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	e := newEnv(t, processes)
	cfg, _ := os.ReadFile(e.cfgPath)
	cfg = []byte(strings.Replace(string(cfg), "  name: test-host\n", "  name: test-host\n  socket: "+sock+"\n", 1))
	if err := os.WriteFile(e.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	n := listenNotify(t, filepath.Join(dir, "n.sock"))
	e.env = []string{"NOTIFY_SOCKET=" + n.path}
	return e, sock, n
}

// TestReloadCommand runs `ocp-agent reload` against a running agent over
// its socket: it returns once the config is applied (the added process is
// listed when it returns), refuses a broken config with the agent's reason
// and a non-zero status while the old config stays in force, and
// serializes concurrent reloads, each bracketed by RELOADING and READY.
func TestReloadCommand(t *testing.T) {
	e, sock, n := socketEnv(t, demo("obstat2", 185, freePort(t), ""))
	a := e.start()
	if msg := n.next(20 * time.Second); msg != "READY=1" {
		t.Fatalf("first notification %q", msg)
	}
	a.waitStarted(185)
	good, _ := os.ReadFile(e.cfgPath)

	t.Run("applied", func(t *testing.T) {
		added := string(good) + demo("obstat3", 190, freePort(t), "")
		os.WriteFile(e.cfgPath, []byte(added), 0o600)
		r := cli(t, nil, "reload", "--config", e.cfgPath)
		if r.code != 0 || !strings.Contains(r.stdout, "added obstat3; removed -; changed -") {
			t.Fatalf("status %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		// Applied means listed now, not eventually.
		if _, err := a.c.Get(ctxT(t), 20, 190); err != nil {
			t.Errorf("obstat3 not listed once reload returned: %v", err)
		}
		a.waitStarted(190)
		for _, want := range []string{"RELOADING=1\n", "READY=1"} {
			if msg := n.next(10 * time.Second); !strings.HasPrefix(msg, want) {
				t.Errorf("notification %q, want %q", msg, want)
			}
		}
		good, _ = os.ReadFile(e.cfgPath)
	})

	t.Run("refused", func(t *testing.T) {
		// Line 3 of the file is broken YAML; the rest stays as it was.
		lines := strings.SplitN(string(good), "\n", 3)
		broken := lines[0] + "\n" + lines[1] + "\nserver: [unclosed\n" + lines[2]
		os.WriteFile(e.cfgPath, []byte(broken), 0o600)
		t.Cleanup(func() { os.WriteFile(e.cfgPath, good, 0o600) })
		r := cli(t, nil, "reload", "--config", e.cfgPath)
		if r.code != 1 || !strings.Contains(r.stderr, "refused the reload") || !regexp.MustCompile(regexp.QuoteMeta(e.cfgPath)+`:\d+: invalid YAML`).MatchString(r.stderr) {
			t.Errorf("status %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		// The CLI said it fell back to the socket it found in the file.
		if !strings.Contains(r.stderr, "config invalid: ") || !strings.Contains(r.stderr, "asking the agent at "+sock) {
			t.Errorf("no word of the fallback to the socket:\n%s", r.stderr)
		}
		// ps still looks, and the old config is in force.
		r = cli(t, nil, "ps", "--config", e.cfgPath)
		if r.code != 0 || !strings.Contains(r.stdout, "obstat2") || !strings.Contains(r.stdout, "obstat3") {
			t.Errorf("ps on a broken config: status %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"RELOADING=1\n", "READY=1"} {
			if msg := n.next(10 * time.Second); !strings.HasPrefix(msg, want) {
				t.Errorf("notification %q, want %q", msg, want)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		const k = 6
		// Read as they come: the socket's queue is short, and the agent
		// waits when it is full, as it would for a systemd that is busy.
		msgs := make(chan string, 2*(k+1))
		go func() {
			defer close(msgs)
			buf := make([]byte, 4096)
			n.conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
			for range 2 * (k + 1) {
				m, err := n.conn.Read(buf)
				if err != nil {
					return
				}
				msgs <- string(buf[:m])
			}
		}()
		var wg sync.WaitGroup
		results := make([]cliResult, k)
		for i := range k {
			wg.Go(func() { results[i] = cli(t, nil, "reload", "--config", e.cfgPath) })
		}
		a.cmd.Process.Signal(syscall.SIGHUP) // one more, by signal, among them
		wg.Wait()
		for i, r := range results {
			if r.code != 0 || !strings.Contains(r.stdout, "added -; removed -; changed -") {
				t.Errorf("reload %d: status %d\nstdout %s\nstderr %s", i, r.code, r.stdout, r.stderr)
			}
		}
		// k+1 reloads, one after the other: RELOADING and READY alternate.
		for i := range 2 * (k + 1) {
			want := "RELOADING=1\n"
			if i%2 == 1 {
				want = "READY=1"
			}
			if msg, ok := <-msgs; !ok || !strings.HasPrefix(msg, want) {
				t.Fatalf("notification %d %q, want %q", i, msg, want)
			}
		}
		l, err := a.c.List(ctxT(t), 20)
		if err != nil || len(l.Contents) != 3 {
			t.Errorf("after the reloads: %v, %+v", err, l)
		}
	})

	t.Run("not over TCP", func(t *testing.T) {
		env, resp, err := a.c.Do(context.Background(), http.MethodPost, agent.ReloadPath)
		if err != nil || resp.StatusCode != http.StatusNotFound || env.Error == nil || env.Error.Code != api.CodeNoRoute {
			t.Errorf("POST %s over TCP: %v %+v %+v", agent.ReloadPath, err, resp, env)
		}
	})
}

// TestReloadWithoutSocket: without server.socket the command cannot wait
// for the reload; under systemd ($MAINPID) it sends SIGHUP, elsewhere it
// says what to do.
func TestReloadWithoutSocket(t *testing.T) {
	e := newEnv(t, demo("obstat2", 185, freePort(t), ""))
	n := listenNotify(t, filepath.Join(shortDir(t), "n.sock"))
	e.env = []string{"NOTIFY_SOCKET=" + n.path}
	a := e.start()
	if msg := n.next(20 * time.Second); msg != "READY=1" {
		t.Fatalf("first notification %q", msg)
	}
	r := cli(t, nil, "reload", "--config", e.cfgPath)
	if r.code != 1 || !strings.Contains(r.stderr, "has no server.socket") {
		t.Errorf("without MAINPID: status %d\nstderr %s", r.code, r.stderr)
	}
	r = cli(t, []string{fmt.Sprintf("MAINPID=%d", a.cmd.Process.Pid)}, "reload", "--config", e.cfgPath)
	if r.code != 0 || !strings.Contains(r.stderr, "sent SIGHUP to pid") {
		t.Errorf("with MAINPID: status %d\nstderr %s", r.code, r.stderr)
	}
	if msg := n.next(10 * time.Second); !strings.HasPrefix(msg, "RELOADING=1\n") {
		t.Errorf("no reload after SIGHUP: %q", msg)
	}
}

// shortDir is a temporary directory with a short path, for sockets.
func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
