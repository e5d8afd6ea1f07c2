package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// onTerminal runs the CLI with args on a pseudo-terminal (through
// util-linux's script) and returns what the terminal got.
func onTerminal(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) (Debian package bsdutils) for a pseudo-terminal")
	}
	line := filepath.Join(binDir, "ocp-agent") + " " + strings.Join(args, " ")
	out, _ := exec.Command("script", "-qec", line, "/dev/null").CombinedOutput()
	return string(out)
}

// TestCLIOnATerminal: on a terminal, several operations show what is still
// pending on a line rewritten in place, and logs escapes the control
// characters of a log line instead of sending them to the terminal.
func TestCLIOnATerminal(t *testing.T) {
	e := newEnv(t, stubborn+`  - alias: nap
    id: 190
    start_command: "sleep 1000"
    start_wait: 200ms
    log_file_pattern: `+filepath.Join(t.TempDir(), "nap.log")+`
`)
	a := e.start()
	waitRunning(t, a, 186)
	waitRunning(t, a, 190)

	out := onTerminal(t, "stop", "nap", "stubborn", "--config", e.cfgPath)
	t.Logf("%q", out)
	for _, want := range []string{"stopped nap (id 190)", "\r\x1b[Kstop: 1 of 2 done, waiting for stubborn (", "stopped stubborn (id 186)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal did not get %q", want)
		}
	}

	cfg, err := loadConfig(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := cfg.Processes[1].LogFilePattern
	write(t, log, "title \x1b]0;pwned\x07 set\n", os.O_CREATE|os.O_WRONLY)
	out = onTerminal(t, "logs", "nap", "--config", e.cfgPath)
	if want := `title \x1b]0;pwned\x07 set`; !strings.Contains(out, want) || strings.Contains(out, "\x1b]0;") {
		t.Errorf("logs on a terminal: %q, want %q", out, want)
	}
}
