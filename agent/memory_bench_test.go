package agent

import (
	"runtime"
	"testing"
)

// memNow is the Go heap and stacks in use, and the goroutines, after a
// full collection.
func memNow() (heap, stack uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse, runtime.NumGoroutine()
}

// BenchmarkMemoryPerProcess is where the memory of each managed process
// goes inside the agent: the Go heap, goroutine stacks and goroutines that
// 200 more running processes add (agents with 20 and with 220, both
// kept). It times nothing; the RSS that make bench measures adds the
// runtime's own overhead on top.
func BenchmarkMemoryPerProcess(b *testing.B) {
	const small, large = 20, 220
	benchAgent(b, small)
	h0, s0, g0 := memNow()
	benchAgent(b, large-small)
	h1, s1, g1 := memNow()
	per := float64(large - small)
	for b.Loop() {
	}
	b.ReportMetric((float64(h1)-float64(h0))/per, "heap-B/proc")
	b.ReportMetric((float64(s1)-float64(s0))/per, "stack-B/proc")
	b.ReportMetric(float64(g1-g0)/per, "goroutines/proc")
}
