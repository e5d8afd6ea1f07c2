package agent

import (
	"io"
	"runtime"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// memNow is the Go heap and stacks in use, and the goroutines, after
// enough full collections for the stacks to settle: each collection
// halves at most once the stack of a goroutine that uses less than a
// quarter of it, so a goroutine that once went deep (a fork, a write to
// the state) takes several to come back to what it needs while idle, as
// it does in an agent that has run for a few minutes.
func memNow() (heap, stack uint64, goroutines int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	for range 8 {
		before := m.StackInuse
		runtime.GC()
		runtime.ReadMemStats(&m)
		if m.StackInuse == before {
			break
		}
	}
	return m.HeapInuse, m.StackInuse, runtime.NumGoroutine()
}

// benchLogger logs as the agent does by default (console lines, level
// info), into nothing: a process's logger costs what it costs in the
// agent, where each process logs at least its start or adoption.
func benchLogger() *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
}

// BenchmarkMemoryPerProcess is where the memory of each managed process
// goes inside the agent: the Go heap, goroutine stacks and goroutines that
// 200 more running processes add (agents with 20 and with 220, both
// kept). It times nothing; the RSS that make bench measures adds the
// runtime's own overhead on top.
func BenchmarkMemoryPerProcess(b *testing.B) {
	const small, large = 20, 220
	log := benchLogger()
	benchAgentWith(b, small, "off", log)
	h0, s0, g0 := memNow()
	benchAgentWith(b, large-small, "off", log)
	h1, s1, g1 := memNow()
	per := float64(large - small)
	for b.Loop() {
	}
	b.ReportMetric((float64(h1)-float64(h0))/per, "heap-B/proc")
	b.ReportMetric((float64(s1)-float64(s0))/per, "stack-B/proc")
	b.ReportMetric(float64(g1-g0)/per, "goroutines/proc")
}
