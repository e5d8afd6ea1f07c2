package agent

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

// TestReloadRefusesCgroupLimits: a reload that adds a cgroup limit the
// agent cannot set is refused whole, at the key's line, and the running
// config stays: the process added with it is not there.
func TestReloadRefusesCgroupLimits(t *testing.T) {
	base := fmt.Sprintf("host: {id: 20}\nserver: {listen: \"127.0.0.1:0\"}\nauth: {disabled: true}\ncgroup: off\nstate_dir: %s\nprocesses:\n"+
		"  - {alias: s1, id: 1, start_command: \"sleep 1000\", start_wait: 0s}\n", openTempDir(t))
	// Without cgroups no limit can be set: the reload must be refused.
	a, _ := runAgent(t, base)
	cfg, err := config.Parse("agent.yaml", []byte(base+"  - alias: s2\n    start_command: \"sleep 1000\"\n    memory_max: 1G\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = a.Reload(cfg)
	var cerr *config.Error
	if !errors.Is(err, ErrReloadRefused) || !errors.As(err, &cerr) || cerr.Line != 10 || cerr.Key != "processes[1].memory_max" {
		t.Fatalf("reload: %v, want refused at agent.yaml:10 processes[1].memory_max", err)
	}
	ps, err := a.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Alias == "s2" {
			t.Errorf("s2 listed after a refused reload: %+v", p)
		}
	}
}
