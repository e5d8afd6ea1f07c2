package agent

import (
	"fmt"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/config"
)

// Reload applies a newly loaded config. Processes added, removed or
// changed are applied as procmgr.Update says; the other sections (host,
// server, auth, state_dir, log) take effect only when the agent restarts,
// and a change to them is logged as such. A config whose ids conflict with
// the state is refused whole, before anything changes: the old config
// stays in force.
func (a *Agent) Reload(cfg *config.Config) error {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	a.warnRestartOnly(cfg)
	specs, byID, err := a.assign(cfg)
	if err != nil {
		return fmt.Errorf("reload %s: %w", cfg.File, err)
	}
	// The new entries are visible before the processes are: an id that
	// is listed a moment before its process exists reads as STOPPED.
	a.mu.Lock()
	merged := make(map[int64]entry, len(byID)+len(a.byID))
	for id, e := range a.byID {
		merged[id] = e
	}
	for id, e := range byID {
		merged[id] = e
	}
	a.mu.Unlock()
	a.setEntries(merged)

	ch, err := a.mgr.Update(specs)
	a.setEntries(byID)
	a.mu.Lock()
	a.stopTimeouts = stopTimeouts(cfg)
	a.mu.Unlock()
	a.log.Info("reloaded the config", zap.String("config", cfg.File),
		zap.Strings("added", ch.Added), zap.Strings("removed", ch.Removed), zap.Strings("changed", ch.Changed))
	if err != nil {
		return fmt.Errorf("reload %s: %w", cfg.File, err)
	}
	return nil
}

// warnRestartOnly logs the changes a reload cannot apply.
func (a *Agent) warnRestartOnly(cfg *config.Config) {
	old := a.cfg
	changed := func(section string, differs bool) {
		if differs {
			a.log.Warn("config section changed; it takes effect when the agent restarts", zap.String("section", section))
		}
	}
	changed("host", !reflect.DeepEqual(old.Host, cfg.Host))
	changed("server", !reflect.DeepEqual(old.Server, cfg.Server))
	changed("auth", !reflect.DeepEqual(old.Auth, cfg.Auth))
	changed("state_dir", old.StateDir != cfg.StateDir)
	changed("log", !reflect.DeepEqual(old.Log, cfg.Log))
}

// stopTimeouts returns the longest stop_timeout of cfg's processes.
func stopTimeouts(cfg *config.Config) time.Duration {
	var longest time.Duration
	for _, p := range cfg.Processes {
		longest = max(longest, p.StopTimeout)
	}
	return longest
}
