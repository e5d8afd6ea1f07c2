package procfs

import "math"

// Byte-level helpers shared by the parsers. They work on []byte without
// converting to string, so that parsing a line allocates nothing; the
// fuzz tests check them against strconv.

// isSpace reports whether c separates fields in /proc files.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n'
}

// splitFields stores the first len(dst) fields of b, separated by runs of
// isSpace bytes, in dst and returns how many it stored.
func splitFields(b []byte, dst [][]byte) int {
	n := 0
	i := 0
	for n < len(dst) {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			break
		}
		start := i
		for i < len(b) && !isSpace(b[i]) {
			i++
		}
		dst[n] = b[start:i]
		n++
	}
	return n
}

// parseDec parses a non-empty unsigned decimal number that fits in 64 bits.
func parseDec(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseHex parses a non-empty unsigned hexadecimal number (no prefix, either
// case) that fits in 64 bits.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d, ok := hexDigit(c)
		if !ok || v > math.MaxUint64>>4 {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseID parses a pid, process group or session id: a decimal that fits
// in an int.
func parseID(b []byte) (int, bool) {
	v, ok := parseDec(b)
	if !ok || v > math.MaxInt {
		return 0, false
	}
	return int(v), true
}
