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

	"github.com/ocp-agent/ocp-agent/internal/parallel"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// Store is the subset of state.Store used by procmgr, so that tests can
// give it the in-memory twin.
type Store interface {
	Get(alias string) (state.Record, bool, error)
	Put(r state.Record) error
	// PutAll writes every record of an agent's start (or of the processes
	// a reload adds) in one commit.
	PutAll(rs []state.Record) error
	Delete(alias string) error
}

// Options configures a Manager.
type Options struct {
	Store Store
	// OutputDir holds each process's stdout/stderr file, <alias>.log,
	// rotated past OutputMaxSize (default 10 MiB) keeping OutputBackups
	// (default 3) older files.
	OutputDir     string
	OutputMaxSize int64
	OutputBackups int
	// PidDir, when set, gets <alias>.pid for each running process.
	PidDir string
	FS     procfs.FS // zero value: procfs.Default
	Logger *zap.Logger
	// OnStop, when set, is told of every stop sequence that signalled a
	// process: how long it took from the first signal to the answer, and
	// its error (nil, or one wrapping ErrSurvivedKill). It runs on the
	// process's goroutine and must not block.
	OnStop func(alias string, took time.Duration, err error)
	// Backoff paces automatic restarts; zero fields take DefaultBackoff's.
	Backoff Backoff
	// KillWait bounds the wait for a process after SIGKILL; zero is
	// KillWait (the constant).
	KillWait time.Duration
	// Cgroups, when set, contains each process in a cgroup of its own
	// named after its alias (see docs/containment.md); nil is the
	// fallback: process groups, with the agent a child subreaper. The
	// caller opens and closes it; the Manager removes the empty cgroups
	// of aliases it does not manage.
	Cgroups *cgroup.Hierarchy
}

// ErrUnknownProcess is returned for an alias the manager does not manage.
var ErrUnknownProcess = errors.New("unknown process")

// Manager manages a fixed set of processes.
type Manager struct {
	ctx           context.Context
	cancel        context.CancelFunc
	store         Store
	fs            procfs.FS
	outputMaxSize int64
	outputBackups int
	outDir        *heldDir // OutputDir, held: see heldDir
	runDir        *heldDir // PidDir, held; nil when PidDir is ""
	rotated       rotateStats
	bootID        string
	log           *zap.Logger
	plog          *zap.Logger // log for procLog: callers named past its two frames
	onStop        func(alias string, took time.Duration, err error)
	backoff       Backoff
	killWait      time.Duration
	cgroups       *cgroup.Hierarchy // nil: no containment (Options.Cgroups)
	exits         *exitWatch        // notices the exits of every instance
	files         openFiles         // held open for listings (observe_files.go)

	// mu guards procs and order, which change only on Update (a reload);
	// request paths take the read lock just long enough to find a proc.
	mu    sync.RWMutex
	procs map[string]*proc
	order []*proc // ordered by id
	wg    sync.WaitGroup
	// updating serializes Updates, which may wait for stops.
	updating sync.Mutex
}

// New loads each process's record, adopts the instances that are still
// running (checked by pid, start time and boot id, or found through
// pid_file and match), and only then starts the owners, which start what
// should run. It returns once every process is adopted or known stopped.
func New(opts Options, specs []Spec) (*Manager, error) {
	CloseInheritedOnExec()
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
	if opts.OutputMaxSize <= 0 {
		opts.OutputMaxSize = defaultOutputMaxSize
	}
	if opts.OutputBackups <= 0 {
		opts.OutputBackups = defaultOutputBackups
	}
	if opts.KillWait <= 0 {
		opts.KillWait = KillWait
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		ctx: ctx, cancel: cancel, store: opts.Store, fs: opts.FS,
		outputMaxSize: opts.OutputMaxSize, outputBackups: opts.OutputBackups,
		bootID: bootID, log: opts.Logger, plog: opts.Logger.WithOptions(zap.AddCallerSkip(2)),
		onStop: opts.OnStop, backoff: opts.Backoff.orDefault(),
		killWait: opts.KillWait, cgroups: opts.Cgroups,
		procs: make(map[string]*proc, len(specs)),
	}
	if err := m.watchExits(); err != nil {
		cancel()
		return nil, err
	}
	if m.cgroups == nil {
		// Without cgroups, double-forked descendants of the processes
		// come back to the agent instead of init, so that they stay in
		// sight while it lives.
		if err := becomeSubreaper(m.log); err != nil {
			m.log.Warn("cannot become a child subreaper", zap.Error(err))
		}
	}
	if err := checkCgroupLimits(opts.Cgroups, specs); err != nil {
		cancel()
		return nil, err
	}
	if err := m.holdDirs(opts); err != nil {
		cancel()
		return nil, err
	}
	seen := map[string]bool{}
	for _, spec := range specs {
		if seen[spec.Alias] {
			m.closeDirs()
			cancel()
			return nil, fmt.Errorf("process %s: duplicate alias", spec.Alias)
		}
		seen[spec.Alias] = true
	}
	loaded, err := m.loadAll(specs)
	if err != nil {
		m.closeDirs()
		cancel()
		return nil, err
	}
	m.removeStaleCgroups(seen)
	m.launch(loaded)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.rotateLoop(ctx)
	}()
	return m, nil
}

// watchExits starts the watch of the instances' exits, which ends with
// the manager's context: Close waits for it.
func (m *Manager) watchExits() error {
	w, err := newExitWatch()
	if err != nil {
		return err
	}
	m.exits = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run()
	}()
	context.AfterFunc(m.ctx, w.close)
	return nil
}

