package state

import (
	"errors"
	"fmt"
	"math"
)

// idTable is the id bookkeeping that AssignID needs, so that Bolt (inside a
// transaction) and Memory (under its mutex) share one implementation of the
// rules rather than two that could drift apart.
type idTable interface {
	// idOf returns the id currently assigned to alias.
	idOf(alias string) (id int64, ok bool, err error)
	// ownerOf returns the alias an id was ever assigned to. Retired ids
	// (an alias moved to another explicit id) keep their owner, which is
	// what keeps them from being handed to anyone else.
	ownerOf(id int64) (alias string, ok bool, err error)
	// maxID returns the largest id ever assigned, 0 when none.
	maxID() (int64, error)
	// assign records alias -> id and id -> alias, and raises maxID to id.
	assign(alias string, id int64) error
}

// assignID implements Store.AssignID on t; the caller makes it atomic.
func assignID(t idTable, alias string, explicit int64) (int64, error) {
	if alias == "" {
		return 0, errors.New("empty alias")
	}
	if explicit < 0 {
		return 0, fmt.Errorf("id %d is not positive", explicit)
	}
	cur, has, err := t.idOf(alias)
	if err != nil {
		return 0, err
	}
	if explicit == 0 {
		if has {
			return cur, nil
		}
		return assignNext(t, alias)
	}
	if has && cur == explicit {
		return cur, nil
	}
	owner, taken, err := t.ownerOf(explicit)
	if err != nil {
		return 0, err
	}
	if taken && owner != alias {
		return 0, &IDTakenError{ID: explicit, Owner: owner}
	}
	// The alias's previous id, if any, keeps alias as its owner in the
	// reverse table, so it stays retired: nobody else can claim it.
	if err := t.assign(alias, explicit); err != nil {
		return 0, err
	}
	return explicit, nil
}

// assignNext gives alias one more than the largest id ever assigned, so
// that an auto id can never collide with an explicit id seen before, nor
// with an id whose record was deleted.
func assignNext(t idTable, alias string) (int64, error) {
	max, err := t.maxID()
	if err != nil {
		return 0, err
	}
	if max == math.MaxInt64 {
		return 0, errors.New("ids exhausted")
	}
	id := max + 1
	if err := t.assign(alias, id); err != nil {
		return 0, err
	}
	return id, nil
}

// memIDs is the idTable of a Memory; the caller holds m.mu.
type memIDs struct{ m *Memory }

func (t memIDs) idOf(alias string) (int64, bool, error) {
	id, ok := t.m.ids[alias]
	return id, ok, nil
}

func (t memIDs) ownerOf(id int64) (string, bool, error) {
	alias, ok := t.m.owners[id]
	return alias, ok, nil
}

func (t memIDs) maxID() (int64, error) { return t.m.max, nil }

func (t memIDs) assign(alias string, id int64) error {
	t.m.ids[alias] = id
	t.m.owners[id] = alias
	t.m.max = max(t.m.max, id)
	return nil
}
