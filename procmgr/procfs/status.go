package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// RealUID returns the real user id of pid, the first field of the Uid: line
// of Root/PID/status: the user who started it, which a set-user-id program
// does not change. The error wraps fs.ErrNotExist when the process is gone.
func (fs FS) RealUID(pid int) (int, error) {
	path := fs.pidPath(pid, "status")
	bp := getBuf()
	defer putBuf(bp)
	b, err := readRecord(path, *bp)
	if err != nil {
		return 0, err
	}
	*bp = b
	uid, err := parseRealUID(b)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return uid, nil
}

// parseRealUID returns the first field of the "Uid:" line of a status file:
// "Uid:\t<real>\t<effective>\t<saved>\t<filesystem>".
func parseRealUID(b []byte) (int, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
		if !ok {
			continue
		}
		var f [1][]byte
		if splitFields(rest, f[:]) == 0 {
			return 0, fmt.Errorf("invalid Uid line %q", line)
		}
		uid, ok := parseDec(f[0])
		if !ok || uid > math.MaxUint32 || uid > math.MaxInt {
			return 0, fmt.Errorf("invalid real uid %q", f[0])
		}
		return int(uid), nil
	}
	return 0, errors.New("no Uid line")
}