// launch adds ps to the managed set (sorted once for all of them) and
// starts their owners.
//
// An owner ends with the manager's context, or on opRemove: a context of
// its own would cost every process a context and a channel (about 250
// bytes) for the rare removal.
func (m *Manager) launch(ps []*proc) {
	m.mu.Lock()
	for _, p := range ps {
		m.procs[p.spec.Alias] = p
		m.order = append(m.order, p)
	}
	sortByID(m.order)
	m.mu.Unlock()
	for _, p := range ps {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			p.run(m.ctx)
		}()
	}
}

// loadAll loads every spec's process (see load) and commits them. The
// loads are spread over the cores: each is a few dozen system calls (the
// record, a pidfd, /proc and cgroup files), independent of the others',
// and an agent restarting over 1000 processes makes them all before it
// serves. They share one listing of the host's processes, taken when the
// first of them needs it. On error nothing is returned: the adopted
// instances are released, untouched.
func (m *Manager) loadAll(specs []Spec) ([]*proc, error) {
	scan := &hostScan{}
	loaded := make([]*proc, len(specs))
	errs := make([]error, len(specs))
	parallel.For(len(specs), 16, func(i int) {
		loaded[i], errs[i] = m.load(specs[i], scan)
	})
	for _, err := range errs {
		if err != nil {
			release(loaded)
			return nil, err
		}
	}
	if err := m.commit(loaded); err != nil {
		release(loaded)
		return nil, err
	}
	return loaded, nil
}

// commit writes the records of loaded procs in one transaction (one
// fsync'd commit for an agent's start with 1000 processes, rather than
// 1000), so that what the adoptions found is durable before any owner
// acts on it, and only then publishes their pid files (spread over the
// cores, as the loads are) and snapshots.
func (m *Manager) commit(ps []*proc) error {
	if len(ps) == 0 {
		return nil
	}
	recs := make([]state.Record, len(ps))
	for i, p := range ps {
		recs[i] = p.rec
	}
	if err := m.store.PutAll(recs); err != nil {
		return fmt.Errorf("record the processes: %w", err)
	}
	parallel.For(len(ps), 16, func(i int) {
		p := ps[i]
		if p.inst != nil {
			p.keepPidFile(p.inst.pid)
		} else {
			p.removePidFile()
		}
		p.publish()
	})
	return nil
}

// release lets go of what loaded procs hold (their instances' pidfds and
// their cgroups' descriptors), leaving the processes running.
func release(ps []*proc) {
	for _, p := range ps {
		if p == nil {
			continue
		}
		if p.inst != nil {
			p.inst.release()
		}
		if p.cg != nil {
			p.cg.Close()
		}
	}
}

// load reads spec's record and adopts its running instance, if any; the
// record is left for commit to write. Searches of the whole host use
// scan, shared with the other loads.
func (m *Manager) load(spec Spec, scan *hostScan) (*proc, error) {
	p := &proc{
		spec: spec, m: m, reqs: make(chan request), done: make(chan struct{}),
		log: procLog{log: m.plog, alias: spec.Alias}, scan: scan,
	}
	defer func() { p.scan = nil }()
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
	// The instance is the recorded one, else the child of a start that was
	// never recorded, else what runs in the alias's cgroup (the identity
	// that survives a lost state_dir), else one found through pid_file or
	// match.
	p.openCgroup()
	var in *instance
	if rec.PID != 0 {
		in = p.adoptRecorded()
	}
	if in == nil && rec.Launch != "" {
		in = p.fromLaunch(rec.Launch)
	}
	if in == nil {
		if in = p.fromCgroup(); in != nil {
			p.log.Info("adopted the processes of its cgroup", zap.Int("pid", in.pid), zap.String("cgroup", p.cg.Dir()))
		}
	}
	p.rec.Launch = ""
	// No restart is scheduled yet in this agent's life: boot starts what
	// should run at once.
	p.rec.NextStartTime = time.Time{}
	if in == nil {
		if in = p.findExisting(); in != nil {
			p.log.Info("adopted a running instance", zap.Int("pid", in.pid))
		}
	}
	if in != nil {
		p.contain(in)
		// Running from the first snapshot on: boot goes on from there
		// (watching it, or resuming an interrupted stop).
		p.inst, p.phase = in, phaseRunning
		p.rec.PID, p.rec.StartTicks, p.rec.BootID, p.rec.Group = in.pid, in.ticks, m.bootID, in.group
	}
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
	p, ok := m.get(alias)
	if !ok {
		return Snapshot{}, fmt.Errorf("%s %s: %w", opNames[op], alias, ErrUnknownProcess)
	}
	return m.request(ctx, p, request{op: op})
}

// request hands r to p's owner and waits for the answer or ctx.
func (m *Manager) request(ctx context.Context, p *proc, r request) (Snapshot, error) {
	reply := make(chan result, 1)
	r.reply = reply
	select {
	case p.reqs <- r:
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
	p, ok := m.get(alias)
	if !ok {
		return Snapshot{}, false
	}
	return *p.snap.Load(), true
}

// Snapshots returns every process's latest snapshot, ordered by id.
func (m *Manager) Snapshots() []Snapshot {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Snapshot, len(m.order))
	for i, p := range m.order {
		out[i] = *p.snap.Load()
	}
	return out
}

// sortByID orders ps by id, read from their published snapshots (the
// records themselves belong to the owners).
func sortByID(ps []*proc) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].snap.Load().ID < ps[j].snap.Load().ID })
}

func (m *Manager) get(alias string) (*proc, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.procs[alias]
	return p, ok
}

// Close stops the owners and leaves every managed process running, as an
// agent that exits or restarts must.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
	m.closeDirs()
	m.files.close()
}
