package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/systemd"
)

// fakeSystemctl stands in for systemctl: it logs its arguments and keeps
// the unit's state in a file, so that kardianos's Install, Start, Status,
// Stop and Uninstall run for real against it.
const fakeSystemctl = `#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls"
state=$(cat "$FAKE_DIR/state" 2>/dev/null || echo inactive)
case "$1" in
is-active) echo "$state"; [ "$state" = active ] ;;
list-unit-files) [ -e "$HOME/.config/systemd/user/ocp-agent.service" ] && echo "ocp-agent.service enabled"; exit 0 ;;
start) echo active > "$FAKE_DIR/state" ;;
stop) echo inactive > "$FAKE_DIR/state" ;;
esac
exit 0
`

// serviceEnv installs the fake systemctl on PATH and a temporary HOME, where
// kardianos puts a user unit.
func serviceEnv(t *testing.T) (fake, unit string) {
	fake = t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("FAKE_DIR", fake)
	t.Setenv("PATH", fake+":"+os.Getenv("PATH"))
	serviceUserMode = true
	t.Cleanup(func() { serviceUserMode = false })
	return fake, filepath.Join(home, ".config/systemd/user/ocp-agent.service")
}

// runCLI runs a command line in this process.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := realMain(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestServiceLifecycle(t *testing.T) {
	fake, unit := serviceEnv(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("host:\n  id: 20\nauth: {disabled: true}\n"), 0o600)

	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string
		calls  string // the systemctl calls of this step
	}{
		{"install", []string{"service", "install", "--config", cfg}, 0, "installed and enabled ocp-agent.service",
			"enable --user ocp-agent.service\ndaemon-reload --user\n"},
		{"install twice", []string{"service", "install", "--config", cfg}, 1, "", ""},
		{"status of a stopped service", []string{"service", "status"}, 1, "ocp-agent.service: stopped",
			"is-active ocp-agent.service --user\nlist-unit-files -t service ocp-agent.service --user\n"},
		{"start", []string{"service", "start"}, 0, "", "start --user ocp-agent.service\n"},
		{"status of a running service", []string{"service", "status", "--json"}, 0, `"status": "running"`, "is-active ocp-agent.service --user\n"},
		{"stop", []string{"service", "stop"}, 0, "", "stop --user ocp-agent.service\n"},
		{"start again", []string{"service", "start"}, 0, "", "start --user ocp-agent.service\n"},
		{"uninstall stops first", []string{"service", "uninstall"}, 0, "processes it manages keep running",
			"is-active ocp-agent.service --user\nstop --user ocp-agent.service\ndisable --user ocp-agent.service\ndaemon-reload --user\n"},
		{"status when not installed", []string{"service", "status"}, 1, "ocp-agent.service: not installed", ""},
	}
	for _, st := range steps {
		os.Remove(filepath.Join(fake, "calls"))
		code, stdout, stderr := runCLI(st.args...)
		if code != st.code || !strings.Contains(stdout, st.stdout) {
			t.Fatalf("%s: status %d, want %d\nstdout %q, want %q\nstderr %s", st.name, code, st.code, stdout, st.stdout, stderr)
		}
		calls, _ := os.ReadFile(filepath.Join(fake, "calls"))
		if st.calls != "" && string(calls) != st.calls {
			t.Errorf("%s: systemctl calls\n%s\nwant\n%s", st.name, calls, st.calls)
		}
		if st.name == "install" {
			checkRenderedUnit(t, unit, cfg)
		}
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("unit left after uninstall: %v", err)
	}
}

// checkRenderedUnit checks the unit kardianos wrote: the shipped unit but
// for ExecStart, which runs this binary on cfg.
func checkRenderedUnit(t *testing.T, unit, cfg string) {
	t.Helper()
	data, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	wantExec := "ExecStart=" + exe + " run --config " + cfg
	if !strings.Contains(got, wantExec+"\n") {
		t.Errorf("rendered unit lacks %q:\n%s", wantExec, got)
	}
	wantReload := "ExecReload=" + exe + " reload --config " + cfg
	if !strings.Contains(got, wantReload+"\n") {
		t.Errorf("rendered unit lacks %q:\n%s", wantReload, got)
	}
	back := strings.Replace(strings.Replace(got, wantExec, systemd.ExecStart, 1), wantReload, systemd.ExecReload, 1)
	if back != systemd.Unit {
		t.Errorf("rendered unit differs from systemd/ocp-agent.service beyond ExecStart and ExecReload:\n%s", got)
	}
	for _, line := range []string{
		"KillMode=process", "Type=notify", "Restart=on-failure", "Delegate=yes",
		"StateDirectory=ocp-agent", "RuntimeDirectory=ocp-agent", "RestartPreventExitStatus=2", "TasksMax=infinity",
		"WantedBy=multi-user.target",
	} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("rendered unit lacks %s", line)
		}
	}
	for _, bad := range []string{"NoNewPrivileges", "ProtectProc", "PrivateTmp", "ProtectSystem", "ProtectHome", "{{"} {
		if strings.Contains(got, bad) {
			t.Errorf("rendered unit has %s", bad)
		}
	}
}

func TestServiceRefusals(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("host:\n  id: 20\nauth: {disabled: true}\n"), 0o600)
	pkgUnit := filepath.Join(dir, "ocp-agent.service")
	os.WriteFile(pkgUnit, []byte(systemd.Unit), 0o644)
	saved := []any{systemdRunDir, packageUnits}
	t.Cleanup(func() { systemdRunDir, packageUnits = saved[0].(string), saved[1].([]string) })

	tests := []struct {
		name     string
		runDir   string
		packaged []string
		args     []string
		code     int
		stderr   string
	}{
		{"systemd not running", filepath.Join(dir, "none"), nil, []string{"service", "status"}, 1, "systemd is not running on this host"},
		{"the package's unit is there", dir, []string{pkgUnit}, []string{"service", "install", "--config", cfg}, 1, "use systemctl enable --now ocp-agent"},
		{"bad config", dir, nil, []string{"service", "install", "--config", filepath.Join(dir, "none.yaml")}, 2, "none.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			systemdRunDir, packageUnits = tc.runDir, tc.packaged
			code, _, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("status %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestUnitTemplateReplacesExecStart(t *testing.T) {
	tpl := unitTemplate("/etc/ocp-agent/config.yaml")
	if strings.Contains(tpl, systemd.ExecStart) || !strings.Contains(tpl, "ExecStart={{Path | cmdEscape}}") {
		t.Errorf("template keeps the shipped ExecStart:\n%s", tpl)
	}
	if strings.Count(systemd.Unit, "{{") != 0 {
		t.Error("the shipped unit has {{, which the template engine would read")
	}
}
