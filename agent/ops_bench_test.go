package agent

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
)

// burst sends one POST .../{id}/{op} for each of ids 1..n through h, all
// at once, and returns how long each took to be answered.
func burst(b *testing.B, h http.Handler, n int, op string) []time.Duration {
	b.Helper()
	took := make([]time.Duration, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("%s/%d/%s", benchListPath, i+1, op), nil)
			w := httptest.NewRecorder()
			<-start
			t0 := time.Now()
			h.ServeHTTP(w, req)
			took[i] = time.Since(t0)
			codes[i] = w.Code
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			b.Fatalf("%s of %d: HTTP %d", op, i+1, c)
		}
	}
	return took
}

// BenchmarkConcurrentStops100 is the server stopping every process of a
// host as one task: 100 stop requests at once, through the route, to 100
// programs that exit on SIGTERM. One op is the whole burst (the last
// answer); the processes are started again, untimed, between bursts.
// Each stop records its desired state durably before its signal, so the
// writes of the burst share commits (procmgr/state's writer). The floor
// is the programs' own exits: 100 of them on the machine's cores
// (make bench's "100 programs sent SIGTERM at once").
func BenchmarkConcurrentStops100(b *testing.B) {
	benchBurst(b, "stop", "start")
}

// BenchmarkConcurrentStarts100 is 100 start requests at once, to stopped
// processes (start_wait 0: what is timed is the agent's own work and the
// programs' start), stopped again, untimed, between bursts.
func BenchmarkConcurrentStarts100(b *testing.B) {
	benchBurst(b, "start", "stop")
}

// BenchmarkConcurrentRestarts100 is 100 restart requests at once, to
// running processes: a stop and a start each.
func BenchmarkConcurrentRestarts100(b *testing.B) {
	benchBurst(b, "restart", "")
}

// BenchmarkConcurrentStartsCgroups100 is BenchmarkConcurrentStarts100
// with each process in a cgroup of its own, made afresh at each start,
// as where the agent runs as root on a cgroup2 host (make bench).
func BenchmarkConcurrentStartsCgroups100(b *testing.B) {
	benchBurstIn(b, "start", "stop", benchCgroupRoot(b))
}

// BenchmarkConcurrentRestartsCgroups100 is BenchmarkConcurrentRestarts100
// with cgroups.
func BenchmarkConcurrentRestartsCgroups100(b *testing.B) {
	benchBurstIn(b, "restart", "", benchCgroupRoot(b))
}

// BenchmarkConcurrentStopsCgroups100 is BenchmarkConcurrentStops100 with
// cgroups: a stop is over once the cgroup is empty.
func BenchmarkConcurrentStopsCgroups100(b *testing.B) {
	benchBurstIn(b, "stop", "start", benchCgroupRoot(b))
}

// benchCgroupRoot is a cgroup root of the benchmark's own, or a skip.
func benchCgroupRoot(b *testing.B) string {
	root, why := cgrouptest.Root(b)
	if root == "" {
		b.Skip(why)
	}
	return root
}

// benchBurst times bursts of op on 100 processes, with undo (untimed)
// after each to bring them back; start is the state they begin in.
func benchBurst(b *testing.B, op, undo string) {
	benchBurstIn(b, op, undo, "off")
}

// benchBurstIn is benchBurst with cgroup as the config's setting.
func benchBurstIn(b *testing.B, op, undo, cgroup string) {
	const n = 100
	a := benchAgentIn(b, n, cgroup)
	// Above the default cap of operations in progress (64), so that all
	// 100 go at once.
	h, err := newHandler(ServerConfig{HostID: 20, AuthDisabled: true, MaxInflight: 2 * n}, a)
	if err != nil {
		b.Fatal(err)
	}
	settle := func() {
		// Let the programs finish starting (the Go runtime's start-up of
		// 100 programs is tens of ms of CPU), as a host's would have.
		time.Sleep(300 * time.Millisecond)
	}
	if op == "start" {
		burst(b, h, n, "stop")
	}
	var worst []time.Duration
	var commits int64
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c0, cpu0 := a.store.Commits(), processCPU(b)
		took := burst(b, h, n, op)
		// The writes that follow the answers (what a stop or start ended
		// with) are counted with the next burst's, or not at all.
		commits += a.store.Commits() - c0
		cpu += processCPU(b) - cpu0
		worst = append(worst, slices.Max(took))
		b.StopTimer()
		if undo != "" {
			burst(b, h, n, undo)
		}
		settle()
		b.StartTimer()
	}
	b.ReportMetric(float64(median(worst))/1e6, "last-answer-ms")
	// Commits taken while the answers were awaited: the durable writes
	// of the burst share them (procmgr/state's writer).
	b.ReportMetric(float64(commits)/float64(b.N), "commits/op")
	// The agent's CPU during the bursts (the requests' too): on a host's
	// few cores it is taken from the programs starting or exiting.
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
