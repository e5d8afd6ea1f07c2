package procfs

import "bytes"

// HasEnv reports whether the initial environment of pid (Root/PID/environ,
// as it was at exec) holds the entry kv ("NAME=value") exactly. Reading
// another user's environ needs root or the same uid.
func (fs FS) HasEnv(pid int, kv string) (bool, error) {
	b, err := readFile(fs.pidPath(pid, "environ"))
	if err != nil {
		return false, err
	}
	return hasEnv(b, kv), nil
}

// hasEnv reports whether the NUL-separated environ b holds kv.
func hasEnv(b []byte, kv string) bool {
	for len(b) > 0 {
		entry := b
		if i := bytes.IndexByte(b, 0); i >= 0 {
			entry, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if string(entry) == kv {
			return true
		}
	}
	return false
}
