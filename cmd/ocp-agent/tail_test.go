package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrintTail(t *testing.T) {
	long := strings.Repeat("y", tailChunk+10)
	tests := []struct {
		name    string
		content string
		n       int
		want    []string
	}{
		{"last two", "a\nb\nc\n", 2, []string{"b", "c"}},
		{"more than there are", "a\nb\n", 10, []string{"a", "b"}},
		{"no final newline", "a\nb\nc", 2, []string{"b", "c"}},
		{"zero lines", "a\nb\n", 0, nil},
		{"empty file", "", 5, nil},
		{"empty lines count", "a\n\n\nb\n", 3, []string{"", "", "b"}},
		{"a line longer than a chunk", "first\n" + long + "\nlast\n", 2, []string{long, "last"}},
		{"across chunks", strings.Repeat("0123456789\n", tailChunk/5), 3, []string{"0123456789", "0123456789", "0123456789"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "a.log")
			os.WriteFile(file, []byte(tc.content), 0o600)
			var got []string
			off, err := printTail(file, tc.n, func(_ string, line []byte) error {
				got = append(got, string(line))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("got %d lines %.80q, want %d %.80q", len(got), got, len(tc.want), tc.want)
			}
			if off != int64(len(tc.content)) {
				t.Errorf("offset %d, want %d", off, len(tc.content))
			}
		})
	}
}

func TestNewestMatch(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := []struct {
		name string
		age  time.Duration
	}{
		{"app.log.2", 3 * time.Hour}, {"app.log.1", time.Hour}, {"app.log", 0}, {"app.log.tmp", 0},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		os.WriteFile(p, []byte("x\n"), 0o600)
		os.Chtimes(p, now.Add(-f.age), now.Add(-f.age))
	}
	os.Mkdir(filepath.Join(dir, "app.log.d"), 0o700)
	tests := []struct {
		name    string
		pattern string
		want    string
	}{
		{"live file beats rotated ones", "app.log*", "app.log"},
		{"rotated only", "app.log.[0-9]", "app.log.1"},
		{"nothing matches", "other*", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newestMatch(filepath.Join(dir, tc.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				tc.want = filepath.Join(dir, tc.want)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := newestMatch(filepath.Join(dir, "[")); err == nil {
		t.Error("no error for a bad pattern")
	}
}
