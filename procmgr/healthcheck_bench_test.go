package procmgr

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// BenchmarkHealthIdle100 measures what health checks cost an idle agent:
// 100 managed servers, each checked over TCP every 10 s, against the same
// 100 without checks. It reports the manager's CPU (this process's, not
// the servers') as a share of one core over a window of
// HEALTH_BENCH_IDLE (default 30s) each. It prints; it asserts nothing.
// HEALTH_BENCH_CPUPROFILE=file profiles the checked window alone.
func BenchmarkHealthIdle100(b *testing.B) {
	window := 30 * time.Second
	if s := os.Getenv("HEALTH_BENCH_IDLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		window = d
	}
	const n = 100
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var without, with float64
	for _, checked := range []bool{false, true} {
		ports := freePorts(b, n)
		specs := make([]Spec, n)
		for i := range specs {
			specs[i] = Spec{
				Alias: "p" + strconv.Itoa(i), ID: int64(i + 1), Command: exe + " helper listen-late " + ports[i] + " 0s",
				StopSignal: syscall.SIGKILL, StopTimeout: 5 * time.Second, Autostart: true, Autorestart: true,
			}
			if checked {
				specs[i].Health = &HealthSpec{TCP: "127.0.0.1:" + ports[i], Interval: 10 * time.Second, Timeout: 2 * time.Second, Failures: 3, Restart: true}
			}
		}
		dir := b.TempDir()
		m, err := New(Options{Store: state.NewMemory(), OutputDir: dir, PidDir: filepath.Join(dir, "run")}, specs)
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for _, sp := range specs {
			for {
				s, _ := m.Snapshot(sp.Alias)
				if s.Phase == "running" && (!checked || s.Health == HealthHealthy) {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%s not running and healthy: %+v", sp.Alias, s)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		failedBefore := failedChecks(m)
		stopProfile := profileWindow(b, checked)
		before, start := cpuTime(), time.Now()
		time.Sleep(window)
		stopProfile()
		share := float64(cpuTime()-before) / float64(time.Since(start)) * 100
		failed := failedChecks(m) - failedBefore
		for _, sp := range specs {
			m.Stop(context.Background(), sp.Alias)
		}
		m.Close()
		if checked {
			with = share
			b.Logf("100 processes checked over TCP every 10s: %.4f %% of a core (failed checks in the window: %d)", share, failed)
		} else {
			without = share
			b.Logf("100 processes without checks: %.4f %% of a core", share)
		}
	}
	b.ReportMetric(with, "%core-checked")
	b.ReportMetric(without, "%core-unchecked")
	b.ReportMetric(with-without, "%core-of-checks")
}

// profileWindow writes a CPU profile of the checked window to the file
// HEALTH_BENCH_CPUPROFILE names, if any: -cpuprofile would also take the
// start and stop of the 100 servers, which dwarf the idle window.
func profileWindow(b *testing.B, checked bool) (stop func()) {
	name := os.Getenv("HEALTH_BENCH_CPUPROFILE")
	if !checked || name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// freePorts returns n loopback ports that nothing listens on right now.
func freePorts(b *testing.B, n int) []string {
	ports := make([]string, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		ports[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func failedChecks(m *Manager) uint64 {
	var n uint64
	for _, s := range m.Snapshots() {
		n += s.HealthChecksFailed
	}
	return n
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
