package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/ocp-agent/ocp-agent/internal/parallel"
)

// Stat is what procmgr uses of /proc/PID/stat (see proc(5)).
type Stat struct {
	PID, PPID, PGRP, Session int
	// Comm is the command name (at most 15 bytes, set by the kernel from the
	// executable's name or by prctl(PR_SET_NAME)); it may contain anything.
	Comm string
	// State is the one-letter state: R, S, D, Z, T, t, X, I...
	State byte
	// StartTicks is field 22: the start time in clock ticks (ClockTicks per
	// second) after boot. With the pid and the boot id it identifies a
	// process: it does not change while the process lives and, unlike a
	// wall-clock creation time, does not move when the clock is set.
	StartTicks uint64
}

// statFields is how many fields ParseStat needs after the command name:
// field 3 (state) to field 22 (starttime). Later fields are ignored, so that
// fields added by newer kernels do not matter.
const statFields = 22 - 2

// ParseStat parses the contents of /proc/PID/stat. It never panics.
//
// The command name is taken from between the first '(' and the last ')':
// it is the only field that may contain spaces, parentheses and newlines,
// and the fields after it are numbers and a state letter, which cannot
// contain ')'.
func ParseStat(b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Stat{}, errors.New("no command name in parentheses")
	}
	pidField, ok := bytes.CutSuffix(b[:open], []byte(" "))
	if !ok {
		return Stat{}, fmt.Errorf("invalid pid %q", b[:open])
	}
	var s Stat
	if s.PID, ok = parseID(pidField); !ok || s.PID == 0 {
		return Stat{}, fmt.Errorf("invalid pid %q", pidField)
	}
	rest := b[end+1:]
	if len(rest) == 0 || rest[0] != ' ' {
		return Stat{}, errors.New("no space after command name")
	}
	var f [statFields][]byte
	if n := splitFields(rest, f[:]); n < statFields {
		return Stat{}, fmt.Errorf("%d fields after command name, want at least %d", n, statFields)
	}
	// f[i] is field i+3 of proc(5).
	if len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("field 3 (state): invalid %q", f[0])
	}
	s.State = f[0][0]
	var ids [3]int // fields 4, 5, 6
	for i, name := range [...]string{"ppid", "pgrp", "session"} {
		if ids[i], ok = parseID(f[i+1]); !ok {
			return Stat{}, fmt.Errorf("field %d (%s): invalid %q", i+4, name, f[i+1])
		}
	}
	s.PPID, s.PGRP, s.Session = ids[0], ids[1], ids[2]
	if s.StartTicks, ok = parseDec(f[22-3]); !ok {
		return Stat{}, fmt.Errorf("field 22 (starttime): invalid %q", f[22-3])
	}
	s.Comm = string(b[open+1 : end])
	return s, nil
}

// Stat reads and parses Root/PID/stat. The error wraps fs.ErrNotExist when
// the process is gone. A zombie still has a stat file; its State is 'Z'.
func (fs FS) Stat(pid int) (Stat, error) {
	bp := getBuf()
	defer putBuf(bp)
	s, b, err := fs.stat(pid, *bp)
	*bp = b
	return s, err
}

// stat is Stat reading into buf, which it returns for reuse.
func (fs FS) stat(pid int, buf []byte) (Stat, []byte, error) {
	path := fs.pidPath(pid, "stat")
	b, err := readRecord(path, buf)
	if err != nil {
		return Stat{}, buf, err
	}
	s, err := ParseStat(b)
	if err != nil {
		return Stat{}, b, fmt.Errorf("parse %s: %w", path, err)
	}
	return s, b, nil
}

// AllStats returns the Stat of every process: of each directory under Root
// whose name is a pid. Processes that vanish during the scan are skipped.
// The result is sorted by PID.
//
// The scan is not atomic: a process may exit and its pid be reused while
// the directory is read, so the result can mix two generations of a pid.
// Callers compare StartTicks before acting on a pid.
func (fs FS) AllStats() ([]Stat, error) {
	pids, err := fs.pids()
	if err != nil {
		return nil, err
	}
	// The files are read on all cores: each read is a system call that
	// keeps one busy, and a host has hundreds of processes.
	stats := make([]Stat, len(pids))
	errs := make([]error, len(pids))
	parallel.For(len(pids), 64, func(i int) {
		bp := getBuf()
		var b []byte
		stats[i], b, errs[i] = fs.stat(pids[i], *bp)
		if b != nil {
			*bp = b
		}
		putBuf(bp)
	})
	out := stats[:0]
	for i, s := range stats {
		if errors.Is(errs[i], os.ErrNotExist) {
			continue
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stat) int { return a.PID - b.PID })
	return out, nil
}

// pids lists the names under Root that are pids. /proc lists thread-group
// leaders only, so these are processes, not threads.
func (fs FS) pids() ([]int, error) {
	d, err := os.Open(fs.root())
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, name := range names {
		if name[0] < '1' || name[0] > '9' {
			continue // fast path for "self", "net", "sys"...
		}
		if pid, err := strconv.Atoi(name); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
