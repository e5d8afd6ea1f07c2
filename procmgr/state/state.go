// Package state keeps what the agent must not forget across its own restarts:
// the ids it assigned, and each managed process's record (desired status,
// identity of the running instance, times, restart count, last exit).
package state

import (
	"errors"
	"fmt"
	"time"
)

// Desired statuses of a Record: what the agent must bring the process back
// to after its own restart.
const (
	DesiredStarted = "STARTED"
	DesiredStopped = "STOPPED"
)

// Record is the durable state of one managed process, keyed by alias
// (the config's key; the id is derived from it through AssignID).
type Record struct {
	Alias string `json:"alias"`
	ID    int64  `json:"id"`

	CreateTime     time.Time `json:"createTime"`
	UpdateTime     time.Time `json:"updateTime"`
	LastActiveTime time.Time `json:"lastActiveTime,omitzero"` // zero: never seen alive

	// Desired is DesiredStarted or DesiredStopped; "" before the first decision.
	Desired string `json:"desired,omitempty"`

	// Identity of the running instance; PID 0 when none is known to run.
	PID        int    `json:"pid,omitempty"`
	StartTicks uint64 `json:"startTicks,omitempty"` // field 22 of /proc/PID/stat
	BootID     string `json:"bootId,omitempty"`
	// Group is true when the agent started the instance in its own session,
	// so that signals go to the whole process group.
	Group bool `json:"group,omitempty"`
	// MovedTicks is the StartTicks of the instance an adoption moved into
	// its cgroup after it started (0: none was), whose sockets from before
	// the move are filed under another cgroup. It names the instance
	// rather than being a flag, so that it never carries over to the next.
	MovedTicks uint64 `json:"movedTicks,omitempty"`

	// Launch is set, before a start forks, to a random token that the new
	// process carries in its environment (OCP_AGENT_LAUNCH), and cleared
	// once its pid is recorded. An agent killed in between finds the
	// process by the token instead of starting a second copy.
	Launch string `json:"launch,omitempty"`

	RestartCount int  `json:"restartCount,omitempty"`
	LastExitCode *int `json:"lastExitCode,omitempty"` // exit code, or 128+signal

	// LastError is why the last start or run ended, on one line, or ""
	// (kept until a start succeeds); NextStartTime is when the scheduled
	// restart is due while one is (back-off), else zero.
	LastError     string    `json:"lastError,omitempty"`
	NextStartTime time.Time `json:"nextStartTime,omitzero"`
}

// Store is the durable state. Every write is on disk when it returns, so a
// desired status recorded before a signal survives a crash of the agent or
// the host. Implementations are safe for concurrent use.
type Store interface {
	// AssignID returns the id of alias. An explicit id (> 0) is recorded
	// for alias, unless it was ever assigned to another alias (*IDTakenError).
	// With explicit 0, alias keeps the id it had; a new alias gets one more
	// than the largest id ever assigned. Ids are never reused.
	AssignID(alias string, explicit int64) (int64, error)
	// Get returns alias's record; ok is false when there is none.
	Get(alias string) (r Record, ok bool, err error)
	// Put writes r, keyed by r.Alias.
	Put(r Record) error
	// PutAll writes rs in one transaction (one commit for all, as at
	// start-up, when every process's record is written at once): all of
	// them, or, on error, none.
	PutAll(rs []Record) error
	// Delete forgets alias's record (its id stays reserved).
	Delete(alias string) error
	// All returns every record, ordered by alias.
	All() ([]Record, error)
	// Close releases the store (for Bolt: the database and the directory
	// lock, so that another agent may take over). Calls after Close fail
	// with ErrClosed; a second Close is a no-op.
	Close() error
}

// IDTakenError says an explicit id belongs to another alias. Owner is the
// alias the id was ever assigned to (it may since have moved to another id:
// the old one stays retired), so that a config error can name it.
type IDTakenError struct {
	ID    int64
	Owner string
}

// Error names the id and its owner, and why the id cannot be given again.
func (e *IDTakenError) Error() string {
	return fmt.Sprintf("id %d is already assigned to alias %q (ids are never reused)", e.ID, e.Owner)
}

// ErrLocked means another agent holds the state directory. Two agents on one
// directory would both adopt and restart the same processes, so OpenBolt
// refuses; it returns a *LockedError, which matches ErrLocked with errors.Is.
var ErrLocked = errors.New("state directory is in use by another agent")

// ErrClosed is returned by a Store used after Close, so that a late caller
// (a process goroutine finishing during shutdown) gets an error it can
// recognise rather than a panic or a silently dropped write.
var ErrClosed = errors.New("state store is closed")
