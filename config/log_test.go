package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

func TestLogKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want config.Log
		warn string
	}{
		{"defaults on stderr", hostOnly, config.Log{Level: "info", Format: "console", MaxSizeMB: 100, MaxBackups: 5}, ""},
		{"file defaults to json", hostOnly + "log: {file: /var/log/a.log}\n",
			config.Log{Level: "info", File: "/var/log/a.log", Format: "json", MaxSizeMB: 100, MaxBackups: 5}, ""},
		{"console in a file", hostOnly + "log: {file: /var/log/a.log, format: Console}\n",
			config.Log{Level: "info", File: "/var/log/a.log", Format: "console", MaxSizeMB: 100, MaxBackups: 5}, ""},
		{"json on stderr", hostOnly + "log: {format: json}\n", config.Log{Level: "info", Format: "json", MaxSizeMB: 100, MaxBackups: 5}, ""},
		{"size in MB", hostOnly + "log: {file: /a.log, max_size: 10MB, max_backups: 2}\n",
			config.Log{Level: "info", File: "/a.log", Format: "json", MaxSizeMB: 10, MaxBackups: 2}, ""},
		{"size in GiB", hostOnly + "log: {file: /a.log, max_size: 2GiB}\n",
			config.Log{Level: "info", File: "/a.log", Format: "json", MaxSizeMB: 2048, MaxBackups: 5}, ""},
		{"rotation without a file warns", hostOnly + "log:\n  max_size: 10MB\n",
			config.Log{Level: "info", Format: "console", MaxSizeMB: 10, MaxBackups: 5}, "c.yaml:4: log.max_size: ignored: log.file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Log != tt.want {
				t.Errorf("log = %+v, want %+v", c.Log, tt.want)
			}
			got := strings.Join(c.Warnings, "\n")
			if tt.warn != "" && !strings.Contains(got, tt.warn) {
				t.Errorf("warnings %q lack %q", got, tt.warn)
			}
		})
	}
}

func TestLogKeysRefused(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		key  string
		msg  string
	}{
		{"unknown format", "log:\n  format: text\n", 4, "log.format", `want console or json, got "text"`},
		{"bare size", "log:\n  max_size: 100\n", 4, "log.max_size", "100 has no unit; add one, like 100MB"},
		{"size in bytes", "log:\n  max_size: 100kB\n", 4, "log.max_size", "want a size like 100MB or 1GB"},
		{"size zero", "log:\n  max_size: 0MB\n", 4, "log.max_size", "must be from 1MB"},
		{"size huge", "log:\n  max_size: 2000GB\n", 4, "log.max_size", "must be from 1MB"},
		{"no backups would keep every file", "log:\n  max_backups: 0\n", 4, "log.max_backups", "must be from 1 to 1000, got 0"},
		{"backups not a number", "log:\n  max_backups: many\n", 4, "log.max_backups", "want a whole number"},
		{"unknown log key", "log:\n  max_age: 1d\n", 4, "log.max_age", "valid keys here are level, format, file, max_size, max_backups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(hostOnly+tt.yaml))
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("err = %v\nwant line %d, key %q, message containing %q", err, tt.line, tt.key, tt.msg)
			}
		})
	}
}
