package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifyListener is the test's stand-in for systemd: the datagram socket
// NOTIFY_SOCKET names.
type notifyListener struct {
	t    *testing.T
	path string
	conn *net.UnixConn
}

func listenNotify(t *testing.T, path string) *notifyListener {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifyListener{t: t, path: path, conn: conn}
}

// next returns the next message, failing the test after timeout.
func (n *notifyListener) next(timeout time.Duration) string {
	n.t.Helper()
	n.conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	k, err := n.conn.Read(buf)
	if err != nil {
		n.t.Fatalf("no notification within %s: %v", timeout, err)
	}
	return string(buf[:k])
}

func TestSystemdNotify(t *testing.T) {
	// A short path: sun_path holds 107 bytes, and t.TempDir() can be long.
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := listenNotify(t, filepath.Join(dir, "n.sock"))

	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	e.env = []string{"NOTIFY_SOCKET=" + n.path, "WATCHDOG_USEC=30000000", "WATCHDOG_PID=1", "OCP_E2E_MARK=inherited"}
	a := e.launch()

	if msg := n.next(20 * time.Second); msg != "READY=1" {
		t.Fatalf("first notification %q, want READY=1\n%s", msg, a.stderr)
	}
	// READY means serving: the API must answer at once, not eventually.
	if err := a.c.Healthz(context.Background()); err != nil {
		t.Errorf("READY sent before the API serves: %v", err)
	}

	// The managed process must not talk to systemd in the agent's name.
	p := a.waitStarted(185)
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	vars := bytes.Split(env, []byte{0})
	if !containsVar(vars, "OCP_AGENT_PROCESS=obstat2") {
		t.Fatalf("environ of pid %d is not a managed process's: %q", p.PID, env)
	}
	// The agent's environment is not passed on at all (its variables may
	// be secrets), systemd's least of all.
	for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "OCP_E2E_MARK"} {
		if containsVar(vars, v+"=") {
			t.Errorf("managed pid %d inherited %s", p.PID, v)
		}
	}

	// systemctl reload: RELOADING (with the monotonic time systemd 253
	// wants) and READY again once the config is applied.
	a.cmd.Process.Signal(syscall.SIGHUP)
	if msg := n.next(10 * time.Second); !strings.HasPrefix(msg, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("notification at SIGHUP %q, want RELOADING=1 and MONOTONIC_USEC", msg)
	}
	if msg := n.next(10 * time.Second); msg != "READY=1" {
		t.Errorf("notification after the reload %q, want READY=1", msg)
	}

	if code := a.stop(); code != 0 {
		t.Errorf("exit status %d\n%s", code, a.stderr)
	}
	if msg := n.next(5 * time.Second); msg != "STOPPING=1" {
		t.Errorf("notification at shutdown %q, want STOPPING=1", msg)
	}
}

// containsVar says whether one of vars is v, or starts with v when v ends
// with "=".
func containsVar(vars [][]byte, v string) bool {
	for _, x := range vars {
		if string(x) == v || (strings.HasSuffix(v, "=") && bytes.HasPrefix(x, []byte(v))) {
			return true
		}
	}
	return false
}

func TestSdNotify(t *testing.T) {
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "n.sock")
	abstract := fmt.Sprintf("@ocp-agent-test-%d", os.Getpid())
	tests := []struct {
		name   string
		socket string
		listen string
		state  string
		want   string // prefix of the datagram
	}{
		{"path", path, path, notifyReady, "READY=1"},
		{"abstract socket", abstract, "\x00" + abstract[1:], notifyStopping, "STOPPING=1"},
		{"reloading carries the monotonic time", path + "2", path + "2", notifyReloading, "RELOADING=1\nMONOTONIC_USEC="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := listenNotify(t, tc.listen)
			t.Setenv("NOTIFY_SOCKET", tc.socket)
			if err := sdNotify(tc.state); err != nil {
				t.Fatal(err)
			}
			if msg := n.next(time.Second); !strings.HasPrefix(msg, tc.want) {
				t.Errorf("got %q, want %q...", msg, tc.want)
			}
		})
	}
	t.Run("no socket is no error", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "")
		if err := sdNotify(notifyReady); err != nil {
			t.Error(err)
		}
	})
	t.Run("relative path refused", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "n.sock")
		if err := sdNotify(notifyReady); err == nil {
			t.Error("no error")
		}
	})
}
