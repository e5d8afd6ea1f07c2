package procfs

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"python3", []string{"/root/.pyenv/versions/3.11.7/bin/python3", "cap.py", "/tmp/cap/out"}}, // real
		{"kthreadd", nil}, // real: kernel threads have no argv
		{"zombie", nil},   // real: neither have zombies
		{"sleep", []string{"sleep", "30"}},
		{"no-trailing-nul", []string{"sleep", "30"}},
		{"empty-arg", []string{"printf", "", "x"}},
		// argv rewritten into one string and padded with NULs (setproctitle).
		{"setproctitle", []string{"nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := parseCmdline(readFixture(t, filepath.Join("cmdline", tt.file)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCmdlineFixture(t *testing.T) {
	got, err := fixtureFS.Cmdline(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/process_api", "--firecracker-init"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, err := fixtureFS.Cmdline(2); err != nil || got != nil {
		t.Errorf("kernel thread: got %q, %v; want nil, nil", got, err)
	}
}
