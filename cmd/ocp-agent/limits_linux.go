package main

import (
	"os"
	"strconv"
	"strings"
)

// readLimits reads the soft limits of pid from /proc/PID/limits.
func readLimits(pid int) limits {
	if pid <= 0 {
		return noLimits
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return noLimits
	}
	return parseLimits(string(data))
}

// limitsNameWidth is the width of the name column of /proc/PID/limits
// (the kernel prints "%-25s %-20s %-20s %-10s"): names have spaces, so the
// values are found by position.
const limitsNameWidth = 26

// parseLimits picks the soft limits ps -l shows out of the text of
// /proc/PID/limits.
func parseLimits(text string) limits {
	l := noLimits
	for _, line := range strings.Split(text, "\n") {
		var dst *string
		switch {
		case strings.HasPrefix(line, "Max open files"):
			dst = &l.nofile
		case strings.HasPrefix(line, "Max processes"):
			dst = &l.nproc
		case strings.HasPrefix(line, "Max core file size"):
			dst = &l.core
		default:
			continue
		}
		if len(line) <= limitsNameWidth {
			continue
		}
		if f := strings.Fields(line[limitsNameWidth:]); len(f) > 0 {
			*dst = f[0]
		}
	}
	return l
}
