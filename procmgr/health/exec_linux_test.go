package health

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// alive says whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// readPids reads the pids a script wrote to path, one a line.
func readPids(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitPids writes the pids file of a script atomically, so that the test
// never reads half of it.
func waitPids(path string) string {
	return "echo $$ $! > " + path + ".tmp && mv " + path + ".tmp " + path
}

func TestExec(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OCP_HEALTH_TEST_LEAK", "agent's own")
	tests := []struct {
		name string
		c    Exec
		want string // "" = passes
	}{
		{"exit 0 passes", Exec{Argv: []string{"/bin/true"}}, ""},
		{"exit 3 fails with its last line", Exec{Argv: sh("echo starting; echo 'db down' >&2; exit 3")}, "exit status 3: db down"},
		{"silent failure", Exec{Argv: []string{"/bin/false"}}, ": exit status 1"},
		{"killed by a signal", Exec{Argv: sh("kill -9 $$")}, "signal: killed"},
		{"cannot execute", Exec{Argv: []string{filepath.Join(dir, "missing")}}, "no such file or directory"},
		{"no command", Exec{}, "no command"},
		{"only the given environment", Exec{Argv: sh(`test "$A" = 1 && test -z "$OCP_HEALTH_TEST_LEAK"`), Env: []string{"A=1"}}, ""},
		{"no environment at all", Exec{Argv: sh(`test -z "$OCP_HEALTH_TEST_LEAK"`)}, ""},
		{"in its directory", Exec{Argv: sh(`test "$(pwd)" = ` + dir), Dir: dir}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), tt.c, 10*time.Second)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v, want a pass", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// A hanging check is killed at its timeout with its whole process group,
// and the probe returns: nothing of it is left running.
func TestExecHangingIsKilledWithItsGroup(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	c := Exec{Argv: sh("sleep 1000 & " + waitPids(pids) + "; sleep 1000")}
	begin := time.Now()
	err := Run(context.Background(), c, 500*time.Millisecond)
	took := time.Since(begin)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 500ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took > 15*time.Second {
		t.Fatalf("the probe took %s despite its 500ms timeout", took)
	}
	ps := readPids(t, pids)
	if len(ps) != 2 {
		t.Fatalf("pids %v", ps)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range ps {
		for alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("pid %d of the timed-out check still runs", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// A check that passes but leaves a process behind in its group does not
// leave it running.
func TestExecLeavesNothingBehind(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	c := Exec{Argv: sh("sleep 1000 >/dev/null 2>&1 & " + waitPids(pids))}
	if err := Run(context.Background(), c, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ps := readPids(t, pids)
	deadline := time.Now().Add(15 * time.Second)
	for alive(ps[1]) {
		if time.Now().After(deadline) {
			syscall.Kill(ps[1], syscall.SIGKILL)
			t.Fatalf("the check's background pid %d still runs", ps[1])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The check runs as the user it is given: here nobody, whose uid and gid
// the command itself must see.
func TestExecAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a check as another user needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	want := sh(`test "$(id -u)" = ` + u.Uid + ` && test "$(id -g)" = ` + u.Gid)
	if err := Run(context.Background(), Exec{Argv: want, Cred: cred, Dir: "/"}, 10*time.Second); err != nil {
		t.Fatalf("as nobody: %v", err)
	}
	// The same command as root fails: the test can tell the two apart.
	if err := Run(context.Background(), Exec{Argv: want, Dir: "/"}, 10*time.Second); err == nil {
		t.Fatal("as root, the check says it runs as nobody")
	}
}
