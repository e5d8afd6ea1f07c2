package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Mount is one line of /proc/self/mountinfo (see proc_pid_mountinfo(5)),
// with the escapes (\040 for a space, ...) of its paths undone.
type Mount struct {
	Root    string // the directory of the file system mounted here ("/" for the whole)
	Point   string // where it is mounted
	Options string // per-mount options, e.g. "rw,relatime"
	FSType  string // e.g. "cgroup2"
	Super   string // per-superblock options
}

// ReadOnly says whether the mount or its file system is read-only.
func (m Mount) ReadOnly() bool {
	return hasOption(m.Options, "ro") || hasOption(m.Super, "ro")
}

func hasOption(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// ParseMountInfo parses the text of /proc/self/mountinfo. A malformed line
// is an error naming it; it never panics.
func ParseMountInfo(b []byte) ([]Mount, error) {
	var ms []Mount
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := parseMountLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", i+1, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// parseMountLine parses "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] -
// FSTYPE SOURCE SUPER".
func parseMountLine(line string) (Mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("%q: want ID PARENT DEV ROOT POINT OPTIONS ... - TYPE SOURCE OPTIONS", short(line))
	}
	root, err := unescapeOctal(f[3])
	if err != nil {
		return Mount{}, fmt.Errorf("root %q: %w", short(f[3]), err)
	}
	point, err := unescapeOctal(f[4])
	if err != nil {
		return Mount{}, fmt.Errorf("mount point %q: %w", short(f[4]), err)
	}
	m := Mount{Root: root, Point: point, Options: f[5], FSType: f[sep+1]}
	if len(f) > sep+3 {
		m.Super = f[sep+3]
	}
	return m, nil
}

// unescapeOctal undoes the kernel's escaping of a path in mountinfo: a
// space, tab, newline or backslash is written as a backslash and three
// octal digits.
func unescapeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", errors.New(`a '\' not followed by three octal digits`)
		}
		v := 0
		for _, c := range []byte(s[i+1 : i+4]) {
			if c < '0' || c > '7' {
				return "", errors.New(`a '\' not followed by three octal digits`)
			}
			v = v*8 + int(c-'0')
		}
		if v > 0xff {
			return "", errors.New(`an octal escape above \377`)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// ParseSelfCgroup returns the cgroup v2 path of /proc/self/cgroup: the
// path of its "0::" line, relative to the cgroup namespace's root. A host
// with cgroup v1 only has no such line: that is an error.
func ParseSelfCgroup(b []byte) (string, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			if !strings.HasPrefix(p, "/") {
				return "", fmt.Errorf("cgroup v2 path %q is not absolute", short(p))
			}
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 (\"0::\") line: the host has cgroup v1 only")
}

// short shortens s for an error message.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
