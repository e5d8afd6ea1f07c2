package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// TestCLIControlMany runs stop, start and restart on several names and on
// --all against a real agent, with one name that fails each time: the
// others are done, the exit status is 1 and the summary names the failure.
func TestCLIControlMany(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, "")+`  - alias: nap
    id: 190
    start_command: "sleep 1000"
    start_wait: 200ms
  - alias: broken
    id: 191
    start_command: "echo cannot open /etc/broken.conf >&2; exit 3"
    autostart: false
    autorestart: false
`)
	a := e.start()
	a.waitStarted(185)
	waitRunning(t, a, 190)

	tests := []struct {
		name    string
		args    []string
		code    int
		lines   []string // result lines on stdout, in any order
		summary string   // on stderr
		stopped []int64
		started []int64
	}{
		{"two names and an unknown one", []string{"stop", "obstat2", "nap", "nosuch"}, 1,
			[]string{"stopped obstat2 (id 185)", "stopped nap (id 190)", `FAILED stop nosuch: no process "nosuch" on this agent`},
			`1 of 3 failed: nosuch (no process "nosuch" on this agent; it has obstat2, nap, broken, ocp_agentd)`, []int64{185, 190}, nil},
		{"start --all, one fails to start", []string{"start", "--all"}, 1,
			[]string{"started obstat2 (id 185)", "started nap (id 190)", "FAILED start broken: 40014"},
			"1 of 3 failed: broken (40014", nil, []int64{185, 190}},
		{"ids, given twice, are done once", []string{"restart", "185", "obstat2", "190"}, 0,
			[]string{"restarted obstat2 (id 185)", "restarted nap (id 190)"}, "", nil, []int64{185, 190}},
		{"stop --all", []string{"stop", "--all"}, 0,
			[]string{"stopped obstat2 (id 185)", "stopped nap (id 190)", "stopped broken (id 191)"}, "", []int64{185, 190, 191}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, append(tc.args, "--config", e.cfgPath)...)
			t.Logf("%v:\n%s%s", tc.args, r.stdout, r.stderr)
			if r.code != tc.code {
				t.Errorf("status %d, want %d", r.code, tc.code)
			}
			results := regexp.MustCompile(`(?m)^(stopped|started|restarted|FAILED) .*$`).FindAllString(r.stdout, -1)
			if len(results) != len(tc.lines) {
				t.Errorf("%d result lines, want %d: %q", len(results), len(tc.lines), results)
			}
			for _, want := range tc.lines {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			if regexp.MustCompile(`(?m)^(\w+|FAILED \w+) ocp_agentd`).MatchString(strings.Join(results, "\n")) {
				t.Errorf("the agent itself was operated on: %q", results)
			}
			if tc.summary != "" && !strings.Contains(r.stderr, "ocp-agent: "+tc.summary) {
				t.Errorf("stderr lacks the summary %q", tc.summary)
			}
			if tc.summary == "" && r.stderr != "" {
				t.Errorf("stderr %q, want none (not a terminal: no progress line)", r.stderr)
			}
			for _, id := range tc.stopped {
				if p, err := a.c.Get(ctxT(t), 20, id); err != nil || p.Status != api.StatusStopped {
					t.Errorf("process %d: %+v, %v; want STOPPED", id, p, err)
				}
			}
			for _, id := range tc.started {
				if p, err := a.c.Get(ctxT(t), 20, id); err != nil || p.Status != api.StatusStarted {
					t.Errorf("process %d: %+v, %v; want STARTED", id, p, err)
				}
			}
		})
	}

	r := cli(t, nil, "start", "--all", "--json", "--config", e.cfgPath)
	var res []controlResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || len(res) != 3 {
		t.Fatalf("start --all --json: status %d, %v\n%s", r.code, err, r.stdout)
	}
	for _, x := range res {
		ok := x.Alias != "broken"
		if x.OK != ok || (ok && (x.Process == nil || x.Process.Status != api.StatusStarted)) || (!ok && x.Code != api.CodeStartFailed) {
			t.Errorf("result %+v", x)
		}
	}
}

