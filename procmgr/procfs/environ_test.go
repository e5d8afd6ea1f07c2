package procfs

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestHasEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ string
		kv      string
		want    bool
	}{
		{"first", "A=1\x00B=2\x00", "A=1", true},
		{"last without NUL", "A=1\x00B=2", "B=2", true},
		{"prefix is not a match", "A=12\x00", "A=1", false},
		{"value is not a name", "XA=1\x00", "A=1", false},
		{"empty", "", "A=1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasEnv([]byte(tc.environ), tc.kv); got != tc.want {
				t.Errorf("hasEnv(%q, %q) = %v", tc.environ, tc.kv, got)
			}
		})
	}
}

func TestHasEnvLive(t *testing.T) {
	child := exec.Command("sleep", "30")
	child.Env = []string{"OCP_TEST_TOKEN=abc123"}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	// Until exec, environ is the parent's: wait for the child's own.
	for i := 0; i < 500; i++ {
		if ok, _ := Default.HasEnv(child.Process.Pid, "OCP_TEST_TOKEN=abc123"); ok {
			break
		}
		if i == 499 {
			t.Fatal("the child's environ never showed its token")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok, _ := Default.HasEnv(os.Getpid(), "OCP_TEST_TOKEN=abc123"); ok {
		t.Error("the parent's environ has the child's token")
	}
}
