// Package procmgr starts, stops, supervises and observes the processes the
// agent manages. Each process is owned by one goroutine that alone acts on
// it; callers send it requests and read the snapshots it publishes.
package procmgr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// Store is the subset of state.Store used by procmgr, so that tests can
// give it the in-memory twin.
type Store interface {
	Get(alias string) (state.Record, bool, error)
	Put(r state.Record) error
}

// Options configures a Manager.
type Options struct {
	Store Store
	// OutputDir holds each process's stdout/stderr file, <alias>.log.
	OutputDir string
	FS        procfs.FS // zero value: procfs.Default
	Logger    *zap.Logger
	// OnStop, when set, is told of every stop sequence that signalled a
	// process: how long it took from the first signal to the answer, and
	// its error (nil, or one wrapping ErrSurvivedKill). It runs on the
	// process's goroutine and must not block.
	OnStop func(alias string, took time.Duration, err error)
}

// ErrUnknownProcess is returned for an alias the manager does not manage.
var ErrUnknownProcess = errors.New("unknown process")

// Manager manages a fixed set of processes.
type Manager struct {
	ctx       context.Context
	cancel    context.CancelFunc
	store     Store
	fs        procfs.FS
	outputDir string
	bootID    string
	log       *zap.Logger
	onStop    func(alias string, took time.Duration, err error)

	procs map[string]*proc // written only by New: read without a lock
	order []*proc
	wg    sync.WaitGroup
}

// New loads each process's record, adopts the instances that are still
// running (checked by pid, start time and boot id, or found through
// pid_file and match), and only then starts the owners, which start what
// should run. It returns once every process is adopted or known stopped.
func New(opts Options, specs []Spec) (*Manager, error) {
	if opts.FS.Root == "" {
		opts.FS = procfs.Default
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	bootID, err := opts.FS.BootID()
	if err != nil {
		return nil, fmt.Errorf("boot id: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		ctx: ctx, cancel: cancel, store: opts.Store, fs: opts.FS, outputDir: opts.OutputDir,
		bootID: bootID, log: opts.Logger, onStop: opts.OnStop, procs: make(map[string]*proc, len(specs)),
	}
	for _, spec := range specs {
		if _, dup := m.procs[spec.Alias]; dup {
			cancel()
			return nil, fmt.Errorf("process %s: duplicate alias", spec.Alias)
		}
		p, err := m.load(spec)
		if err != nil {
			cancel()
			return nil, err
		}
		m.procs[spec.Alias] = p
		m.order = append(m.order, p)
	}
	sort.Slice(m.order, func(i, j int) bool { return m.order[i].spec.ID < m.order[j].spec.ID })
	for _, p := range m.order {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			p.run(ctx)
		}()
	}
	return m, nil
}

// load reads spec's record and adopts its running instance, if any.
func (m *Manager) load(spec Spec) (*proc, error) {
	p := &proc{
		spec: spec, m: m, reqs: make(chan request), done: make(chan struct{}),
		log: m.log.With(zap.String("alias", spec.Alias)),
	}
	rec, ok, err := m.store.Get(spec.Alias)
	if err != nil {
		return nil, fmt.Errorf("process %s: %w", spec.Alias, err)
	}
	now := time.Now()
	if !ok {
		rec = state.Record{Alias: spec.Alias, ID: spec.ID, CreateTime: now, UpdateTime: now}
	}
	if rec.ID != spec.ID {
		rec.ID, rec.UpdateTime = spec.ID, now
	}
	p.rec = rec
	if rec.PID != 0 {
		p.adoptRecorded()
	}
	if p.inst == nil {
		if in := p.findExisting(); in != nil {
			p.log.Info("adopted a running instance", zap.Int("pid", in.pid))
			p.inst = in
			p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = in.pid, in.ticks, m.bootID, in.group
		}
	}
	if err := m.store.Put(p.rec); err != nil {
		return nil, fmt.Errorf("process %s: %w", spec.Alias, err)
	}
	p.publish()
	return p, nil
}

// Start starts alias and returns its snapshot once it has stayed up for
// its start_wait. If ctx ends first, the start still goes on.
func (m *Manager) Start(ctx context.Context, alias string) (Snapshot, error) {
	return m.send(ctx, alias, opStart)
}

// Stop stops alias and returns once it and its process group are gone.
// If ctx ends first, the stop still goes on.
func (m *Manager) Stop(ctx context.Context, alias string) (Snapshot, error) {
	return m.send(ctx, alias, opStop)
}

// Restart stops alias, then starts it.
func (m *Manager) Restart(ctx context.Context, alias string) (Snapshot, error) {
	return m.send(ctx, alias, opRestart)
}

func (m *Manager) send(ctx context.Context, alias string, op opKind) (Snapshot, error) {
	p, ok := m.procs[alias]
	if !ok {
		return Snapshot{}, fmt.Errorf("%s %s: %w", opNames[op], alias, ErrUnknownProcess)
	}
	reply := make(chan result, 1)
	select {
	case p.reqs <- request{op: op, reply: reply}:
	case <-p.done:
		return Snapshot{}, ErrClosed
	case <-ctx.Done():
		return Snapshot{}, ctx.Err()
	}
	select {
	case r := <-reply:
		return r.snap, r.err
	case <-ctx.Done():
		return Snapshot{}, ctx.Err()
	}
}

// Snapshot returns alias's latest snapshot.
func (m *Manager) Snapshot(alias string) (Snapshot, bool) {
	p, ok := m.procs[alias]
	if !ok {
		return Snapshot{}, false
	}
	return *p.snap.Load(), true
}

// Snapshots returns every process's latest snapshot, ordered by id.
func (m *Manager) Snapshots() []Snapshot {
	out := make([]Snapshot, len(m.order))
	for i, p := range m.order {
		out[i] = *p.snap.Load()
	}
	return out
}

// Close stops the owners and leaves every managed process running, as an
// agent that exits or restarts must.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}
