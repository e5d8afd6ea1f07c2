package config_test

import (
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/config"
)

// health returns a config with one process whose health key is on line 6
// and the given keys of it on lines 7 and on.
func health(keys ...string) string {
	s := proc("health:")
	for _, k := range keys {
		s += "      " + k + "\n"
	}
	return s
}

var healthRuleCases = []struct {
	name string
	yaml string
	line int
	key  string
	msg  string
}{
	{"empty mapping", proc("health: {}"), 6, "processes[0].health", "want one of tcp (a port), http (a URL) or exec (a command)"},
	{"only timings", health("interval: 5s"), 6, "processes[0].health", "want one of tcp"},
	{"not a mapping", proc("health: 8089"), 6, "processes[0].health", "want a mapping of keys (tcp, http, exec, interval, timeout, failures, restart), got 8089"},
	{"two kinds", health("tcp: 8089", "http: http://127.0.0.1:8089/"), 8, "processes[0].health.http", "only one of tcp, http and exec may be set; tcp is set on line 7"},
	{"three kinds", health("exec: /bin/true", "tcp: 1", "http: http://a/"), 8, "processes[0].health.tcp", "exec is set on line 7"},
	{"unknown key", health("tcp: 8089", "port: 8089"), 8, "processes[0].health.port", "unknown key; valid keys here are tcp, http, exec"},
	{"duplicate key", health("tcp: 8089", "tcp: 8090"), 8, "processes[0].health.tcp", "duplicate key (first set on line 7)"},
	{"tcp port zero", health("tcp: 0"), 7, "processes[0].health.tcp", "port 0 is not from 1 to 65535"},
	{"tcp port too big", health("tcp: 65536"), 7, "processes[0].health.tcp", "not from 1 to 65535"},
	{"tcp negative", health("tcp: -1"), 7, "processes[0].health.tcp", `want a port like 8089 or host:port, got "-1"`},
	{"tcp word", health("tcp: http"), 7, "processes[0].health.tcp", "want a port like 8089 or host:port"},
	{"tcp no host", health(`tcp: ":8089"`), 7, "processes[0].health.tcp", "has no host; write a port alone for 127.0.0.1"},
	{"tcp named port", health(`tcp: "localhost:http"`), 7, "processes[0].health.tcp", `port "http" is not a number from 1 to 65535`},
	{"tcp bad host", health(`tcp: "a b:1"`), 7, "processes[0].health.tcp", "is not an IP address or a host name"},
	{"tcp list", health("tcp: [1]"), 7, "processes[0].health.tcp", "want a port like 8089 or host:port, got a list"},
	{"http no scheme", health("http: 127.0.0.1:8089/health"), 7, "processes[0].health.http", "want an http:// or https:// URL"},
	{"http other scheme", health("http: ftp://h/x"), 7, "processes[0].health.http", "want an http:// or https:// URL"},
	{"http no host", health("http: http:///x"), 7, "processes[0].health.http", "has no host"},
	{"http unparsable", health(`http: "http://[::1"`), 7, "processes[0].health.http", "not a valid URL: missing ']' in host"},
	{"exec blank", health(`exec: " "`), 7, "processes[0].health.exec", "must not be blank"},
	{"exec NUL", health(`exec: "/bin/true\0"`), 7, "processes[0].health.exec", "NUL"},
	{"interval bare number", health("tcp: 1", "interval: 10"), 8, "processes[0].health.interval", "10 has no unit"},
	{"interval zero", health("tcp: 1", "interval: 0s"), 8, "processes[0].health.interval", "must be > 0, got 0s"},
	{"timeout negative", health("tcp: 1", "timeout: -1s"), 8, "processes[0].health.timeout", "must be > 0, got -1s"},
	{"failures zero", health("tcp: 1", "failures: 0"), 8, "processes[0].health.failures", "must be >= 1, got 0"},
	{"failures duration", health("tcp: 1", "failures: 3s"), 8, "processes[0].health.failures", "want a whole number like 20"},
	{"failures too many", health("tcp: 1", "interval: 1000h", "failures: 9999999"), 9, "processes[0].health.failures", "9999999 failures × interval 1000h0m0s is too long a time"},
	{"restart yes", health("tcp: 1", "restart: yes"), 8, "processes[0].health.restart", "want true or false"},
	{"misspelt kind, no extra noise", health("tpc: 1"), 7, "processes[0].health.tpc", "unknown key"},
}

