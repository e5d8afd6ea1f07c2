package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

const (
	// dbName is the database file inside the state directory.
	dbName = "state.db"
	// schemaVersion is the layout this code writes. An agent refuses a
	// newer one rather than misread it after a downgrade.
	schemaVersion = 1
	// openTimeout bounds the wait for bbolt's own lock on the file. The
	// directory lock is taken first, so only a foreign tool (bbolt's CLI,
	// a backup) can hold it; never wait forever for one.
	openTimeout = 2 * time.Second
)

// Buckets and meta keys. aliases and ids are never deleted from: ids are
// never reused, so every id ever given must stay reserved for its alias.
var (
	bucketMeta    = []byte("meta")    // keySchema, keyMaxID: decimal strings
	bucketAliases = []byte("aliases") // alias -> current id (8 bytes, big-endian)
	bucketIDs     = []byte("ids")     // id (8 bytes, big-endian) -> alias it was ever given to
	bucketRecords = []byte("records") // alias -> JSON Record

	keySchema = []byte("schema")
	keyMaxID  = []byte("maxID")
)

// Bolt is the durable Store: a bbolt database in the state directory, which
// it holds locked while open. Every write is one fsync'd transaction, so
// after a kill -9 or a power cut at any moment each record is either the old
// one or the new one, never a mix. Concurrent writes share a transaction
// (group commit, see writer), each still on disk when its call returns.
type Bolt struct {
	path string
	db   *bolt.DB
	lock *dirLock

	// The writer goroutine (bolt_writer.go) owns every read-write
	// transaction: writes reaches it, quit ends it, writerDone says it
	// has ended.
	writes     chan *write
	quit       chan struct{}
	writerDone chan struct{}
	commits    atomic.Int64 // read-write transactions run, for tests and benchmarks

	mu     sync.Mutex // guards closed, so that Close runs once
	closed bool
}

var _ Store = (*Bolt)(nil)

// Commits returns how many read-write transactions b has committed (or
// tried to): benchmarks outside this package read it to tell whether
// concurrent writes shared their commits.
func (b *Bolt) Commits() int64 { return b.commits.Load() }

// LockedError says which agent holds a state directory, so that the admin
// knows what to stop. It matches ErrLocked with errors.Is.
type LockedError struct {
	Dir string
	PID int // 0 when the holder did not say
}

// Error names the directory and, when known, the holder's pid.
func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("state directory %s is in use by another agent (pid unknown)", e.Dir)
	}
	return fmt.Sprintf("state directory %s is in use by another agent (pid %d)", e.Dir, e.PID)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// OpenBolt opens the state kept in dir/state.db, creating dir (0700) and the
// database when missing. It first takes dir's lock without waiting, and
// fails with a *LockedError when another agent holds it. A database that is
// corrupt, not a bbolt file, or of a newer schema is an error naming the
// file; the caller decides what to do, the store never guesses.
func OpenBolt(dir string) (*Bolt, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbName)
	db, err := openDB(path)
	if err == nil {
		err = prepare(db, path)
		if err != nil {
			db.Close()
		}
	}
	if err != nil {
		lock.unlock()
		return nil, err
	}
	b := &Bolt{path: path, db: db, lock: lock,
		writes: make(chan *write), quit: make(chan struct{}), writerDone: make(chan struct{})}
	go b.writer()
	return b, nil
}

// openDB opens the bbolt file, turning its errors into ones that say what
// is wrong with which file.
func openDB(path string) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("open state %s: database is corrupt: %v", path, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open state %s: corrupt, or not a bbolt database: %w", path, err)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open state %s: another program has the file locked (waited %s): %w",
			path, openTimeout, err)
	default:
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
}

// Close ends the writer (a write it has taken is committed first; later
// ones fail with ErrClosed), closes the database, then releases the
// directory lock, so that the next agent finds a database nobody writes to.
func (b *Bolt) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	close(b.quit)
	<-b.writerDone
	var errs []error
	if err := b.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close state %s: %w", b.path, err))
	}
	if err := b.lock.unlock(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
