package cgroup

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseMemoryMax parses memory_max: a whole number of bytes, or with a
// suffix K, M, G or T (powers of 1024, as systemd's MemoryMax= and the
// kernel's own "2G" style mean them), e.g. "2G", "512M", "1073741824". ""
// is no limit (0).
func ParseMemoryMax(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	num, mult := s, uint64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1 << 10
	case 'M', 'm':
		mult = 1 << 20
	case 'G', 'g':
		mult = 1 << 30
	case 'T', 't':
		mult = 1 << 40
	}
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || num == "" || num[0] == '+' {
		return 0, fmt.Errorf("memory_max %q: want bytes as a whole number, optionally with K, M, G or T (e.g. \"2G\")", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("memory_max %q: must be more than 0 (use \"\" for no limit)", s)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("memory_max %q: too large", s)
	}
	return n * mult, nil
}

// ParseCPUMax parses cpu_max, cgroup's cpu.max without "max": "QUOTA
// PERIOD" in microseconds ("200000 100000" is two CPUs), or "QUOTA" alone
// with the kernel's default period of 100000. The kernel takes quotas of at
// least 1000 and periods from 1000 to 1000000. It returns the value to
// write, normalised to "QUOTA PERIOD"; "" is no limit.
func ParseCPUMax(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	f := strings.Fields(s)
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("cpu_max %q: %s (want \"QUOTA PERIOD\" in microseconds, e.g. \"200000 100000\" for two CPUs)", s, why)
	}
	if len(f) == 0 || len(f) > 2 {
		return bad("one or two numbers")
	}
	if len(f) == 1 {
		f = append(f, "100000")
	}
	quota, err := strconv.ParseUint(f[0], 10, 63)
	if err != nil {
		return bad("quota is not a whole number")
	}
	period, err := strconv.ParseUint(f[1], 10, 63)
	if err != nil {
		return bad("period is not a whole number")
	}
	if quota < 1000 {
		return bad("quota under 1000")
	}
	if period < 1000 || period > 1000000 {
		return bad("period outside 1000..1000000")
	}
	return fmt.Sprintf("%d %d", quota, period), nil
}
