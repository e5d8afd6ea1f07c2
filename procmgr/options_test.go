package procmgr

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/internal/testdir"
)

func readProc(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// limitLine returns the soft and hard columns of resource in /proc/PID/limits.
func limitLine(t *testing.T, limits, resource string) (string, string) {
	t.Helper()
	for _, line := range strings.Split(limits, "\n") {
		if strings.HasPrefix(line, resource) {
			f := strings.Fields(line[len(resource):])
			if len(f) >= 2 {
				return f[0], f[1]
			}
		}
	}
	t.Fatalf("no %q in limits:\n%s", resource, limits)
	return "", ""
}

// TestOptionsReachTheChild starts real processes with every option and
// reads back what the kernel says about them: cwd, environment, limits,
// umask and open descriptors, as root and as nobody, through the exec
// helper (limits, umask) and without it.
func TestOptionsReachTheChild(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running as nobody and raising hard limits need root")
	}
	if inheritedFD < 0 {
		t.Fatal("TestMain could not open the inherited descriptor")
	}
	t.Setenv("OCP_AGENT_PASSWORD", "agent-secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
	umask := uint32(0o027)
	limits := []Limit{{"nofile", 4096}, {"nproc", 777}, {"core", Unlimited}, {"memlock", 1 << 20}, {"stack", 16 << 20}}
	cases := []struct {
		name, user string
		helper     bool
	}{
		{"root, direct", "", false},
		{"root, exec helper", "", true},
		{"nobody, direct", "nobody", false},
		{"nobody, exec helper", "nobody", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := testdir.Shared(t)
			envFile := filepath.Join(dir, "env")
			os.WriteFile(envFile, []byte("# comment\nFROM_FILE=\"file value\"\nOCP_ENV=from-file\n"), 0o600)
			sp := spec("p", "sleep 1000")
			sp.User, sp.Directory, sp.EnvironmentFile = tc.user, dir, envFile
			sp.Environment = map[string]string{"OCP_ENV": "prod", "WITH_SPACE": "a b"}
			if tc.helper {
				sp.Umask, sp.Limits = &umask, limits
			}
			h := newHarness(t)
			s := mustStart(t, h.open(sp), "p")

			if got := readProc(t, s.PID, "cmdline"); got != "sleep\x001000\x00" {
				t.Errorf("cmdline %q: the pid is not the program's own", got)
			}
			if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", s.PID)); cwd != dir {
				t.Errorf("cwd %q, want %q", cwd, dir)
			}
			env := strings.Split(readProc(t, s.PID, "environ"), "\x00")
			has := func(kv string) bool {
				for _, e := range env {
					if e == kv {
						return true
					}
				}
				return false
			}
			wantUser, wantHome := "root", "/root"
			if tc.user == "nobody" {
				wantUser, wantHome = "nobody", homeOf(t, "nobody")
			}
			for _, kv := range []string{"PATH=" + BasePath, "USER=" + wantUser, "LOGNAME=" + wantUser, "HOME=" + wantHome,
				"OCP_ENV=prod", "FROM_FILE=file value", "WITH_SPACE=a b", "OCP_AGENT_PROCESS=p"} {
				if !has(kv) {
					t.Errorf("environ lacks %s: %q", kv, env)
				}
			}
			for _, e := range env {
				if strings.Contains(e, "secret") {
					t.Errorf("the agent's secret reached the child: %s", e)
				}
				if strings.HasPrefix(e, "SHELL=") && !strings.HasPrefix(e, "SHELL=/") {
					t.Errorf("SHELL is not a path: %s", e)
				}
			}
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.PID)); err != nil {
				t.Fatal(err)
			} else {
				for _, fd := range fds {
					if n, _ := strconv.Atoi(fd.Name()); n > 2 {
						target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", s.PID, fd.Name()))
						t.Errorf("child holds fd %d (%s); only 0, 1, 2 expected (inherited fd was %d)", n, target, inheritedFD)
					}
				}
			}
			if !tc.helper {
				return
			}
			status := readProc(t, s.PID, "status")
			if !strings.Contains(status, "Umask:\t0027\n") {
				t.Errorf("umask not 0027:\n%s", status)
			}
			lim := readProc(t, s.PID, "limits")
			for _, c := range []struct{ res, want string }{
				{"Max open files", "4096"}, {"Max processes", "777"}, {"Max core file size", "unlimited"},
				{"Max locked memory", "1048576"}, {"Max stack size", "16777216"},
			} {
				if soft, hard := limitLine(t, lim, c.res); soft != c.want || hard != c.want {
					t.Errorf("%s: soft %s hard %s, want %s", c.res, soft, hard, c.want)
				}
			}
		})
	}
}

