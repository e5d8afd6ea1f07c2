package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/config"
)

// TestLogFileRotates writes well past max_size × (max_backups + 1) and
// checks that the log stays within that bound.
func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "agent.log")
	log, closeLog, err := newLogger(config.Log{Level: "info", File: file, Format: "json", MaxSizeMB: 1, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000)
	for i := 0; i < 5000; i++ { // about 5 MiB
		log.Info("filler", zap.String("line", line), zap.Int("i", i))
	}
	log.Debug("below the level")
	closeLog()

	// lumberjack removes old backups in the background, after the rotation.
	var entries []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		entries, err = os.ReadDir(filepath.Dir(file))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) <= 3 || time.Now().After(deadline) {
			break
		}
	}
	var total int64
	for _, e := range entries {
		fi, _ := e.Info()
		total += fi.Size()
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over max_size", e.Name(), fi.Size())
		}
	}
	if len(entries) != 3 || total > 3<<20 {
		t.Errorf("%d files, %d bytes; want the live file and 2 backups", len(entries), total)
	}
	data, _ := os.ReadFile(file)
	first := strings.SplitN(string(data), "\n", 2)[0]
	var rec map[string]any
	if err := json.Unmarshal([]byte(first), &rec); err != nil || rec["msg"] != "filler" || rec["level"] != "info" {
		t.Errorf("not a JSON line: %q (%v)", first, err)
	}
	if strings.Contains(string(data), "below the level") {
		t.Error("a debug line was written at level info")
	}
}

func TestLogFormats(t *testing.T) {
	tests := []struct {
		name   string
		format string
		want   string
	}{
		{"json", config.LogFormatJSON, `"msg":"hello"`},
		{"console", config.LogFormatConsole, "INFO\thello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "a.log")
			log, closeLog, err := newLogger(config.Log{Level: "debug", File: file, Format: tc.format, MaxSizeMB: 1, MaxBackups: 1})
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello")
			closeLog()
			data, _ := os.ReadFile(file)
			if !strings.Contains(string(data), tc.want) {
				t.Errorf("log %q lacks %q", data, tc.want)
			}
		})
	}
}

func TestLogFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	if _, _, err := newLogger(config.Log{Level: "info", File: filepath.Join(dir, "file", "a.log"), Format: "json", MaxSizeMB: 1, MaxBackups: 1}); err == nil {
		t.Error("no error for a log file under a regular file")
	}
}
