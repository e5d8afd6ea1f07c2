package procfs

import (
	"encoding/binary"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestElapsedArithmetic(t *testing.T) {
	const maxTicks = uint64(math.MaxInt64 / int64(tick))
	tests := []struct {
		name       string
		sinceBoot  time.Duration
		startTicks uint64
		want       time.Duration
	}{
		{"started at boot", 90 * time.Second, 0, 90 * time.Second},
		{"started 5s after boot", 90 * time.Second, 500, 85 * time.Second},
		{"one tick is 10ms", time.Second, 99, 10 * time.Millisecond},
		{"started now", 5 * time.Second, 500, 0},
		{"start after now (clock disagreement) is clamped", 5 * time.Second, 501, 0},
		{"largest start time a Duration holds", math.MaxInt64, maxTicks, time.Duration(math.MaxInt64) - time.Duration(maxTicks)*tick},
		{"start time that overflows a Duration", math.MaxInt64, maxTicks + 1, 0},
		{"huge start time", 90 * time.Second, math.MaxUint64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := elapsed(tt.sinceBoot, tt.startTicks); got != tt.want {
				t.Errorf("elapsed(%v, %d) = %v, want %v", tt.sinceBoot, tt.startTicks, got, tt.want)
			}
		})
	}
}

func TestSinceBootMatchesUptime(t *testing.T) {
	// /proc/uptime is CLOCK_BOOTTIME too, printed to 1/100 s (truncated).
	before, err := SinceBoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	after, err := SinceBoot()
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	uptime := time.Duration(secs * float64(time.Second))
	if uptime < before-20*time.Millisecond || uptime > after+time.Millisecond {
		t.Errorf("/proc/uptime %v is not between SinceBoot %v and %v", uptime, before, after)
	}
	if after < before {
		t.Errorf("SinceBoot went back: %v then %v", before, after)
	}
}

func TestClockTicksMatchesAuxv(t *testing.T) {
	// The kernel passes USER_HZ to every program as AT_CLKTCK in the
	// auxiliary vector: pairs of native words, ending with AT_NULL.
	const atNull, atClkTck = 0, 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Skipf("cannot read auxv: %v", err)
	}
	w := int(unsafe.Sizeof(uintptr(0)))
	word := func(b []byte) uint64 {
		if w == 4 {
			return uint64(binary.NativeEndian.Uint32(b))
		}
		return binary.NativeEndian.Uint64(b)
	}
	for i := 0; i+2*w <= len(b); i += 2 * w {
		switch word(b[i:]) {
		case atNull:
			t.Fatal("no AT_CLKTCK in auxv")
		case atClkTck:
			if got := word(b[i+w:]); got != ClockTicks {
				t.Fatalf("AT_CLKTCK = %d, ClockTicks = %d", got, ClockTicks)
			}
			return
		}
	}
	t.Fatal("no AT_CLKTCK in auxv")
}
