package state

import (
	"fmt"
	"runtime/debug"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxBatch bounds how many writes share one transaction, so that one
// commit (and the wait of the first writer in it) stays short even when a
// whole host's processes are written at once.
const maxBatch = 256

// write is one queued read-write transaction function and where its
// outcome goes.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error // buffered (1): the writer never blocks on a reply
}

// writes recycles write requests and their channels: a stop of every
// process of a host queues hundreds at once.
var writes = sync.Pool{New: func() any { return &write{done: make(chan error, 1)} }}

// writer is the one goroutine that commits the Bolt's writes (group
// commit). A commit costs two fdatasyncs whatever it holds, so writes that
// arrive while one is being committed are committed together in the next
// transaction, as soon as the previous commit ends: a lone write is never
// delayed (unlike bbolt's DB.Batch, which waits up to MaxBatchDelay for
// company), and N concurrent writes cost about two commits instead of N.
//
// Each write is still durable when its caller returns, and all-or-nothing:
// when a batch fails (one of its functions, a panic on a corrupt page, the
// commit's I/O), the transaction is rolled back and every function of it
// runs again in a transaction of its own, so that one write's error is
// never another's.
func (b *Bolt) writer() {
	defer close(b.writerDone)
	// bbolt panics on corrupt pages, or faults outside its memory map:
	// commits run here, so this goroutine asks for a panic on a fault.
	debug.SetPanicOnFault(true)
	batch := make([]*write, 0, maxBatch)
	for {
		select {
		case w := <-b.writes:
			batch = append(batch[:0], w)
		case <-b.quit:
			return
		}
	drain: // whatever queued up during the previous commit
		for len(batch) < maxBatch {
			select {
			case w := <-b.writes:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		b.commit(batch)
		clear(batch) // drop references to the pooled requests
	}
}

// commit runs batch in one transaction, or each alone after a failure.
func (b *Bolt) commit(batch []*write) {
	if len(batch) == 1 {
		batch[0].done <- b.update(batch[0].fn)
		return
	}
	err := b.update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Nothing of the batch was written. Each runs again alone, so
		// that it gets its own outcome (the error was perhaps another's).
		for _, w := range batch {
			w.done <- b.update(w.fn)
		}
		return
	}
	for _, w := range batch {
		w.done <- nil
	}
}

// update is db.Update with a panic inside bbolt (a page corrupted after
// the check at open) turned into an error: bbolt's own deferred rollback
// has released the transaction by then.
func (b *Bolt) update(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &corruptError{p}
		}
	}()
	b.commits.Add(1)
	return b.db.Update(fn)
}

// corruptError is a panic of bbolt met in the writer, for run to word.
type corruptError struct{ p any }

func (e *corruptError) Error() string { return fmt.Sprintf("state is corrupt: %v", e.p) }

// queue hands fn to the writer and waits for its commit; ErrClosed once
// Close has begun.
func (b *Bolt) queue(fn func(*bolt.Tx) error) error {
	w := writes.Get().(*write)
	w.fn = fn
	select {
	case b.writes <- w:
	case <-b.quit:
		w.fn = nil
		writes.Put(w)
		return ErrClosed
	}
	err := <-w.done
	w.fn = nil
	writes.Put(w)
	return err
}
