package procmgr

import (
	"bytes"
	"testing"
)

func TestParseCPUTicks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"5707 (python3) R 5698 5698 2555 34817 5707 4194304 1 0 0 0 7 3 1 0 20 0 1 0 33212 0 0", 11, true},
		{"1 (a) b (c) S 0 0 0 0 -1 0 0 0 0 0 2 3 4 5 20 0 1 0 9", 14, true},
		{"1 (x) S 0 0 0 0 -1 0 0 0 0 0 2 3 -1 5 20", 10, true}, // a negative field counts 0
		{"1 (x) S 0 0 0", 0, false},
		{"no parens", 0, false},
	} {
		got, ok := parseCPUTicks([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseCPUTicks(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseCPUTicks: never panics, and the ticks are those of the fields
// after the last ')'.
func FuzzParseCPUTicks(f *testing.F) {
	f.Add([]byte("5707 (python3) R 5698 5698 2555 34817 5707 4194304 1 0 0 0 7 3 1 0 20 0 1 0 33212 0 0"))
	f.Add([]byte("1 ()) ) S 0 0 0 0 -1 0 0 0 0 0 1 1 1 1"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseCPUTicks(b)
		if !ok && got != 0 {
			t.Fatalf("not ok but %d", got)
		}
		if i := bytes.LastIndexByte(b, ')'); ok && i >= 0 {
			again, ok2 := parseCPUTicks(append([]byte("9 (x)"), b[i+1:]...))
			if again != got || !ok2 {
				t.Fatalf("%d, then %d from the fields alone", got, again)
			}
		}
	})
}
