package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// cliResult is what one run of the CLI binary printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the agent binary with args; env entries are added to the
// test's environment.
func cli(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "ocp-agent"), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run()
	return cliResult{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// stubborn is a process that ignores SIGTERM, so that a stop waits for
// SIGKILL after stop_timeout.
const stubborn = `  - alias: stubborn
    id: 186
    start_command: "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'"
    stop_timeout: 2s
    start_wait: 200ms
`

func TestCLIps(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	a.waitStarted(185)

	r := cli(t, nil, "ps", "--config", e.cfgPath)
	if r.code != 0 {
		t.Fatalf("ps: status %d\n%s", r.code, r.stderr)
	}
	t.Logf("ocp-agent ps:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	header := regexp.MustCompile(`^ID +ALIAS +STATUS +PID +USER +PORTS +UPTIME +RESTARTS$`)
	row := regexp.MustCompile(fmt.Sprintf(`^185 +obstat2 +STARTED +\d+ +%s +%d +\d+s +0$`, currentUser(t), port))
	self := regexp.MustCompile(`^\d+ +ocp_agentd +STARTED +\d+ `)
	if len(lines) != 3 || !header.MatchString(lines[0]) || !row.MatchString(lines[1]) || !self.MatchString(lines[2]) {
		t.Errorf("ps table:\n%s", r.stdout)
	}

	r = cli(t, nil, "ps", "--json", "--config", e.cfgPath)
	var procs []api.HostAgentProcess
	if err := json.Unmarshal([]byte(r.stdout), &procs); err != nil || r.code != 0 {
		t.Fatalf("ps --json: status %d, %v\n%s", r.code, err, r.stdout)
	}
	if len(procs) != 2 || procs[0].Alias != "obstat2" || procs[0].Status != api.StatusStarted || deref(procs[0].Ports) != fmt.Sprint(port) {
		t.Errorf("ps --json = %+v", procs)
	}

	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"wrong password", []string{"OCP_AGENT_PASSWORD=nope"}, nil, 1, "refused the credentials"},
		{"unknown user", []string{"OCP_AGENT_PASSWORD="}, []string{"--user", "ghost"}, 1, "refused the credentials"},
		{"user without password", nil, []string{"--user", "ghost"}, 2, `no user "ghost" in auth.users`},
		{"password from the environment", []string{"OCP_AGENT_PASSWORD=secret"}, []string{"--user", "ocp"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.env, append([]string{"ps", "--config", e.cfgPath}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("status %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("the reason is not one line: %q", r.stderr)
			}
		})
	}
}

func TestCLIControl(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, "")+stubborn)
	a := e.start()
	first := a.waitStarted(185)
	waitRunning(t, a, 186) // no ports: waitStarted would wait for some

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"stop by alias", []string{"stop", "obstat2"}, 0, []string{"stopped obstat2 (id 185)", "185  obstat2  STOPPED"}, nil},
		{"stop again answers at once", []string{"stop", "obstat2"}, 0, []string{"STOPPED"}, nil},
		{"start by id", []string{"start", "185"}, 0, []string{"started obstat2 (id 185)", "STARTED"}, nil},
		{"restart", []string{"restart", "obstat2"}, 0, []string{"restarted obstat2", "STARTED"}, nil},
		{"stop waits for SIGKILL and shows it", []string{"stop", "stubborn"}, 0, []string{"stopped stubborn", "STOPPED"},
			[]string{"stop stubborn: 1s", "SIGKILL"}},
		{"unknown alias", []string{"stop", "nosuch"}, 1, nil, []string{`no process "nosuch" on this agent; it has obstat2, stubborn, ocp_agentd`}},
		{"the agent is not operable", []string{"restart", "ocp_agentd"}, 1, nil, []string{"restart ocp_agentd: 40012"}},
		{"names and --all", []string{"stop", "a", "--all"}, 2, nil, []string{"not both"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, append(tc.args, "--config", e.cfgPath)...)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d\nstdout %s\nstderr %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
	if alive(first.PID) {
		t.Errorf("pid %d alive after stop and restart", first.PID)
	}

	r := cli(t, nil, "stop", "obstat2", "--json", "--config", e.cfgPath)
	var res []controlResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res) != 1 || !res[0].OK || res[0].Process == nil ||
		res[0].Process.Status != api.StatusStopped || res[0].ID != 185 || r.stderr != "" || r.code != 0 {
		t.Errorf("stop --json: status %d, %v, %+v, stderr %q", r.code, err, res, r.stderr)
	}
}

func TestCLIWithoutAgent(t *testing.T) {
	e := newEnv(t, demo("obstat2", 185, freePort(t), ""))
	for _, args := range [][]string{{"ps"}, {"stop", "obstat2"}} {
		r := cli(t, nil, append(args, "--config", e.cfgPath)...)
		if r.code != 1 || !strings.Contains(r.stderr, "the agent is not running at "+e.listen) {
			t.Errorf("%v: status %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestCLIUsage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("host:\n  id: 20\nstate_dir: /tmp/x\nprocesses:\n  - alias: a\n    start_command: sleep 1\n"), 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, 2, "", "no command given"},
		{"missing alias", []string{"stop"}, 2, "", "wants one or more ALIAS or ID, or --all, got 0"},
		{"logs without alias", []string{"logs"}, 2, "", "wants one ALIAS"},
		{"negative -n", []string{"logs", "a", "-n", "-1", "--config", good}, 2, "", "want 0 or more lines"},
		{"logs of an unknown alias", []string{"logs", "b", "--config", good}, 1, "", `no process "b" in`},
		{"bad config for ps", []string{"ps", "--config", filepath.Join(dir, "none.yaml")}, 2, "", "none.yaml"},
		{"config without a subcommand", []string{"config"}, 2, "", "ocp-agent config check"},
		{"service without a subcommand", []string{"service"}, 2, "", "install|uninstall"},
		{"unknown service action", []string{"service", "frob"}, 2, "", "wants a subcommand"},
		{"version", []string{"version"}, 0, "ocp-agent ", ""},
		{"--version", []string{"--version"}, 0, "ocp-agent ", ""},
		{"config check", []string{"config", "check", "--config", good}, 0, "ok: host 20", ""},
		{"bash completion", []string{"completion", "bash"}, 0, "__start_ocp-agent", ""},
		{"aliases complete from the config", []string{"__complete", "stop", "--config", good, ""}, 0, "a\n:4", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("status %d, want %d\nstdout %q (want %q)\nstderr %q (want %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
		})
	}
}

// TestCLIHelpEverywhere runs --help on every command: each must print its
// usage with status 0.
func TestCLIHelpEverywhere(t *testing.T) {
	root, _ := newRootCmd()
	var paths [][]string
	for _, c := range root.Commands() {
		paths = append(paths, []string{c.Name()})
		for _, sub := range c.Commands() {
			paths = append(paths, []string{c.Name(), sub.Name()})
		}
	}
	if len(paths) < 15 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		t.Run(strings.Join(p, " "), func(t *testing.T) {
			r := cli(t, nil, append(p, "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("status %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestCLIVersionJSON(t *testing.T) {
	r := cli(t, nil, "version", "--json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["commit"] == "" || v["date"] == "" {
		t.Errorf("version --json: %v %q", err, r.stdout)
	}
}

// waitRunning waits until process id is STARTED.
func waitRunning(t *testing.T, a *agentProc, id int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := a.c.Get(ctxT(t), 20, id)
		if err == nil && p.Status == api.StatusStarted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not started (last %+v, %v)\n%s", id, p, err, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
