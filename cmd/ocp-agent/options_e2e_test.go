package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcessOptionsEndToEnd runs the built agent with a secret in its
// environment and an inherited descriptor without close-on-exec, managing
// a process with every option, and reads back from /proc what the process
// got: its directory, the base and configured environment without the
// secret, its limits and umask, and none of the agent's descriptors.
func TestProcessOptionsEndToEnd(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("raising hard limits needs root")
	}
	dir := t.TempDir()
	envFile := filepath.Join(dir, "ob.env")
	os.WriteFile(envFile, []byte("# settings\nFROM_FILE='one two'\nOCP_ENV=overridden\n"), 0o600)
	marker := filepath.Join(dir, "inherited-marker")
	leak, err := os.Create(marker)
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()

	extra := fmt.Sprintf(`    directory: %s
    environment: {OCP_ENV: prod}
    environment_file: %s
    umask: "027"
    limits: {nofile: 4096, core: unlimited, stack: 16777216}
`, dir, envFile)
	e := newEnv(t, demo("obstat2", 185, freePort(t), extra))
	e.env = []string{"OCP_AGENT_PASSWORD=agent-secret", "AWS_SECRET_ACCESS_KEY=cloud-secret"}
	e.files = []*os.File{leak}
	a := e.start()
	p := a.waitStarted(185)

	read := func(name string) string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", p.PID, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID)); filepath.Base(exe) != "ocp-demo" {
		t.Errorf("exe %q: the pid is not the program's own", exe)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p.PID)); cwd != dir {
		t.Errorf("cwd %q, want %q", cwd, dir)
	}
	env := "\x00" + read("environ")
	for _, kv := range []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
		"OCP_ENV=prod", "FROM_FILE=one two", "OCP_AGENT_PROCESS=obstat2"} {
		if !strings.Contains(env, "\x00"+kv+"\x00") {
			t.Errorf("environ lacks %s: %q", kv, env)
		}
	}
	if strings.Contains(env, "secret") {
		t.Errorf("the agent's secrets reached the process: %q", env)
	}
	if st := read("status"); !strings.Contains(st, "Umask:\t0027\n") {
		t.Errorf("umask is not 0027:\n%s", st)
	}
	lim := read("limits")
	for _, want := range []string{"Max open files            4096                 4096", "Max core file size        unlimited            unlimited",
		"Max stack size            16777216             16777216"} {
		if !strings.Contains(lim, want) {
			t.Errorf("limits lack %q:\n%s", want, lim)
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.PID))
	for _, fd := range fds {
		if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.PID, fd.Name())); target == marker {
			t.Errorf("the process holds the agent's inherited fd as %s", fd.Name())
		}
	}
	// The agent itself did inherit it: otherwise this test proves nothing.
	agentFDs, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", a.cmd.Process.Pid))
	found := false
	for _, fd := range agentFDs {
		if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", a.cmd.Process.Pid, fd.Name())); target == marker {
			found = true
		}
	}
	if !found {
		t.Error("the agent did not inherit the marker fd")
	}
}