func homeOf(t *testing.T, name string) string {
	t.Helper()
	who, err := lookupRunAs(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return who.home
}

// TestUnsetOptionsKeepDefaults: without limits the child gets the agent's
// original open-file limit (not the one Go raised for the agent), and
// without directory the user's home or /.
func TestUnsetOptionsKeepDefaults(t *testing.T) {
	h := newHarness(t)
	s := mustStart(t, h.open(spec("p", "sleep 1000")), "p")
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", s.PID))
	who, _ := lookupRunAs("", os.Getuid())
	if want := who.home; cwd != want && cwd != "/" {
		t.Errorf("cwd %q, want %q or /", cwd, want)
	}
	self := readProc(t, os.Getpid(), "limits")
	child := readProc(t, s.PID, "limits")
	_, selfHard := limitLine(t, self, "Max open files")
	_, childHard := limitLine(t, child, "Max open files")
	if selfHard != childHard {
		t.Errorf("child's hard nofile %s, agent's %s", childHard, selfHard)
	}
}

// TestStartErrorsOfOptions: each bad option fails the start with a message
// that names what is wrong, before anything runs.
func TestStartErrorsOfOptions(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run as nobody")
	}
	dir := testdir.Shared(t)
	private := filepath.Join(dir, "private")
	os.Mkdir(private, 0o700)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("A=1\n"), 0o600)
	badEnv := filepath.Join(dir, "bad.env")
	os.WriteFile(badEnv, []byte("A=1\n\nexport B=2\n"), 0o600)
	link := filepath.Join(dir, "link.env")
	os.Symlink(file, link)
	cases := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"missing directory", func(s *Spec) { s.Directory = "/nonexistent/ocp" },
			"cannot change to directory /nonexistent/ocp: no such file or directory"},
		{"directory is a file", func(s *Spec) { s.Directory = file }, "cannot change to directory " + file + ": not a directory"},
		{"directory not searchable by the user", func(s *Spec) { s.Directory, s.User = private, "nobody" }, "permission denied for uid"},
		{"missing environment_file", func(s *Spec) { s.EnvironmentFile = filepath.Join(dir, "none") },
			"environment_file " + filepath.Join(dir, "none") + ": no such file or directory"},
		{"environment_file with a bad line", func(s *Spec) { s.EnvironmentFile = badEnv },
			badEnv + `:3: "export B" is not a valid variable name`},
		{"environment_file is a symlink", func(s *Spec) { s.EnvironmentFile = link }, "is a symbolic link"},
		{"environment_file is a directory", func(s *Spec) { s.EnvironmentFile = dir }, "not a regular file"},
		{"nofile above nr_open", func(s *Spec) { s.Limits = []Limit{{"nofile", 1 << 40}} }, "limits.nofile: 1099511627776 is above the kernel's maximum"},
		{"program not in the base PATH", func(s *Spec) { s.Command = "no-such-program-ocp 1" }, "no-such-program-ocp: not found in PATH " + BasePath},
		{"helper cannot exec", func(s *Spec) { s.Command = file; s.Umask = new(uint32) }, "cannot execute " + file + ": permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := spec("p", "sleep 1000")
			tc.edit(&sp)
			h := newHarness(t)
			_, err := h.open(sp).Start(ctxT(t), "p")
			var se *StartError
			if !errors.As(err, &se) || se.Cause == nil {
				t.Fatalf("start: %v, want a StartError with a cause", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# c\n\n  # indented\nA=1\n", []string{"A=1"}, ""},
		{"literal value", "A=x # not a comment $HOME\n", []string{"A=x # not a comment $HOME"}, ""},
		{"quotes removed", "A=\"a b\"\nB='c'\nC=\"unbalanced\n", []string{"A=a b", "B=c", "C=\"unbalanced"}, ""},
		{"empty value", "A=\nB=\"\"\n", []string{"A=", "B="}, ""},
		{"equals in value", "A=b=c\n", []string{"A=b=c"}, ""},
		{"CRLF", "A=1\r\nB=2\r\n", []string{"A=1", "B=2"}, ""},
		{"later wins order kept", "A=1\nA=2\n", []string{"A=1", "A=2"}, ""},
		{"no equals", "A=1\nJUSTAWORD\n", nil, "f.env:2: want KEY=value"},
		{"bad name", "\n1A=1\n", nil, `f.env:2: "1A" is not a valid variable name`},
		{"space before equals", "A =1\n", nil, `f.env:1: "A " is not a valid variable name`},
		{"NUL in value", "A=a\x00b\n", nil, "f.env:1: A: the value must not contain a NUL byte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnvFile("f.env", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\n\nB=\"x y\"\r\n", "=\n", "A\n", "A='\n", "\x00=\x00", "_a9=#\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || !validEnvName(k) || strings.IndexByte(v, 0) >= 0 {
				t.Fatalf("bad pair %q from %q", kv, data)
			}
			if bytes.Contains([]byte(v), []byte("\n")) {
				t.Fatalf("value spans lines: %q", kv)
			}
		}
	})
}
