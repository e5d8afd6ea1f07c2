package procfs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRealUID(t *testing.T) {
	tests := []struct {
		file string
		want int
	}{
		{"init", 0},       // real
		{"python3", 0},    // real
		{"zombie", 0},     // real: zombies keep their status file
		{"nobody", 65534}, // real: sleep started with setuid(65534)
		{"setuid", 1000},  // Uid: 1000 0 0 0, as for a set-user-id-root program run by 1000
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseRealUID(readFixture(t, filepath.Join("status", tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseRealUIDErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"no Uid line (file)", string(readFixture(t, "status/no-uid")), "no Uid line"},
		{"empty", "", "no Uid line"},
		{"Uid line without fields", "Name:\tx\nUid:\t\nGid:\t0\t0\t0\t0\n", "invalid Uid line"},
		{"negative", "Uid:\t-1\t0\t0\t0\n", `invalid real uid "-1"`},
		{"above 32 bits", "Uid:\t4294967296\t0\t0\t0\n", "invalid real uid"},
		{"not a number", "Uid:\troot\t0\t0\t0\n", "invalid real uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRealUID([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRealUIDFixture(t *testing.T) {
	if uid, err := fixtureFS.RealUID(5790); err != nil || uid != 65534 {
		t.Errorf("RealUID(5790) = %d, %v; want 65534", uid, err)
	}
	if _, err := fixtureFS.RealUID(2); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RealUID(2) without a status file: %v, want fs.ErrNotExist", err)
	}
}

func TestBootIDFixture(t *testing.T) {
	id, err := fixtureFS.BootID()
	if err != nil {
		t.Fatal(err)
	}
	if id != "1e3f7336-288f-4cb9-99e0-67366dc1d39a" {
		t.Errorf("got %q", id)
	}
	if _, err := (FS{Root: t.TempDir()}).BootID(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing boot_id: %v, want fs.ErrNotExist", err)
	}
}
