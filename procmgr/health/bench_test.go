package health

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTCP is one TCP check against a listener in another goroutine,
// with the CPU time of the whole process per check.
func BenchmarkTCP(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go serveConns(l)
	c := TCP{Addr: l.Addr().String()}
	before := cpu()
	b.ResetTimer()
	for b.Loop() {
		if err := Run(context.Background(), c, 2*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu()-before)/float64(b.N)/1e3, "µs-cpu/op")
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
