package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestLogsFollowsRotation runs `ocp-agent logs -f` and rotates the log
// under it the ways loggers do: rename and create, and copytruncate.
func TestLogsFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("host:\n  id: 20\nauth: {disabled: true}\ncgroup: off\nstate_dir: "+dir+"/state\nprocesses:\n  - alias: app\n    start_command: sleep 1\n    log_file_pattern: "+log+"*\n"), 0o600)
	write(t, log, "one\ntwo\n", os.O_CREATE|os.O_WRONLY)

	cmd := exec.Command(filepath.Join(binDir, "ocp-agent"), "logs", "app", "-n", "1", "-f", "--config", cfg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("got line %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no line %q within 10s", want)
		}
	}

	expect("two")
	write(t, log, "three\n", os.O_APPEND|os.O_WRONLY)
	expect("three")

	// Rename and create: what is still written to the old file is printed
	// before the new file.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, log+".1", "four\n", os.O_APPEND|os.O_WRONLY)
	time.Sleep(2 * followEvery)
	write(t, log, "five\n", os.O_CREATE|os.O_WRONLY)
	expect("four")
	expect("five")

	// copytruncate: the file shrinks in place.
	time.Sleep(2 * followEvery)
	write(t, log, "six\n", os.O_TRUNC|os.O_WRONLY)
	expect("six")

	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logs -f did not end on SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGINT, want 0", code)
	}
}

func write(t *testing.T, file, s string, flag int) {
	t.Helper()
	f, err := os.OpenFile(file, flag, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
