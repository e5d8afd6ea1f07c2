package procmgr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/internal/parallel"
)

// Changes says what an Update did, by alias.
type Changes struct {
	Added, Removed, Changed []string
}

// Update makes specs the managed set, as a reload of the configuration
// does: an added process is adopted or started like at the agent's start;
// a removed one is stopped and its record forgotten (its id stays
// reserved); a changed one gets its new spec for its next start, and
// nothing running is touched. It waits for the removed processes' stops.
func (m *Manager) Update(specs []Spec) (Changes, error) {
	m.updating.Lock()
	defer m.updating.Unlock()
	var ch Changes
	want := make(map[string]Spec, len(specs))
	for _, s := range specs {
		if _, dup := want[s.Alias]; dup {
			return ch, fmt.Errorf("update: duplicate alias %s", s.Alias)
		}
		want[s.Alias] = s
	}
	if err := checkCgroupLimits(m.cgroups, specs); err != nil {
		return ch, fmt.Errorf("update: %w", err)
	}

	m.mu.RLock()
	var removed []*proc
	current := make(map[string]*proc, len(m.procs))
	for alias, p := range m.procs {
		current[alias] = p
		if _, ok := want[alias]; !ok {
			removed = append(removed, p)
		}
	}
	m.mu.RUnlock()

	var errs []error
	var added []Spec
	for _, s := range specs {
		p, ok := current[s.Alias]
		if !ok {
			added = append(added, s)
			continue
		}
		if sameSpec(p.spec, s) {
			continue
		}
		if _, err := m.request(context.Background(), p, request{op: opUpdate, spec: &s}); err != nil {
			errs = append(errs, fmt.Errorf("update %s: %w", s.Alias, err))
			continue
		}
		m.mu.Lock()
		sortByID(m.order)
		m.mu.Unlock()
		ch.Changed = append(ch.Changed, s.Alias)
	}

	m.add(added, &ch, &errs)

	var wg sync.WaitGroup
	var mu sync.Mutex // guards errs and ch.Removed, appended to by the removals
	for _, p := range removed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := m.remove(p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ch.Removed = append(ch.Removed, p.spec.Alias)
		}()
	}
	wg.Wait()
	slices.Sort(ch.Removed)
	return ch, errors.Join(errs...)
}

// add loads the processes of specs (one that cannot be loaded is an
// error in errs, the others go on), commits their records at once and
// starts their owners.
func (m *Manager) add(specs []Spec, ch *Changes, errs *[]error) {
	if len(specs) == 0 {
		return
	}
	scan := &hostScan{}
	ps := make([]*proc, len(specs))
	loadErrs := make([]error, len(specs))
	parallel.For(len(specs), 16, func(i int) {
		ps[i], loadErrs[i] = m.load(specs[i], scan)
	})
	var loaded []*proc
	for i, p := range ps {
		if loadErrs[i] != nil {
			*errs = append(*errs, loadErrs[i])
			continue
		}
		loaded = append(loaded, p)
	}
	if err := m.commit(loaded); err != nil {
		release(loaded)
		*errs = append(*errs, fmt.Errorf("update: %w", err))
		return
	}
	m.launch(loaded)
	for _, p := range loaded {
		ch.Added = append(ch.Added, p.spec.Alias)
	}
}

// remove stops p, ends its owner, forgets its record and removes its
// cgroup, which the stop left empty. A process that survives SIGKILL stays
// managed (cgroup included), so that it is not lost from sight.
func (m *Manager) remove(p *proc) error {
	alias := p.spec.Alias
	if _, err := m.request(context.Background(), p, request{op: opStop}); err != nil {
		return fmt.Errorf("remove %s: %w", alias, err)
	}
	m.mu.Lock()
	delete(m.procs, alias)
	m.order = slices.DeleteFunc(m.order, func(q *proc) bool { return q == p })
	m.mu.Unlock()
	m.request(context.Background(), p, request{op: opRemove}) // ErrClosed: it has ended already
	<-p.done
	if m.cgroups != nil {
		m.removeCgroup(alias) // a populated one (a start raced the removal) is left and logged
	}
	if err := m.store.Delete(alias); err != nil {
		return fmt.Errorf("remove %s: %w", alias, err)
	}
	m.log.Info("removed", zap.String("alias", alias))
	return nil
}

// sameSpec reports whether two specs would run the same way. (Update
// reads p.spec from outside the owner: it is the only writer of a spec,
// through opUpdate, serialized by m.updating, so the read does not race.)
func sameSpec(a, b Spec) bool {
	am, bm := a.Match, b.Match
	a.Match, b.Match = nil, nil
	if (am == nil) != (bm == nil) || (am != nil && am.String() != bm.String()) {
		return false
	}
	return reflect.DeepEqual(a, b)
}
