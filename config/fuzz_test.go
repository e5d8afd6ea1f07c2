package config_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var fuzzAliasRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// FuzzParse checks that no input makes Parse panic, that every failure is a
// *config.Error with a sane line, that Parse is deterministic, and that
// whatever it accepts keeps the promises the agent relies on.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tt := range ruleCases {
		f.Add([]byte(tt.yaml))
	}
	for _, tt := range acceptCases {
		f.Add([]byte(tt.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data)
		c2, err2 := config.Parse("f.yaml", data)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v (%T), want a *config.Error", err, err)
			}
			if cerr.Line < 0 || cerr.File != "f.yaml" || cerr.Msg == "" {
				t.Fatalf("bad error %#v", cerr)
			}
			if c != nil {
				t.Fatalf("config %+v returned with error %v", c, err)
			}
			return
		}
		if len(c.Warnings) != len(c2.Warnings) {
			t.Fatalf("warnings not deterministic: %q, then %q", c.Warnings, c2.Warnings)
		}
		checkInvariants(t, c)
	})
}

// checkInvariants fails t when an accepted config breaks a documented rule.
func checkInvariants(t *testing.T, c *config.Config) {
	t.Helper()
	if c.Host.ID <= 0 {
		t.Fatalf("host id %d", c.Host.ID)
	}
	if c.Server.Name == "" || !filepath.IsAbs(c.StateDir) {
		t.Fatalf("server %+v, state dir %q", c.Server, c.StateDir)
	}
	if c.Server.Socket != "" && !filepath.IsAbs(c.Server.Socket) {
		t.Fatalf("socket %q", c.Server.Socket)
	}
	if c.Auth.Disabled && c.Server.Listen != "" && !loopback(c.Server.Listen) {
		t.Fatalf("auth disabled on %q", c.Server.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		t.Fatalf("log level %q", c.Log.Level)
	}
	names := map[string]bool{}
	for _, u := range c.Auth.Users {
		if u.Name == "" || u.Password == "" || len(u.Permissions) == 0 || names[u.Name] || u.Line <= 0 {
			t.Fatalf("bad user %+v", u)
		}
		names[u.Name] = true
		for _, p := range u.Permissions {
			if p != config.PermissionHostViewer && p != config.PermissionHostManager {
				t.Fatalf("permission %q", p)
			}
		}
	}
	aliases := map[string]bool{}
	ids := map[int64]bool{}
	for _, p := range c.Processes {
		if !fuzzAliasRE.MatchString(p.Alias) || p.Alias == config.ReservedAlias || aliases[p.Alias] {
			t.Fatalf("bad alias %q", p.Alias)
		}
		aliases[p.Alias] = true
		if p.ID < 0 || (p.ID > 0 && ids[p.ID]) {
			t.Fatalf("bad id %d", p.ID)
		}
		ids[p.ID] = p.ID > 0
		if strings.TrimSpace(p.StartCommand) == "" || p.StopSignal <= 0 || p.StopTimeout <= 0 || p.StartWait < 0 {
			t.Fatalf("bad process %+v", p)
		}
		if p.PidFile != "" && !filepath.IsAbs(p.PidFile) {
			t.Fatalf("pid file %q", p.PidFile)
		}
		if (p.Directory != "" && !filepath.IsAbs(p.Directory)) || (p.EnvironmentFile != "" && !filepath.IsAbs(p.EnvironmentFile)) {
			t.Fatalf("directory %q, environment_file %q", p.Directory, p.EnvironmentFile)
		}
		for k, v := range p.Environment {
			if !envNameRE.MatchString(k) || strings.IndexByte(v, 0) >= 0 {
				t.Fatalf("environment %q=%q", k, v)
			}
		}
		if p.Umask != nil && *p.Umask > 0o777 {
			t.Fatalf("umask %o", *p.Umask)
		}
		if p.Line <= 0 || p.IDLine < p.Line {
			t.Fatalf("lines %d, %d", p.Line, p.IDLine)
		}
	}
}

func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}
