package exechelper

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestPlanRoundTrip(t *testing.T) {
	u := uint32(0o022)
	pl := &Plan{Umask: &u, Limits: []Limit{{"nofile", syscall.RLIMIT_NOFILE, 10}, {"core", syscall.RLIMIT_CORE, Unlimited}},
		Cred: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{1, 2}}, Dir: "/x y",
		Path: "/bin/sh", Argv: []string{"sh", "-c", "echo -- a=b"}}
	args := pl.Args()
	if args[0] != Arg0 {
		t.Fatalf("argv[0] %q, want %q", args[0], Arg0)
	}
	got, err := Parse(args[1:])
	if err != nil {
		t.Fatal(err)
	}
	if *got.Umask != u || len(got.Limits) != 2 || got.Limits[1] != pl.Limits[1] || got.Dir != pl.Dir ||
		got.Path != pl.Path || strings.Join(got.Argv, "|") != strings.Join(pl.Argv, "|") ||
		got.Cred == nil || got.Cred.Uid != 65534 || len(got.Cred.Groups) != 2 {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range [][]string{{}, {"umask=9", "--", "a", "a"}, {"what=1", "--", "a", "a"}, {"--", "a"},
		{"limit=nofile:10", "--", "a", "a"}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestHelperExecs runs this test binary as the helper (its init does
// it): the umask is set and the program runs; a program that cannot run
// is reported on fd 3 with status Failed.
func TestHelperExecs(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(pl *Plan) (string, string, int) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd := exec.Command(exe)
		cmd.Args = pl.Args()
		cmd.ExtraFiles = []*os.File{w}
		out, _ := cmd.Output()
		w.Close()
		var report strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := r.Read(buf)
			report.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return string(out), report.String(), cmd.ProcessState.ExitCode()
	}
	u := uint32(0o027)
	out, report, code := run(&Plan{Umask: &u, Path: "/bin/sh", Argv: []string{"sh", "-c", "umask"}})
	if strings.TrimSpace(out) != "0027" || report != "" || code != 0 {
		t.Errorf("umask run: out %q, report %q, status %d; want 0027, nothing, 0", out, report, code)
	}
	_, report, code = run(&Plan{Path: "/nonexistent/prog", Argv: []string{"prog"}})
	if !strings.Contains(report, "cannot execute /nonexistent/prog") || code != Failed {
		t.Errorf("missing program: report %q, status %d; want an error and %d", report, code, Failed)
	}
}
