package procfs

import (
	"testing"
)

// Benchmarks of a listing's cost: one AllStats and one ListeningSockets per
// listing, whatever the number of managed processes.

func BenchmarkAllStats(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		stats, err := Default.AllStats()
		if err != nil {
			b.Fatal(err)
		}
		n = len(stats)
	}
	b.ReportMetric(float64(n), "procs")
}

func BenchmarkListeningSockets(b *testing.B) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		t, err := Default.ListeningSockets()
		if err != nil {
			b.Fatal(err)
		}
		n = len(t)
	}
	b.ReportMetric(float64(n), "sockets")
}

func BenchmarkParseStat(b *testing.B) {
	line := readFixture(b, "stat/python3")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStat(line); err != nil {
			b.Fatal(err)
		}
	}
}
