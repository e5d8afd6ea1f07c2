package agent

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/config"
)

// ReloadResult is what a reload of the config changed, by alias.
type ReloadResult struct {
	Config  string   `json:"config"` // the file reloaded
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

// ErrReloadRefused marks a reload refused before anything changed (the
// config does not load, or conflicts with the state): the old config stays
// in force.
var ErrReloadRefused = errors.New("reload refused: the old config stays in force")

// SetReloadNotifier makes every reload call n(true) before it begins and
// n(false) once it is over, applied or refused: systemd's RELOADING=1 and
// READY=1. Reloads are serialized, so the calls pair up. Call it before
// Serve and before any reload.
func (a *Agent) SetReloadNotifier(n func(reloading bool)) {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	a.reloadNotify = n
}

// ReloadFile loads the agent's config file again and applies it: what
// SIGHUP and the local admin route POST /agent/reload both do. The file is
// read under the reload lock, so that of two reloads in a row the later
// read is the one left in force. A refusal wraps ErrReloadRefused; it and
// any failure are logged here too, since a SIGHUP has no one to answer.
func (a *Agent) ReloadFile() (ReloadResult, error) {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	if a.reloadNotify != nil {
		a.reloadNotify(true)
		defer a.reloadNotify(false)
	}
	path := a.cfg.File
	cfg, err := config.Load(path)
	if err != nil {
		a.log.Error("reload refused: the old config stays in force", zap.Error(err))
		return ReloadResult{Config: path}, fmt.Errorf("%w: %w", ErrReloadRefused, err)
	}
	res, err := a.reload(cfg)
	if err != nil {
		a.log.Error("reload failed", zap.Error(err))
	}
	return res, err
}

// Reload applies a newly loaded config, as ReloadFile does with the file.
func (a *Agent) Reload(cfg *config.Config) error {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	_, err := a.reload(cfg)
	return err
}

// reload applies cfg; the caller holds a.reloading. Processes added,
// removed or changed are applied as procmgr.Update says; the other sections
// (host, server, auth, state_dir, log) take effect only when the agent
// restarts, and a change to them is logged as such. A config whose ids
// conflict with the state is refused whole, before anything changes: the
// old config stays in force.
func (a *Agent) reload(cfg *config.Config) (ReloadResult, error) {
	res := ReloadResult{Config: cfg.File}
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	a.warnRestartOnly(cfg)
	if err := cgroupLimitsError(cfg, a.mgr.Cgroups()); err != nil {
		return res, fmt.Errorf("%w: %w", ErrReloadRefused, err) // err names the file and line
	}
	specs, byID, err := a.assign(cfg)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrReloadRefused, err) // err names the file
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
	res.Added, res.Removed, res.Changed = ch.Added, ch.Removed, ch.Changed
	if err != nil {
		return res, fmt.Errorf("reload %s: %w", cfg.File, err)
	}
	return res, nil
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
	changed("cgroup", old.Cgroup != cfg.Cgroup)
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
