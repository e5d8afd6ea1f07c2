package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/config"
)

// Benchmarks of the list route. The ones with real processes start them
// inside the Benchmark function, so that `go test` without -bench (make
// test) never pays for them; none asserts a timing.

const benchListPath = "/compute/hosts/20/agent/processes"

// benchAgentIn runs a real Agent managing n copies of bench/managed that
// each listen on a port, and returns it once all of them show their port;
// cgroup is the config's cgroup key: "off", or a root of the benchmark's
// own (benchCgroupRoot).
func benchAgentIn(b *testing.B, n int, cgroup string) *Agent {
	b.Helper()
	return benchAgentWith(b, n, cgroup, zap.NewNop())
}

// benchManaged builds bench/managed once for all the benchmarks of a run,
// into benchManagedDir (removed by TestMain).
var benchManaged = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ocp-agent-bench-")
	if err != nil {
		return "", err
	}
	benchManagedDir = dir
	managed := filepath.Join(dir, "managed")
	build := exec.Command("go", "build", "-o", managed, "github.com/ocp-agent/ocp-agent/bench/managed")
	if _, src, _, ok := runtime.Caller(0); ok {
		build.Dir = filepath.Dir(src) // inside the module, wherever the test binary runs
	}
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bench/managed: %v\n%s", err, out)
	}
	return managed, nil
})

var benchManagedDir string

// benchAgentWith is benchAgentIn with the agent logging to log.
func benchAgentWith(b *testing.B, n int, cgroup string, log *zap.Logger) *Agent {
	b.Helper()
	dir := b.TempDir()
	managed, err := benchManaged()
	if err != nil {
		b.Fatal(err)
	}
	var y strings.Builder
	fmt.Fprintf(&y, "host:\n  id: 20\nserver:\n  listen: \"\"\nauth:\n  disabled: true\ncgroup: %s\nstate_dir: %s/state\nlog:\n  level: warn\nprocesses:\n", cgroup, dir)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - alias: p%d\n    id: %d\n    start_command: %q\n    start_wait: 0s\n", i, i, managed+" -mode listen")
	}
	cfg, err := config.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := 1; i <= n; i++ {
			a.Stop(ctx, int64(i))
		}
		a.Close()
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ps, err := a.List(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		up := 0
		for _, p := range ps {
			if p.Ports != nil {
				up++
			}
		}
		if up >= n {
			return a
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d processes listening after 2 minutes", up, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchContainment runs run as two sub-benchmarks, one for each way the
// agent contains its processes: "cgroup", each in a cgroup of its own (as
// with `cgroup: auto`, under a root of the benchmark's own; skipped where
// none can be made), and "off", without cgroups.
func benchContainment(b *testing.B, run func(b *testing.B, cgroup string)) {
	b.Run("cgroup", func(b *testing.B) { run(b, benchCgroupRoot(b)) })
	b.Run("off", func(b *testing.B) { run(b, "off") })
}

// BenchmarkAgentList100 is Agent.List of 100 managed processes (and the
// agent itself): one observation pass and 101 records.
func BenchmarkAgentList100(b *testing.B) {
	benchContainment(b, func(b *testing.B, cgroup string) { benchList(b, 100, cgroup) })
}

// BenchmarkAgentList1000 is BenchmarkAgentList100 with 1000 processes: a
// listing's cost should grow with the processes, and no faster.
func BenchmarkAgentList1000(b *testing.B) {
	benchContainment(b, func(b *testing.B, cgroup string) { benchList(b, 1000, cgroup) })
}

func benchList(b *testing.B, n int, cgroup string) {
	a := benchAgentIn(b, n, cgroup)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := a.List(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// cpuClock reads the process's CPU time, to report the CPU a listing
// burns beside the time it takes (it reads /proc on all cores).
type cpuClock struct{ start time.Duration }

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) cpuClock { return cpuClock{processCPU(b)} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU(b)-c.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkAgentListHTTP100 is the whole list route over 100 managed
// processes, as served: routing, envelope and JSON included.
func BenchmarkAgentListHTTP100(b *testing.B) {
	benchContainment(b, func(b *testing.B, cgroup string) {
		a := benchAgentIn(b, 100, cgroup)
		h, err := newHandler(ServerConfig{HostID: 20, AuthDisabled: true}, a)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPU(b)
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, benchListPath, nil))
			if w.Code != http.StatusOK {
				b.Fatalf("%d: %s", w.Code, w.Body)
			}
		}
		cpu.report(b)
	})
}

// listService answers List with fixed records, to time the route alone.
type listService struct {
	processService
	procs []api.HostAgentProcess
}

func (s listService) List(context.Context) ([]api.HostAgentProcess, error) { return s.procs, nil }

// BenchmarkListEnvelope100 is the list route's own cost (routing,
// envelope, JSON of 100 records) over a service that costs nothing.
func BenchmarkListEnvelope100(b *testing.B) {
	svc := listService{}
	for i := range 100 {
		p := api.HostAgentProcess{ID: int64(i + 1), HostID: 20, Alias: fmt.Sprintf("obstat%d", i), Status: api.StatusStarted,
			PID: 4000 + i, User: strp("admin"), StartCommand: strp("/home/admin/ocp_agent/bin/obstat2 -p 8089"), Ports: strp("8089,8090"),
			ElapsedTime: 86400, LastActiveTime: strp("2021-09-03T13:01:28+08:00"), Operable: true,
			LogFilePattern: strp("/home/admin/ocp_agent/log/obstat2.log*"),
			CreateTime:     "2021-08-03T15:02:44+08:00", UpdateTime: "2021-08-03T15:03:27+08:00", DesiredStatus: "STARTED"}
		svc.procs = append(svc.procs, p)
	}
	h, err := newHandler(ServerConfig{HostID: 20, AuthDisabled: true}, svc)
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, benchListPath, nil))
	b.SetBytes(int64(w.Body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, benchListPath, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("%d: %s", w.Code, w.Body)
		}
	}
}
