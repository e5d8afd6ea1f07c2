package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the CPU time (user and system, all threads, ns precise)
// that process pid has used so far, through its process CPU clock
// (clock_getcpuclockid): /proc's tick counts are too coarse for a stop.
func cpuTime(pid int) (time.Duration, error) {
	clock := int32(^int32(pid))<<3 | 2 // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("cpu clock of pid %d: %w", pid, err)
	}
	return time.Duration(ts.Nano()), nil
}

// rssBytes returns the resident set size of pid (VmRSS) and its
// anonymous part (RssAnon): the rest is pages of files (the program and
// its libraries), clean and shared, which the kernel can drop at will.
func rssBytes(pid int) (rss, anon int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	kB := func(key string) (int64, error) {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
				f := bytes.Fields(rest)
				if len(f) == 2 && string(f[1]) == "kB" {
					v, err := strconv.ParseInt(string(f[0]), 10, 64)
					return v << 10, err
				}
			}
		}
		return 0, fmt.Errorf("pid %d: no %s", pid, key)
	}
	if rss, err = kB("VmRSS:"); err != nil {
		return 0, 0, err
	}
	anon, err = kB("RssAnon:")
	return rss, anon, err
}

// monotonic is CLOCK_MONOTONIC in ns, the clock the stubborn program
// stamps its SIGTERM with.
func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// exitWatch reports when a process exits, seen through a pidfd: the
// moment it becomes readable, on CLOCK_MONOTONIC.
type exitWatch chan int64

func watchExit(pid int) (exitWatch, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	w := make(exitWatch, 1)
	go func() {
		defer unix.Close(fd)
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(pfd, -1); !errors.Is(err, unix.EINTR) {
				break
			}
		}
		w <- monotonic()
	}()
	return w, nil
}

// wait returns the exit time, or an error after timeout.
func (w exitWatch) wait(timeout time.Duration) (int64, error) {
	select {
	case t := <-w:
		return t, nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("no exit within %v", timeout)
	}
}

// median of ds; 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile p (0..100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
