package procfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestParseStat(t *testing.T) {
	// The real fixtures were copied from /proc on Linux 6.18: a python3
	// process that renamed itself with prctl(PR_SET_NAME) for the comm-*
	// cases, pid 1, kthreadd, a zombie and a sleep running as nobody.
	python := Stat{PID: 5707, PPID: 5698, PGRP: 5698, Session: 2555, State: 'R', StartTicks: 33212}
	withComm := func(s Stat, comm string) Stat { s.Comm = comm; return s }
	tests := []struct {
		file string
		want Stat
	}{
		{"python3", withComm(python, "python3")},
		{"comm-parens", withComm(python, "a) b (c")},
		{"comm-newline", withComm(python, "x\ny) z")},
		{"comm-spaces", withComm(python, "tmux: server")},
		{"comm-long", withComm(python, "abcdefghijklmno")}, // the kernel truncates to 15 bytes
		{"comm-empty", withComm(python, "")},
		{"init", Stat{PID: 1, PPID: 0, PGRP: 0, Session: 0, Comm: "process_api", State: 'S', StartTicks: 21}},
		{"kthreadd", Stat{PID: 2, PPID: 0, PGRP: 0, Session: 0, Comm: "kthreadd", State: 'S', StartTicks: 21}},
		{"zombie", Stat{PID: 5789, PPID: 5707, PGRP: 5698, Session: 2555, Comm: "true", State: 'Z', StartTicks: 33237}},
		{"sleep", Stat{PID: 5790, PPID: 5707, PGRP: 5698, Session: 2555, Comm: "sleep", State: 'S', StartTicks: 33267}},
		// Handcrafted.
		{"huge-start", Stat{PID: 77, PPID: 1, PGRP: 77, Session: 77, Comm: "huge", State: 'S', StartTicks: 18446744073709551615}},
		{"minimal-no-newline", Stat{PID: 5790, PPID: 5707, PGRP: 5698, Session: 2555, Comm: "sleep", State: 'S', StartTicks: 33267}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseStat(readFixture(t, filepath.Join("stat", tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatErrors(t *testing.T) {
	const tail = " 0 -1 4194560 88 0 1 0 0 0 0 0 20 0 1 0 33267 2990080\n"
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "no command name"},
		{"no parens (file)", string(readFixture(t, "stat/no-parens")), "no command name"},
		{"only open paren", "5 (sleep S 1 5 5" + tail, "no command name"},
		{"close before open", "5 )sleep( S 1 5 5" + tail, "no command name"},
		{"truncated before starttime (file)", string(readFixture(t, "stat/truncated")), "19 fields after command name"},
		{"starttime overflows uint64 (file)", string(readFixture(t, "stat/overflow-start")), `field 22 (starttime): invalid "18446744073709551616"`},
		{"pid not a number", "x (sleep) S 1 5 5" + tail, `invalid pid "x"`},
		{"pid zero", "0 (sleep) S 1 5 5" + tail, `invalid pid "0"`},
		{"pid negative", "-5 (sleep) S 1 5 5" + tail, `invalid pid "-5"`},
		{"pid overflows int", "99999999999999999999 (sleep) S 1 5 5" + tail, "invalid pid"},
		{"no space before comm", "5(sleep) S 1 5 5" + tail, "invalid pid"},
		{"no space after comm", "5 (sleep)S 1 5 5" + tail, "no space after command name"},
		{"nothing after comm", "5 (sleep)", "no space after command name"},
		{"state two letters", "5 (sleep) SS 1 5 5" + tail, `field 3 (state): invalid "SS"`},
		{"ppid negative", "5 (sleep) S -1 5 5" + tail, `field 4 (ppid): invalid "-1"`},
		{"pgrp not a number", "5 (sleep) S 1 x 5" + tail, `field 5 (pgrp): invalid "x"`},
		{"session hex", "5 (sleep) S 1 5 0x5" + tail, `field 6 (session): invalid "0x5"`},
		{"starttime negative", "5 (sleep) S 1 5 5 0 -1 4194560 88 0 1 0 0 0 0 0 20 0 1 0 -3 2990080\n", `field 22 (starttime): invalid "-3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if got != (Stat{}) {
				t.Errorf("got %+v with the error, want the zero Stat", got)
			}
		})
	}
}

func TestFSStatFixture(t *testing.T) {
	got, err := fixtureFS.Stat(5790)
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{PID: 5790, PPID: 5707, PGRP: 5698, Session: 2555, Comm: "sleep", State: 'S', StartTicks: 33267}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// 4242 is a pid directory without a stat file: a process that exited
	// between the directory listing and the read.
	for _, pid := range []int{4242, 999999} {
		if _, err := fixtureFS.Stat(pid); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%d): error %v, want one wrapping fs.ErrNotExist", pid, err)
		}
	}
}

func TestFSStatParseErrorNamesFile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "7", "stat"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FS{Root: root}.Stat(7)
	if err == nil || !strings.Contains(err.Error(), "parse "+filepath.Join(root, "7", "stat")) {
		t.Errorf("error %v does not name the file", err)
	}
	// A garbled process fails the listing rather than being dropped: it
	// means the parser is wrong, which should be seen.
	if _, err := (FS{Root: root}).AllStats(); err == nil {
		t.Error("AllStats: no error for a garbled stat file")
	}
}

func TestAllStatsFixture(t *testing.T) {
	stats, err := fixtureFS.AllStats()
	if err != nil {
		t.Fatal(err)
	}
	// Not 4242 (no stat file: vanished), nor self, net, sys, uptime.
	var pids []int
	for _, s := range stats {
		pids = append(pids, s.PID)
	}
	want := []int{1, 2, 5707, 5790}
	if !slices.Equal(pids, want) {
		t.Errorf("pids %v, want %v", pids, want)
	}
	if stats[2].Comm != "python3" {
		t.Errorf("stats[2] = %+v, want python3's", stats[2])
	}
}

func TestAllStatsMissingRoot(t *testing.T) {
	_, err := FS{Root: filepath.Join(t.TempDir(), "nope")}.AllStats()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestGoneError(t *testing.T) {
	// ESRCH is what a read of /proc/PID/stat returns when the process was
	// reaped after the open; it must look like "gone" to callers.
	err := gone(&fs.PathError{Op: "read", Path: "/proc/5/stat", Err: syscall.ESRCH})
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("gone(ESRCH) = %v: not fs.ErrNotExist and ESRCH", err)
	}
	if err.Error() != "read /proc/5/stat: no such process" {
		t.Errorf("message %q", err)
	}
	other := &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}
	if got := gone(other); got != error(other) || errors.Is(got, fs.ErrNotExist) {
		t.Errorf("gone(EACCES) = %v, want it unchanged", got)
	}
}