// TestCLIControlIsConcurrent: the stops of several processes are all sent
// before any finishes. Each process records SIGTERM in a file and exits
// only when the test lets it: a CLI that stopped them one by one would
// never have both files at once.
func TestCLIControlIsConcurrent(t *testing.T) {
	dir := t.TempDir()
	proc := func(alias string, id int) string {
		return fmt.Sprintf(`  - alias: %s
    id: %d
    start_command: "sh -c 'trap \"touch %s/%s.term\" TERM; while [ ! -e %s/release ]; do sleep 0.1; done'"
    stop_timeout: 60s
    start_wait: 200ms
`, alias, id, dir, alias, dir)
	}
	e := newEnv(t, proc("one", 201)+proc("two", 202))
	a := e.start()
	waitRunning(t, a, 201)
	waitRunning(t, a, 202)

	cmd := exec.Command(filepath.Join(binDir, "ocp-agent"), "stop", "one", "two", "--config", e.cfgPath)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { os.WriteFile(filepath.Join(dir, "release"), nil, 0o600); <-exited }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, e1 := os.Stat(filepath.Join(dir, "one.term"))
		_, e2 := os.Stat(filepath.Join(dir, "two.term"))
		if e1 == nil && e2 == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("the CLI exited before both processes got SIGTERM:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not both processes got SIGTERM within 30s (one: %v, two: %v)\n%s", e1, e2, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o600)
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(out.String(), "stopped one") || !strings.Contains(out.String(), "stopped two") {
		t.Errorf("status %d\n%s", code, out)
	}
}

