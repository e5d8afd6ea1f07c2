package state

import (
	"fmt"
	"sort"
	"sync"
)

// Memory is the in-memory twin of Bolt, with the same semantics and no
// disk, so that tests of other packages get a real Store in one line.
type Memory struct {
	// mu guards everything below: the agent writes records from one
	// goroutine per managed process, and AssignID's read-check-write must
	// be atomic (Bolt gets both from its transactions).
	mu      sync.Mutex
	closed  bool
	ids     map[string]int64 // alias -> current id
	owners  map[int64]string // every id ever given -> its alias
	max     int64            // largest id ever given
	records map[string][]byte
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{
		ids:     map[string]int64{},
		owners:  map[int64]string{},
		records: map[string][]byte{},
	}
}

// AssignID implements Store.AssignID.
func (m *Memory) AssignID(alias string, explicit int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := fmt.Sprintf("assign id to %q", alias)
	if m.closed {
		return 0, fmt.Errorf("%s: %w", op, ErrClosed)
	}
	id, err := assignID(memIDs{m}, alias, explicit)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return id, nil
}

// Get implements Store.Get.
func (m *Memory) Get(alias string) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Record{}, false, fmt.Errorf("get record %q: %w", alias, ErrClosed)
	}
	v, ok := m.records[alias]
	if !ok {
		return Record{}, false, nil
	}
	r, err := decodeRecord(alias, v)
	if err != nil {
		return Record{}, false, fmt.Errorf("get record %q: %w", alias, err)
	}
	return r, true, nil
}

// PutAll implements Store.PutAll.
func (m *Memory) PutAll(rs []Record) error {
	op := fmt.Sprintf("put %d records", len(rs))
	vs, err := encodeRecords(rs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return m.store(op, rs, vs)
}

// Put implements Store.Put. It keeps the encoded record, as Bolt does, so
// that the caller's later changes to r never show through.
func (m *Memory) Put(r Record) error {
	op := fmt.Sprintf("put record %q", r.Alias)
	v, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return m.store(op, []Record{r}, [][]byte{v})
}

// store keeps the encoded vs of rs, all at once.
func (m *Memory) store(op string, rs []Record, vs [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	for i, r := range rs {
		m.records[r.Alias] = vs[i]
	}
	return nil
}

// Delete implements Store.Delete; the alias's id stays reserved.
func (m *Memory) Delete(alias string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("delete record %q: %w", alias, ErrClosed)
	}
	delete(m.records, alias)
	return nil
}

// All implements Store.All, ordered by alias as Bolt is.
func (m *Memory) All() ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("list records: %w", ErrClosed)
	}
	aliases := make([]string, 0, len(m.records))
	for a := range m.records {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	records := make([]Record, 0, len(aliases))
	for _, a := range aliases {
		r, err := decodeRecord(a, m.records[a])
		if err != nil {
			return nil, fmt.Errorf("list records: %w", err)
		}
		records = append(records, r)
	}
	return records, nil
}

// Close implements Store.Close: later calls fail with ErrClosed, as Bolt's do.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
