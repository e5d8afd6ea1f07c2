package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/cgroup/cgrouptest"
)

// The README's examples are a contract with its readers: every ```console
// block in it is run, command by command, against the demo of `make run`
// (the shipped demo config, the demo program), and what each command
// printed must match what the README shows. Numbers, times and trace ids
// differ from run to run, so both sides are compared with those masked;
// everything else (fields, states, words, messages) must be the same.
//
// `go test -run TestReadmeExamples ./cmd/ocp-agent -update-readme` writes
// the real outputs into README.md instead, with this machine's paths,
// host name and ports replaced by the demo's.

var updateReadme = flag.Bool("update-readme", false, "write the real outputs of the README's console blocks into README.md")

const readmePath = "../../README.md"

// Names the README shows in place of what differs between machines.
const (
	readmeRoot   = "~/ocp-agent"
	readmeHost   = "db01"
	readmeListen = "127.0.0.1:62888"
	readmePort   = "8089" // the demo's
	readmePort2  = "8090" // the first process a reader adds
)

// example is one command of a console block and the output shown under it.
type example struct {
	line    int // README line of the command
	command string
	want    []string
	// where the output lines are in the README, for -update-readme
	from, to int
}

// readmeExamples reads the commands of every ```console block: lines
// starting with "$ " are commands (a here-document's body belongs to its
// command), the lines after one, up to the next command, its output.
func readmeExamples(t *testing.T, lines []string) []example {
	t.Helper()
	var out []example
	in := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case !in && strings.TrimSpace(l) == "```console":
			in = true
		case in && strings.TrimSpace(l) == "```":
			in = false
		case in && strings.HasPrefix(l, "$ "):
			ex := example{line: i + 1, command: strings.TrimPrefix(l, "$ ")}
			if m := regexp.MustCompile(`<<'?(\w+)'?`).FindStringSubmatch(ex.command); m != nil {
				for i++; i < len(lines) && lines[i] != m[1]; i++ {
					ex.command += "\n" + lines[i]
				}
				ex.command += "\n" + m[1]
			}
			ex.from = i + 1
			for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "$ ") && strings.TrimSpace(lines[i+1]) != "```" {
				i++
				ex.want = append(ex.want, lines[i])
			}
			ex.to = i + 1
			out = append(out, ex)
		case in:
			t.Fatalf("README.md:%d: a console block line that is neither a command nor its output: %q", i+1, l)
		}
	}
	return out
}

// masker makes outputs comparable: this run's paths, host and ports
// become the README's, then numbers, times and hex ids are masked.
type masker struct {
	root, host, listen, port, port2 string
	cgroup                          string // this run's cgroup root, shown as the agent's usual one
}

