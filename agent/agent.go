// Package agent is the OCP agent daemon: it turns the configuration into
// managed processes, keeps their ids and state, and serves the OCP API
// over them.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// SelfAlias is the alias under which the agent lists itself.
const SelfAlias = "ocp_agentd"

// Agent is the daemon's core: configuration, durable state and the
// process manager, behind the processService the HTTP server consumes.
type Agent struct {
	cfg      *config.Config
	log      *zap.Logger
	store    *state.Bolt
	mgr      *procmgr.Manager
	fs       procfs.FS
	registry *prometheus.Registry
	socket   net.Listener // the local admin socket, opened by Listen
	// cgroups contains the processes (nil: off); containment describes
	// the mode for the log and /healthz.
	cgroups     *cgroup.Hierarchy
	containment string

	// mu guards cfg, byID and ids, which a reload replaces; requests take
	// the read lock only to look an id up.
	mu    sync.RWMutex
	byID  map[int64]entry
	ids   []int64 // ascending
	self  state.Record
	ticks uint64 // the agent's own start time, to observe itself
	// stopTimeouts is the longest stop_timeout in force (guarded by mu).
	stopTimeouts time.Duration
	// reloading serializes reloads.
	reloading sync.Mutex
	// reloadNotify, when set, is told a reload begins and ends (guarded
	// by reloading).
	reloadNotify func(reloading bool)

	// lists and observations share listings and observation passes among
	// concurrent requests (never one that started before a request came).
	lists        shared[[]api.HostAgentProcess]
	observations shared[*procmgr.Observation]
}

// entry is what the API knows of a process besides its snapshot.
type entry struct {
	alias          string
	operable       bool
	logFilePattern string
}

var _ processService = (*Agent)(nil)

// New opens the state directory (refusing one another agent holds),
// assigns ids, and adopts or starts the configured processes. An id
// conflict with the state is reported as a *config.Error.
func New(cfg *config.Config, log *zap.Logger) (*Agent, error) {
	store, err := state.OpenBolt(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	// cfg stays the config the agent started with: a reload changes the
	// processes only (and stopTimeouts), never a.cfg.
	a := &Agent{cfg: cfg, log: log, store: store, fs: procfs.Default, stopTimeouts: stopTimeouts(cfg)}
	specs, byID, err := a.assign(cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	a.setEntries(byID)
	// Opened before any process is adopted or started: an agent that
	// starts finds its processes by their cgroups.
	a.cgroups, a.containment, err = cgroup.Open(cfg.Cgroup)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("containment: %w", err)
	}
	log.Info("containment: " + a.containment)
	if err := cgroupLimitsError(cfg, a.cgroups); err != nil {
		if a.cgroups != nil {
			a.cgroups.Close()
		}
		store.Close()
		return nil, err
	}
	stops := newStopDurations()
	a.mgr, err = procmgr.New(procmgr.Options{
		Store:     store,
		OutputDir: filepath.Join(cfg.StateDir, "output"),
		PidDir:    filepath.Join(cfg.StateDir, "run"),
		Logger:    log.Named("procmgr"),
		OnStop:    stops.observe,
		Cgroups:   a.cgroups,
	}, specs)
	if err != nil {
		a.closeCgroups()
		store.Close()
		return nil, err
	}
	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newProcessCollector(a), stops.hist)
	return a, nil
}

// assign gives every process of cfg and the agent itself their ids, and
// returns the processes' specs and the API's entries by id.
func (a *Agent) assign(cfg *config.Config) ([]procmgr.Spec, map[int64]entry, error) {
	var specs []procmgr.Spec
	byID := map[int64]entry{}
	for i, p := range cfg.Processes {
		id, err := a.store.AssignID(p.Alias, p.ID)
		var taken *state.IDTakenError
		if errors.As(err, &taken) {
			return nil, nil, cfg.Errorf(p.IDLine, fmt.Sprintf("processes[%d].id", i), "%v", taken)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("assign id of %s: %w", p.Alias, err)
		}
		byID[id] = entry{alias: p.Alias, operable: p.Operable, logFilePattern: p.LogFilePattern}
		specs = append(specs, procmgr.Spec{
			Alias: p.Alias, ID: id, Command: p.StartCommand, User: p.User, PidFile: p.PidFile, Match: p.Match,
			StopSignal: p.StopSignal, StopTimeout: p.StopTimeout, StartWait: p.StartWait,
			Autostart: p.Autostart, Autorestart: p.Autorestart,
			Directory: p.Directory, Environment: p.Environment, EnvironmentFile: p.EnvironmentFile,
			Umask: p.Umask, Limits: specLimits(p.Limits), Health: healthSpec(p.Health), CgroupLimits: p.CgroupLimits,
		})
	}
	id, err := a.store.AssignID(SelfAlias, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("assign id of %s: %w", SelfAlias, err)
	}
	byID[id] = entry{alias: SelfAlias}
	if a.self.ID == 0 {
		if err := a.recordSelf(id); err != nil {
			return nil, nil, err
		}
	}
	return specs, byID, nil
}