// TestCLIStatusAliasAndConfigEnv: `status` is `ps`, and $OCP_AGENT_CONFIG
// stands for --config.
func TestCLIStatusAliasAndConfigEnv(t *testing.T) {
	e := newEnv(t, `  - alias: nap
    id: 190
    start_command: "sleep 1000"
    start_wait: 200ms
`)
	a := e.start()
	waitRunning(t, a, 190)
	env := []string{"OCP_AGENT_CONFIG=" + e.cfgPath}
	for _, args := range [][]string{{"status"}, {"ps"}, {"ps", "-l"}} {
		r := cli(t, env, args...)
		if r.code != 0 || !regexp.MustCompile(`(?m)^190 +nap +STARTED +\d+ `).MatchString(r.stdout) {
			t.Errorf("%v: status %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// ps -l shows the process's own limits, as /proc has them.
	p, err := a.c.Get(ctxT(t), 20, 190)
	if err != nil {
		t.Fatal(err)
	}
	lim := readLimits(p.PID)
	if lim.nofile == "-" {
		t.Fatalf("limits of pid %d unreadable", p.PID)
	}
	r := cli(t, env, "ps", "-l")
	row := regexp.MustCompile(fmt.Sprintf(`(?m)^190 +nap +STARTED +%d +.* +%s +%s +%s +sleep 1000$`,
		p.PID, regexp.QuoteMeta(lim.nofile), regexp.QuoteMeta(lim.nproc), regexp.QuoteMeta(lim.core)))
	if !strings.Contains(r.stdout, "NOFILE") || !row.MatchString(r.stdout) {
		t.Errorf("ps -l lacks the limits %+v:\n%s", lim, r.stdout)
	}
	// A wrong --config still wins over the environment.
	if r := cli(t, env, "ps", "--config", filepath.Join(e.dir, "none.yaml")); r.code != 2 || !strings.Contains(r.stderr, "none.yaml") {
		t.Errorf("--config over $OCP_AGENT_CONFIG: status %d, %s", r.code, r.stderr)
	}
	if r := cli(t, nil, "ps", "--help"); !strings.Contains(r.stdout, "$OCP_AGENT_CONFIG") {
		t.Errorf("ps --help does not name $OCP_AGENT_CONFIG:\n%s", r.stdout)
	}
}

// hangUpServer is an HTTP server that answers the list route with one
// operable process and hangs up on every POST without answering, as an
// agent that crashes mid-request would.
func hangUpServer(t *testing.T, hangUpOnList bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", testIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || hangUpOnList {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		data, _ := json.Marshal(api.ProcessList{Contents: []api.HostAgentProcess{{ID: 185, HostID: 20, Alias: "obstat2", Status: api.StatusStarted, Operable: true}}})
		json.NewEncoder(w).Encode(api.Envelope{Data: data, Successful: true, Status: 200})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestCLIErrorTexts: the one-line reasons of failures that are not the
// process's fault name what to do, and the program's name once.
func TestCLIErrorTexts(t *testing.T) {
	post := hangUpServer(t, false)
	get := hangUpServer(t, true)
	dir := t.TempDir()
	config := func(listen string) string {
		p := filepath.Join(dir, strings.ReplaceAll(listen, ":", "_")+".yaml")
		writeConfig(t, p, fmt.Sprintf("host:\n  id: 20\nserver:\n  listen: %q\nauth:\n  users:\n    - name: ocp\n      password: secret\n      permissions: [HOST_MANAGER]\ncgroup: off\nstate_dir: %s\n", listen, dir))
		return p
	}
	refused := fmt.Sprintf("%s:%d", testIP, freePort(t))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stop on a hang-up", []string{"stop", "obstat2", "--config", config(post)},
			"ocp-agent: stop obstat2: the agent at " + post + " closed the connection before answering; the stop may or may not have happened — check with 'ocp-agent ps'"},
		{"restart on a hang-up", []string{"restart", "obstat2", "--config", config(post)},
			"the restart may or may not have happened"},
		{"list on a hang-up", []string{"ps", "--config", config(get)},
			"ocp-agent: list processes: the agent at " + get + " closed the connection before answering\n"},
		{"connection refused", []string{"ps", "--config", config(refused)},
			"ocp-agent: list processes: the agent is not running at " + refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("status %d, stderr %q\nwant %q", r.code, r.stderr, tc.want)
			}
			if strings.Count(r.stderr, "ocp-agent:") != 1 || strings.Contains(r.stderr, "EOF") || strings.Contains(r.stderr, `Post "`) {
				t.Errorf("raw or doubled text: %q", r.stderr)
			}
		})
	}
}

// TestCLISocketPermission: a user who may not use the agent's socket is
// told to run as root (or in socket_group), not shown EACCES.
func TestCLISocketPermission(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: runs the CLI as nobody against root's socket")
	}
	dir := openDir(t, nil)
	sock := filepath.Join(dir, "agent.sock")
	bin := filepath.Join(dir, "ocp-agent")
	if out, err := exec.Command("cp", filepath.Join(binDir, "ocp-agent"), bin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	e := newEnv(t, "")
	cfgPath := filepath.Join(dir, "config.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf("host:\n  id: 20\nserver:\n  listen: \"\"\n  socket: %s\ncgroup: off\nstate_dir: %s\n", sock, e.stateDir))
	os.Chmod(cfgPath, 0o644)
	launchAs(t, nil, cfgPath, "", sock)

	asNobody := func() (int, string) {
		cmd := exec.Command(bin, "ps", "--config", cfgPath)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID}}
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := asNobody(); code != 1 || !strings.Contains(out, "permission denied on "+sock+": run as root") {
		t.Errorf("ps as nobody: status %d, %q", code, out)
	}
	// A socket opened to all by hand: the agent itself refuses.
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("uid %d may not use the agent's socket", nobodyUID)
	if code, out := asNobody(); code != 1 || !strings.Contains(out, want) || !strings.HasSuffix(out, ": run as root\n") {
		t.Errorf("ps as nobody on an open socket: status %d, %q; want %q", code, out, want)
	}
}
