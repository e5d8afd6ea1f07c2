package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/config"
)

func hostname(t *testing.T) string {
	t.Helper()
	name, err := os.Hostname()
	if err != nil || name == "" {
		return "localhost"
	}
	return name
}

// equalConfig compares two configs, the regexps by their source.
func equalConfig(t *testing.T, got, want *config.Config) {
	t.Helper()
	g, w := *got, *want
	g.Processes = append([]config.Process(nil), got.Processes...)
	w.Processes = append([]config.Process(nil), want.Processes...)
	if len(g.Processes) == len(w.Processes) {
		for i := range g.Processes {
			if a, b := reString(g.Processes[i].Match), reString(w.Processes[i].Match); a != b {
				t.Errorf("processes[%d].Match = %q, want %q", i, a, b)
			}
			g.Processes[i].Match, w.Processes[i].Match = nil, nil
			// Key lines are checked where they matter (acceptCases).
			g.Processes[i].Lines, w.Processes[i].Lines = nil, nil
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("config mismatch\n got: %+v\nwant: %+v", g, w)
	}
}

func reString(re *regexp.Regexp) string {
	if re == nil {
		return "<nil>"
	}
	return re.String()
}

func TestParseExample(t *testing.T) {
	file := filepath.Join("testdata", "example.yaml")
	got, err := config.Load(file)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &config.Config{
		File:   file,
		Host:   config.Host{ID: 20},
		Server: config.Server{Listen: "127.0.0.1:62888", Socket: "", Name: hostname(t)},
		Auth: config.Auth{Users: []config.User{{
			Name: "ocp", Password: "change-me", Permissions: []string{"HOST_VIEWER", "HOST_MANAGER"}, Line: 12,
		}}},
		StateDir: "/var/lib/ocp-agent",
		Cgroup:   config.CgroupAuto,
		Log:      config.Log{Level: "info", File: "", Format: "console", MaxSizeMB: 100, MaxBackups: 5},
		Processes: []config.Process{{
			Alias:          "obstat2",
			ID:             185,
			StartCommand:   "/home/admin/ocp_agent/bin/obstat2 -p 8089",
			User:           "root",
			LogFilePattern: "/home/admin/ocp_agent/log/obstat2.log*",
			Operable:       true, Autostart: true, Autorestart: true,
			StopSignal:  syscall.SIGTERM,
			StopTimeout: 10 * time.Second,
			StartWait:   time.Second,
			Line:        23,
			IDLine:      24,
		}},
		Warnings: []string{file + ":16: auth.users[0].password: stored in plain text; a bcrypt hash ($2a$...) is safer, but OCP-HMACSHA256 signing needs the plain value"},
	}
	equalConfig(t, got, want)
}

func TestParseDefaults(t *testing.T) {
	data := "host:\n  id: 7\nprocesses:\n  - alias: p\n    start_command: /bin/true\n"
	got, err := config.Parse("min.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &config.Config{
		File:     "min.yaml",
		Host:     config.Host{ID: 7},
		Server:   config.Server{Listen: config.DefaultListen, Name: hostname(t)},
		StateDir: config.DefaultStateDir,
		Cgroup:   config.CgroupAuto,
		Log:      config.Log{Level: "info", Format: "console", MaxSizeMB: 100, MaxBackups: 5},
		Processes: []config.Process{{
			Alias: "p", StartCommand: "/bin/true",
			Operable: true, Autostart: true, Autorestart: true,
			StopSignal: syscall.SIGTERM, StopTimeout: 10 * time.Second, StartWait: time.Second,
			Line: 4, IDLine: 4,
		}},
		Warnings: []string{"min.yaml: auth.users: no users: the HTTP API on 127.0.0.1:62888 refuses every protected route (401)"},
	}
	equalConfig(t, got, want)
}

func TestParseFullyWritten(t *testing.T) {
	const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	data := `host: {id: 9223372036854775807}
server: {listen: "[::1]:0", socket: /run/ocp-agent.sock, name: node-1}
auth:
  disabled: false
  users:
    - {name: viewer, password: "` + hash + `", permissions: [HOST_VIEWER]}
state_dir: /srv/agent/./state/
log: {level: DEBUG, file: agent.log}
processes:
  - alias: a.b-c_1
    id: 1
    start_command: sleep 100
    pid_file: /run/a.pid
    match: "^sleep [0-9]+$"
    operable: false
    stop_signal: sigint
    stop_timeout: 1m30s
    start_wait: 0s
    autostart: False
    autorestart: FALSE
  - alias: b
    id: 2
    start_command: |
      exec sleep 100
    stop_signal: USR2
    start_wait: 500ms
`
	got, err := config.Parse("full.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &config.Config{
		File:   "full.yaml",
		Host:   config.Host{ID: 1<<63 - 1},
		Server: config.Server{Listen: "[::1]:0", Socket: "/run/ocp-agent.sock", Name: "node-1"},
		Auth: config.Auth{Users: []config.User{{
			Name: "viewer", Password: hash, Permissions: []string{"HOST_VIEWER"}, Line: 6,
		}}},
		StateDir: "/srv/agent/state",
		Cgroup:   config.CgroupAuto,
		Log:      config.Log{Level: "debug", File: "agent.log", Format: "json", MaxSizeMB: 100, MaxBackups: 5},
		Processes: []config.Process{{
			Alias: "a.b-c_1", ID: 1, StartCommand: "sleep 100", PidFile: "/run/a.pid",
			StopSignal: syscall.SIGINT, StopTimeout: 90 * time.Second, StartWait: 0,
			Line: 10, IDLine: 11,
		}, {
			Alias: "b", ID: 2, StartCommand: "exec sleep 100\n",
			Operable: true, Autostart: true, Autorestart: true,
			StopSignal: syscall.SIGUSR2, StopTimeout: 10 * time.Second, StartWait: 500 * time.Millisecond,
			Line: 21, IDLine: 22,
		}},
	}
	want.Processes[0].Match = regexp.MustCompile("^sleep [0-9]+$")
	equalConfig(t, got, want)
	if !got.Processes[0].Match.MatchString("sleep 100") {
		t.Errorf("match does not match its command")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "nope.yaml")
		_, err := config.Load(path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want one wrapping fs.ErrNotExist", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("err = %q, want it to name %s", err, path)
		}
		var cerr *config.Error
		if errors.As(err, &cerr) {
			t.Errorf("a read error is not a content problem, got *config.Error %v", cerr)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("err = %v, want a read error naming %s", err, dir)
		}
	})
	t.Run("real file", func(t *testing.T) {
		path := filepath.Join(dir, "config.yaml")
		writeFile(t, path, "host:\n  id: 3\nserver:\n  listen: \"\"\n  socket: /tmp/x.sock\n")
		c, err := config.Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.File != path || c.Host.ID != 3 || c.Server.Listen != "" || c.Server.Socket != "/tmp/x.sock" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("bad content", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		writeFile(t, path, "host:\n  id: 0\n")
		_, err := config.Load(path)
		var cerr *config.Error
		if !errors.As(err, &cerr) {
			t.Fatalf("err = %v, want a *config.Error", err)
		}
		want := &config.Error{File: path, Line: 2, Key: "host.id", Msg: "must be > 0, got 0"}
		if *cerr != *want {
			t.Errorf("err = %#v, want %#v", cerr, want)
		}
	})
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  config.Error
		want string
	}{
		{"all parts", config.Error{File: "c.yaml", Line: 3, Key: "host.id", Msg: "required"}, "c.yaml:3: host.id: required"},
		{"no line", config.Error{File: "c.yaml", Key: "host.id", Msg: "required"}, "c.yaml: host.id: required"},
		{"no key", config.Error{File: "c.yaml", Line: 2, Msg: "invalid YAML: x"}, "c.yaml:2: invalid YAML: x"},
		{"no file", config.Error{Line: 2, Key: "k", Msg: "m"}, "line 2: k: m"},
		{"message only", config.Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	c := &config.Config{File: "/etc/ocp-agent/config.yaml"}
	err := c.Errorf(24, "processes[0].id", "%d is already the id of %q in the agent's state", 185, "other")
	want := `/etc/ocp-agent/config.yaml:24: processes[0].id: 185 is already the id of "other" in the agent's state`
	if err.Error() != want {
		t.Errorf("Errorf = %q, want %q", err, want)
	}
	var nilConfig *config.Config
	if got := nilConfig.Errorf(1, "k", "m").Error(); got != "line 1: k: m" {
		t.Errorf("nil config Errorf = %q", got)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