// specLimits converts the config's limits to procmgr's, which does not
// import config.
func specLimits(ls []config.Limit) []procmgr.Limit {
	var out []procmgr.Limit
	for _, l := range ls {
		out = append(out, procmgr.Limit{Name: l.Name, Value: l.Value})
	}
	return out
}

// setEntries makes byID the API's view of which ids exist.
func (a *Agent) setEntries(byID map[int64]entry) {
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	a.mu.Lock()
	a.byID, a.ids = byID, ids
	a.mu.Unlock()
}

// entry looks id up.
func (a *Agent) entry(id int64) (entry, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e, ok := a.byID[id]
	return e, ok
}

// recordSelf keeps the agent's own record: created once, updated at each
// start, since that is when its status changed.
func (a *Agent) recordSelf(id int64) error {
	now := time.Now()
	rec, ok, err := a.store.Get(SelfAlias)
	if err != nil {
		return err
	}
	if !ok {
		rec = state.Record{Alias: SelfAlias, CreateTime: now}
	}
	st, err := a.fs.Stat(os.Getpid())
	if err != nil {
		return fmt.Errorf("observe the agent itself: %w", err)
	}
	boot, _ := a.fs.BootID()
	rec.ID, rec.UpdateTime, rec.Desired = id, now, state.DesiredStarted
	rec.PID, rec.StartTicks, rec.BootID = os.Getpid(), st.StartTicks, boot
	a.self, a.ticks = rec, st.StartTicks
	return a.store.Put(rec)
}

// Close stops managing (leaving every process running) and closes the state.
func (a *Agent) Close() error {
	if a.socket != nil {
		a.socket.Close() // removes the socket file, if Serve has not already
	}
	a.mgr.Close()
	a.closeCgroups()
	return a.store.Close()
}

// closeCgroups releases the hierarchy; the cgroups and what runs in them
// stay.
func (a *Agent) closeCgroups() {
	if a.cgroups != nil {
		a.cgroups.Close()
	}
}

// Containment describes how the processes are contained: "cgroup v2 at
// ..." or "off: ... (reason)".
func (a *Agent) Containment() string { return a.containment }

// List returns every process, the agent included, ordered by id.
// Concurrent calls share one listing (see shared), so the slice is shared
// too: callers must not modify it.
func (a *Agent) List(ctx context.Context) ([]api.HostAgentProcess, error) {
	return a.lists.do(a.list)
}

// list observes the processes once and builds their records.
func (a *Agent) list() ([]api.HostAgentProcess, error) {
	a.mu.RLock()
	ids := a.ids
	a.mu.RUnlock()
	vs, targets := a.views(ids)
	obs, facts, err := a.mgr.ObserveFacts(targets)
	if err != nil {
		return nil, fmt.Errorf("observe processes: %w", err)
	}
	withFacts(vs, facts)
	out := make([]api.HostAgentProcess, len(vs))
	seen := observedAt(obs.At) // one string for every record
	for i, v := range vs {
		out[i] = a.record(v, seen)
	}
	return out, nil
}

// Get returns one process. /proc is looked at only when the process runs
// (the answer to a stop needs nothing from it), through an observation
// pass shared with concurrent Gets.
func (a *Agent) Get(ctx context.Context, id int64) (api.HostAgentProcess, error) {
	e, s, ok := a.snapshot(id)
	if !ok {
		return api.HostAgentProcess{}, fmt.Errorf("agent process %d: %w", id, ErrNoProcess)
	}
	v := view{id: id, e: e, s: s}
	if !s.Running {
		return a.record(v, nil), nil
	}
	obs, err := a.observations.do(func() (*procmgr.Observation, error) { return a.mgr.Observe() })
	if err != nil {
		return api.HostAgentProcess{}, fmt.Errorf("observe processes: %w", err)
	}
	v.facts = &obs.FactsOf([]procmgr.Target{target(e, s)})[0]
	return a.record(v, observedAt(obs.At)), nil
}

// Stop stops a process and answers once it and its group are gone.
func (a *Agent) Stop(ctx context.Context, id int64) (api.HostAgentProcess, error) {
	return a.act(ctx, id, a.mgr.Stop)
}

// Start starts a process and answers once it has stayed up for start_wait.
func (a *Agent) Start(ctx context.Context, id int64) (api.HostAgentProcess, error) {
	return a.act(ctx, id, a.mgr.Start)
}

// Restart stops, then starts a process.
func (a *Agent) Restart(ctx context.Context, id int64) (api.HostAgentProcess, error) {
	return a.act(ctx, id, a.mgr.Restart)
}

func (a *Agent) act(ctx context.Context, id int64, op func(context.Context, string) (procmgr.Snapshot, error)) (api.HostAgentProcess, error) {
	e, ok := a.entry(id)
	if !ok {
		return api.HostAgentProcess{}, fmt.Errorf("agent process %d: %w", id, ErrNoProcess)
	}
	if !e.operable {
		return api.HostAgentProcess{}, fmt.Errorf("agent process %d (%s): %w", id, e.alias, ErrNotOperable)
	}
	if _, err := op(ctx, e.alias); err != nil {
		return api.HostAgentProcess{}, err
	}
	return a.Get(ctx, id)
}
