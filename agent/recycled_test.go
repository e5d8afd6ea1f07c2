package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// startStranger starts a process the agent never started, leading a
// process group of its own (so that a signal to the group would reach it),
// and kills it at the end of the test.
func startStranger(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

// running says whether pid is alive and not a zombie.
func running(pid int) bool {
	st, err := procfs.Default.Stat(pid)
	return err == nil && st.State != 'Z'
}

// runAgent runs a real Agent on cfgYAML until the test ends, and returns
// its TCP address.
func runAgent(t *testing.T, cfgYAML string) (*Agent, string) {
	t.Helper()
	cfg, err := config.Parse("agent.yaml", []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	return serveAgent(t, cfg)
}

// serveAgent runs a real Agent on cfg until the test ends, then kills what
// it left running, and returns its TCP address.
func serveAgent(t *testing.T, cfg *config.Config) (*Agent, string) {
	t.Helper()
	// Tests keep cgroups under roots of their own: a config that names
	// none (auto) runs without, never in the host's <cgroup2>/ocp-agent.
	if cfg.Cgroup == config.CgroupAuto {
		cfg.Cgroup = config.CgroupOff
	}
	ln, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
		killRecorded(cfg.StateDir)
	})
	return a, ln.TCP.Addr().String()
}

// killRecorded kills what the agent left running: the processes its state
// names, each checked by its start time, so only what this test started.
func killRecorded(stateDir string) {
	st, err := state.OpenBolt(stateDir)
	if err != nil {
		return
	}
	defer st.Close()
	recs, _ := st.All()
	for _, r := range recs {
		if r.Alias == SelfAlias || r.PID <= 0 {
			continue
		}
		if ps, err := procfs.Default.Stat(r.PID); err == nil && ps.StartTicks == r.StartTicks {
			syscall.Kill(-r.PID, syscall.SIGKILL)
			syscall.Kill(r.PID, syscall.SIGKILL)
		}
	}
}

// TestStopNeverSignalsARecycledPid plants, in the agent's state, a record
// of its process whose pid is now another process's (a live one this test
// started), with a start time or boot that does not match, and checks that
// a stop through the API, over TCP and over the socket, leaves that
// process and its group alone.
func TestStopNeverSignalsARecycledPid(t *testing.T) {
	boot, err := procfs.Default.BootID()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		forge     func(r *state.Record, ticks uint64)
		viaSocket bool
	}{
		{"start time differs", func(r *state.Record, ticks uint64) { r.StartTicks, r.BootID = ticks-1, boot }, false},
		{"start time later", func(r *state.Record, ticks uint64) { r.StartTicks, r.BootID = ticks+100, boot }, true},
		{"another boot", func(r *state.Record, ticks uint64) { r.StartTicks, r.BootID = ticks, "another-boot" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := openTempDir(t)
			stateDir, sock := filepath.Join(dir, "state"), filepath.Join(dir, "agent.sock")
			stranger := startStranger(t)
			ps, err := procfs.Default.Stat(stranger)
			if err != nil {
				t.Fatal(err)
			}
			st, err := state.OpenBolt(stateDir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.AssignID("p", 185); err != nil {
				t.Fatal(err)
			}
			rec := state.Record{Alias: "p", ID: 185, PID: stranger, Group: true, Desired: state.DesiredStarted,
				CreateTime: time.Now().Add(-time.Hour), UpdateTime: time.Now().Add(-time.Hour)}
			tt.forge(&rec, ps.StartTicks)
			if err := st.Put(rec); err != nil {
				t.Fatal(err)
			}
			st.Close()

			_, addr := runAgent(t, fmt.Sprintf(`host: {id: 20}
server: {listen: "127.0.0.1:0", socket: %s, name: test-host}
auth:
  users: [{name: ocp, password: secret, permissions: [HOST_MANAGER]}]
cgroup: off
state_dir: %s
processes:
  - alias: p
    id: 185
    start_command: sleep 1000
    start_wait: 100ms
    stop_timeout: 2s
    autorestart: false
`, sock, stateDir))
			c := client.New("http://"+addr, client.WithBasicAuth("ocp", "secret"))
			if tt.viaSocket {
				c = client.New("http://agent", client.WithHTTPClient(unixClient(sock)))
			}
			if p, err := c.Get(t.Context(), 20, 185); err != nil || p.PID == stranger {
				t.Fatalf("the recycled pid was adopted: %+v, %v", p, err)
			}
			p, err := c.Stop(t.Context(), 20, 185)
			if err != nil || p.Status != api.StatusStopped || p.PID != 0 {
				t.Fatalf("stop: %+v, %v", p, err)
			}
			if !running(stranger) {
				t.Fatalf("the agent signalled pid %d, which it never started", stranger)
			}
			if err := syscall.Kill(-stranger, 0); err != nil {
				t.Errorf("the stranger's process group: %v", err)
			}
		})
	}
}

// TestAgentSocket checks the socket of a real Agent: owner-only, served,
// and removed when the agent stops; and that a second agent on the same
// socket fails to start.
func TestAgentSocket(t *testing.T) {
	dir := openTempDir(t)
	sock := filepath.Join(dir, "agent.sock")
	cfg := func(state string) string {
		return fmt.Sprintf("host: {id: 20}\nserver: {listen: \"\", socket: %s}\ncgroup: off\nstate_dir: %s\n", sock, filepath.Join(dir, state))
	}
	parsed, err := config.Parse("agent.yaml", []byte(cfg("first")))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(parsed)
	if err != nil || ln.TCP != nil {
		t.Fatalf("Listen = %v, %v; want no TCP listener", ln, err)
	}
	a, err := New(parsed, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()

	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket %v, %v", fi, err)
	}
	if status, env := socketDo(t, sock, "GET", procs); status != 200 || !env.Successful {
		t.Errorf("list over the socket: %d", status)
	}

	second, err := config.Parse("agent.yaml", []byte(cfg("second")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(second); !errors.Is(err, ErrSocketInUse) {
		t.Errorf("second agent's Listen: %v, want ErrSocketInUse", err)
	}
	if c, err := net.Dial("unix", sock); err != nil {
		t.Errorf("the first agent lost its socket: %v", err)
	} else {
		c.Close()
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after a clean stop: %v", err)
	}
}
