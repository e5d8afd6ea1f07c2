package procmgr

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// event encodes one inotify record as the kernel does (name NUL-padded).
func event(mask uint32, name string, pad int) []byte {
	b := make([]byte, inotifyHeader+len(name)+pad)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
	copy(b[inotifyHeader:], name)
	return b
}

func TestParseInotify(t *testing.T) {
	cases := []struct {
		name     string
		in       []byte
		want     []string
		overflow bool
		err      bool
	}{
		{"one", event(unix.IN_MODIFY, "a.log", 3), []string{"a.log"}, false, false},
		{"merged", slices.Concat(event(unix.IN_MODIFY, "a.log", 3), event(unix.IN_MODIFY, "b.log", 11), event(unix.IN_MODIFY, "a.log", 3)),
			[]string{"a.log", "b.log"}, false, false},
		{"overflow", event(unix.IN_Q_OVERFLOW, "", 0), nil, true, false},
		{"short header", make([]byte, 5), nil, false, true},
		{"name past the end", event(unix.IN_MODIFY, "a.log", 3)[:inotifyHeader+2], nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, overflow, err := parseInotify(tc.in)
			if (err != nil) != tc.err || overflow != tc.overflow || (!tc.err && !slices.Equal(got, tc.want)) {
				t.Errorf("parseInotify = %q, %v, %v; want %q, %v, error %v", got, overflow, err, tc.want, tc.overflow, tc.err)
			}
		})
	}
}

func FuzzParseInotify(f *testing.F) {
	f.Add(event(unix.IN_MODIFY, "a.log", 3))
	f.Add(slices.Concat(event(unix.IN_MODIFY, "x.log", 11), event(unix.IN_Q_OVERFLOW, "", 0)))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		names, _, _ := parseInotify(b)
		for _, n := range names {
			if n == "" || len(n) > len(b) {
				t.Fatalf("name %q from %d bytes", n, len(b))
			}
		}
	})
}
