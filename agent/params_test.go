package agent

import (
	"strconv"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"one", "1", 1, true},
		{"host", "20", 20, true},
		{"leading zeros", "00020", 20, true},
		{"many leading zeros", "0000000000000000000000000000001", 1, true},
		{"max int64", "9223372036854775807", 9223372036854775807, true},
		{"empty", "", 0, false},
		{"zero", "0", 0, false},
		{"zeros", "000", 0, false},
		{"negative", "-1", 0, false},
		{"plus sign", "+1", 0, false},
		{"exponent", "1e3", 0, false},
		{"overflow", "9223372036854775808", 0, false},
		{"huge", "99999999999999999999999", 0, false},
		{"leading space", " 1", 0, false},
		{"trailing space", "1 ", 0, false},
		{"underscore", "1_000", 0, false},
		{"hex", "0x10", 0, false},
		{"letters", "abc", 0, false},
		{"unicode digit", "١", 0, false},
		{"fraction", "1.0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseID(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseID(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Fatalf("parseID(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "00020", "0", "-1", "+1", "1e3", " 1", "9223372036854775807", "9223372036854775808", "", "1_0", "0x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseID(s)
		allDigits := s != ""
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				allDigits = false
			}
		}
		ref, refErr := strconv.ParseInt(s, 10, 64)
		if err == nil {
			if !allDigits {
				t.Fatalf("parseID(%q) = %d: accepted a non-digit", s, got)
			}
			if got <= 0 {
				t.Fatalf("parseID(%q) = %d: not positive", s, got)
			}
			if refErr != nil || ref != got {
				t.Fatalf("parseID(%q) = %d, strconv says %d, %v", s, got, ref, refErr)
			}
			return
		}
		if got != 0 {
			t.Fatalf("parseID(%q) = %d with error %v, want 0", s, got, err)
		}
		if allDigits && refErr == nil && ref > 0 {
			t.Fatalf("parseID(%q) refused a valid id %d: %v", s, ref, err)
		}
	})
}