func TestHealthRules(t *testing.T) {
	for _, tt := range healthRuleCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tt.yaml))
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if cerr.Line != tt.line || cerr.Key != tt.key || !strings.Contains(cerr.Msg, tt.msg) {
				t.Fatalf("got line %d, key %q, msg %q; want line %d, key %q, msg containing %q",
					cerr.Line, cerr.Key, cerr.Msg, tt.line, tt.key, tt.msg)
			}
		})
	}
}

func TestHealthAccepted(t *testing.T) {
	defaults := config.Health{Interval: 10 * time.Second, Timeout: 2 * time.Second, Failures: 3, Restart: true, Line: 6}
	with := func(f func(*config.Health)) *config.Health {
		h := defaults
		f(&h)
		return &h
	}
	tests := []struct {
		name string
		yaml string
		want *config.Health
	}{
		{"absent", proc(), nil},
		{"null is absent", proc("health:"), nil},
		{"tcp port is loopback", health("tcp: 8089"), with(func(h *config.Health) { h.TCP = "127.0.0.1:8089" })},
		{"tcp quoted port", health(`tcp: "8089"`), with(func(h *config.Health) { h.TCP = "127.0.0.1:8089" })},
		{"tcp host:port", health(`tcp: "10.0.0.5:8089"`), with(func(h *config.Health) { h.TCP = "10.0.0.5:8089" })},
		{"tcp IPv6", health(`tcp: "[::1]:8089"`), with(func(h *config.Health) { h.TCP = "[::1]:8089" })},
		{"tcp host name", health(`tcp: "localhost:1"`), with(func(h *config.Health) { h.TCP = "localhost:1" })},
		{"http", health(`http: "http://127.0.0.1:8089/health"`), with(func(h *config.Health) { h.HTTP = "http://127.0.0.1:8089/health" })},
		{"https", health(`http: "https://localhost/x?y=1"`), with(func(h *config.Health) { h.HTTP = "https://localhost/x?y=1" })},
		{"exec", health("exec: /home/admin/bin/check.sh --quick"), with(func(h *config.Health) { h.Exec = "/home/admin/bin/check.sh --quick" })},
		{"every key", health("tcp: 1", "interval: 500ms", "timeout: 100ms", "failures: 1", "restart: false"),
			with(func(h *config.Health) {
				h.TCP, h.Interval, h.Timeout, h.Failures, h.Restart = "127.0.0.1:1", 500*time.Millisecond, 100*time.Millisecond, 1, false
			})},
		{"flow mapping", proc("health: {exec: /bin/true, failures: 5}"), with(func(h *config.Health) { h.Exec, h.Failures = "/bin/true", 5 })},
		{"null values take defaults", health("tcp: 1", "interval:", "timeout: ~", "failures:", "restart:"),
			with(func(h *config.Health) { h.TCP = "127.0.0.1:1" })},
		{"the longest failures × interval", health("tcp: 1", "interval: 1ns", "failures: 9223372036854775807"),
			with(func(h *config.Health) { h.TCP, h.Interval, h.Failures = "127.0.0.1:1", 1, math.MaxInt64 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Processes[0].Health
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("health = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzHealth checks that no health mapping makes Parse panic or accept a
// check the agent could not run.
func FuzzHealth(f *testing.F) {
	for _, tt := range healthRuleCases {
		f.Add([]byte(tt.yaml))
	}
	f.Add([]byte(health("tcp: 8089", "interval: 1s", "timeout: 1s", "failures: 2", "restart: false")))
	f.Add([]byte(health(`http: "http://127.0.0.1:8089/health"`)))
	f.Add([]byte(health("exec: /bin/true")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data)
		if err != nil {
			var cerr *config.Error
			if !errors.As(err, &cerr) || cerr.Line < 0 || cerr.Msg == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		for _, p := range c.Processes {
			if h := p.Health; h != nil {
				checkHealth(t, h)
			}
		}
	})
}

func checkHealth(t *testing.T, h *config.Health) {
	t.Helper()
	kinds := 0
	for _, s := range []string{h.TCP, h.HTTP, h.Exec} {
		if s != "" {
			kinds++
		}
	}
	if kinds != 1 || h.Interval <= 0 || h.Timeout <= 0 || h.Failures < 1 || h.Line <= 0 {
		t.Fatalf("bad health %+v", h)
	}
	if time.Duration(h.Failures) > math.MaxInt64/h.Interval {
		t.Fatalf("failures × interval overflows: %+v", h)
	}
	if h.HTTP != "" {
		if u, err := url.Parse(h.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("bad URL %q", h.HTTP)
		}
	}
	if h.Exec != "" && strings.TrimSpace(h.Exec) == "" {
		t.Fatalf("blank exec %q", h.Exec)
	}
}