var (
	maskTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)`)
	maskHex   = regexp.MustCompile(`\b[0-9a-f]{16}\b`)
	maskNum   = regexp.MustCompile(`\d+(\.\d+)?`)
	maskSpace = regexp.MustCompile(`[ \t]+`)
	// How long until a scheduled restart depends on how fast the reader
	// (or a loaded test machine) types.
	maskDue = regexp.MustCompile(`restarting (now|in \S+)`)
	// Which containment a host gives is the host's.
	maskContainment = regexp.MustCompile(`^containment: .*`)
)

// shown turns a real output line into what the README would show.
func (m masker) shown(s string) string {
	if m.cgroup != "" {
		s = strings.ReplaceAll(s, m.cgroup, "/sys/fs/cgroup/ocp-agent")
	}
	s = strings.ReplaceAll(s, m.root, readmeRoot)
	s = strings.ReplaceAll(s, m.listen, readmeListen)
	s = strings.ReplaceAll(s, m.listen[strings.LastIndex(m.listen, ":")+1:], readmeListen[strings.LastIndex(readmeListen, ":")+1:])
	s = strings.ReplaceAll(s, m.port, readmePort)
	s = strings.ReplaceAll(s, m.port2, readmePort2)
	if m.host != "" {
		s = regexp.MustCompile(`"`+regexp.QuoteMeta(m.host)+`"`).ReplaceAllString(s, `"`+readmeHost+`"`)
	}
	return s
}

// shape is what must match: the shown line with volatile values masked.
func shape(s string) string {
	s = maskDue.ReplaceAllString(s, "restarting in N")
	s = maskContainment.ReplaceAllString(s, "containment: MODE")
	s = maskTime.ReplaceAllString(s, "TIME")
	s = maskHex.ReplaceAllString(s, "HEX")
	s = maskNum.ReplaceAllString(s, "N")
	return strings.TrimSpace(maskSpace.ReplaceAllString(s, " "))
}

func TestReadmeExamples(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the demo's state_dir checks and the examples' users need root")
	}
	for _, tool := range []string{"curl", "jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's examples use %s, which is not installed", tool)
		}
	}
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	examples := readmeExamples(t, lines)
	if len(examples) == 0 {
		t.Fatal("README.md has no console block: nothing of it is checked")
	}

	// The demo, as `make run` lays it out, in a checkout of its own.
	root := filepath.Join(t.TempDir(), "ocp-agent")
	for _, d := range []string{"bin", ".run", "packaging"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"ocp-agent", "ocp-demo"} {
		if err := os.Symlink(filepath.Join(binDir, b), filepath.Join(root, "bin", b)); err != nil {
			t.Fatal(err)
		}
	}
	listen := fmt.Sprintf("%s:%d", testIP, freePort(t))
	port, port2 := fmt.Sprint(freePort(t)), fmt.Sprint(freePort(t))
	tmpl, err := os.ReadFile("../../packaging/demo.yaml.in")
	if err != nil {
		t.Fatal(err)
	}
	// The demo's processes get cgroups under a root of this test's own
	// (removed at its end), not the host's ocp-agent; without cgroup2 here,
	// none.
	cgRoot, _ := cgrouptest.Root(t)
	cgSetting := "off"
	if cgRoot != "" {
		cgSetting = cgRoot
	}
	cfg := strings.NewReplacer("@ROOT@", root, "@LISTEN@", listen, "@PORT@", port, "@CGROUP@", cgSetting).Replace(string(tmpl))
	cfgPath := filepath.Join(root, ".run", "demo.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	m := masker{root: root, host: host, listen: listen, port: port, port2: port2, cgroup: cgRoot}

	agent := exec.Command(filepath.Join(root, "bin", "ocp-agent"), "run", "--config", cfgPath)
	agent.Dir = root
	logf, err := os.Create(filepath.Join(t.TempDir(), "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	agent.Stdout, agent.Stderr = logf, logf
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Everything the examples started: stop it through the agent,
		// then the agent.
		c := exec.Command(filepath.Join(root, "bin", "ocp-agent"), "stop", "--all", "--config", cfgPath)
		c.Run()
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("agent log:\n%s", b)
		}
	})
	waitDemo(t, root, cfgPath)

	// The examples run from the checkout, as a reader types them there
	// with the demo running; the README's own ports and paths are this
	// run's.
	env := append(os.Environ(), "HOME="+root, "TERM=dumb")
	env = filterEnv(env, "OCP_AGENT_CONFIG", "OCP_AGENT_USER", "OCP_AGENT_PASSWORD")
	for i := range examples {
		ex := &examples[i]
		cmdline := strings.NewReplacer(readmeListen, listen, readmePort, port, readmePort2, port2, readmeRoot, root).Replace(ex.command)
		c := exec.Command("bash", "-c", cmdline)
		c.Dir = root
		c.Env = env
		outb, _ := c.CombinedOutput()
		got := strings.Split(strings.TrimRight(string(outb), "\n"), "\n")
		if len(outb) == 0 {
			got = nil
		}
		if strings.HasPrefix(ex.command, "export ") {
			kv := strings.SplitN(strings.TrimPrefix(cmdline, "export "), "=", 2)
			env = append(env, kv[0]+"="+strings.ReplaceAll(kv[1], "$PWD", root))
		}
		for j := range got {
			got[j] = m.shown(got[j])
		}
		if *updateReadme {
			ex.want = got
			continue
		}
		if !sameShape(ex.want, got) {
			t.Errorf("README.md:%d: $ %s\nREADME shows:\n%s\nthe demo printed:\n%s", ex.line, ex.command,
				strings.Join(ex.want, "\n"), strings.Join(got, "\n"))
		}
		// Let what a command started settle before the next one looks
		// (a reader types slower than this loop).
		time.Sleep(200 * time.Millisecond)
	}
	if *updateReadme {
		var out []string
		last := 0
		for _, ex := range examples {
			out = append(out, lines[last:ex.from]...)
			out = append(out, ex.want...)
			last = ex.to
		}
		out = append(out, lines[last:]...)
		if err := os.WriteFile(readmePath, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sameShape(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if shape(want[i]) != shape(got[i]) {
			return false
		}
	}
	return true
}

func filterEnv(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// waitDemo waits until the agent answers and the demo process has started.
func waitDemo(t *testing.T, root, cfg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(filepath.Join(root, "bin", "ocp-agent"), "ps", "--config", cfg).CombinedOutput()
		if err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) > 2 && f[1] == "obstat2" && f[2] == "STARTED" {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the demo agent did not start obstat2 within 30s")
}
