package procfs

import (
	"fmt"
	"net"
	"testing"
)

// BenchmarkSockets is port discovery's socket table through sock_diag;
// compare with BenchmarkListeningSockets (/proc/net).
func BenchmarkSockets(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		t, err := Default.Sockets()
		if err != nil {
			b.Fatal(err)
		}
		n = len(t)
	}
	b.ReportMetric(float64(n), "sockets")
}

// BenchmarkSocketsByCgroup is one dump of every listener grouped by
// cgroup, with n more listeners of this process (all in its cgroup).
func BenchmarkSocketsByCgroup(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			for range n {
				ln, err := net.Listen("tcp4", "127.0.0.1:0")
				if err != nil {
					b.Skipf("listener %d: %v", n, err)
				}
				defer ln.Close()
			}
			b.ReportAllocs()
			var sockets, cgroups int
			for b.Loop() {
				t, byCgroup, err := Default.SocketsByCgroup()
				if err != nil {
					b.Fatal(err)
				}
				sockets, cgroups = len(t), len(byCgroup)
			}
			b.ReportMetric(float64(sockets), "sockets")
			b.ReportMetric(float64(cgroups), "cgroups")
		})
	}
}
