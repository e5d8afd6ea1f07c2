package procfs

import (
	"math"
	"time"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/PID/stat (clock
// ticks per second). It is part of the kernel's user-space ABI, not its
// internal HZ: the kernel converts jiffies to USER_HZ for /proc
// (jiffies_to_clock_t), and USER_HZ is 100 on every architecture Go runs
// on. Using the constant avoids cgo for sysconf(_SC_CLK_TCK); a test checks
// it against AT_CLKTCK in the auxiliary vector.
const ClockTicks = 100

// tick is the duration of one clock tick.
const tick = time.Second / ClockTicks

// Elapsed returns how long ago a process with the given StartTicks started:
// SinceBoot() minus startTicks/ClockTicks, never negative. Both are counted
// from boot on the same clock, so a wall-clock step does not move it. It is
// precise to a tick (10 ms).
func Elapsed(startTicks uint64) (time.Duration, error) {
	now, err := SinceBoot()
	if err != nil {
		return 0, err
	}
	return elapsed(now, startTicks), nil
}

// ElapsedAt is Elapsed at the time sinceBoot (a SinceBoot reading), so
// that one reading serves a whole listing.
func ElapsedAt(sinceBoot time.Duration, startTicks uint64) time.Duration {
	return elapsed(sinceBoot, startTicks)
}

// elapsed is sinceBoot minus startTicks clock ticks, clamped at zero. A
// start time after now (or too large for a Duration) gives zero.
func elapsed(sinceBoot time.Duration, startTicks uint64) time.Duration {
	if startTicks > uint64(math.MaxInt64/int64(tick)) {
		return 0
	}
	d := sinceBoot - time.Duration(startTicks)*tick
	if d < 0 {
		return 0
	}
	return d
}
