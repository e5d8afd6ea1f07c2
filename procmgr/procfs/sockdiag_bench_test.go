package procfs

import "testing"

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
