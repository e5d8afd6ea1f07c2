package agent

import (
	"errors"
	"sync"
)

// shared runs a computation for concurrent callers and lets those that
// asked before a run started share its result: a caller never gets the
// result of a run that started before it asked, so nobody sees data older
// than their request. At most one run is under way at a time, and the
// callers that arrive meanwhile all wait for the one next run; so a burst
// of N listings costs at most two observation passes, not N.
//
// A run happens on the goroutine of one of its callers: no goroutine is
// started, and nothing runs while nobody asks. The zero value is ready.
type shared[T any] struct {
	mu      sync.Mutex
	running bool
	next    *sharedRun[T] // the run that starts when the current one ends
}

// sharedRun is one run and its result.
type sharedRun[T any] struct {
	turn chan struct{} // one token: the waiter that takes it does the run
	done chan struct{} // closed with val and err set
	val  T
	err  error
}

// errSharedPanicked is what the callers sharing a run get when it
// panicked; the caller that did the run gets the panic.
var errSharedPanicked = errors.New("a shared run panicked")

// do returns the result of fn run after the call began, sharing the run
// with every caller that called before it started. The callers of one
// shared instance must pass equivalent functions.
func (s *shared[T]) do(fn func() (T, error)) (T, error) {
	s.mu.Lock()
	if !s.running {
		s.running = true
		s.mu.Unlock()
		r := &sharedRun[T]{done: make(chan struct{})}
		s.lead(r, fn)
		return r.val, r.err
	}
	// A run is under way, started before this call: wait for the next.
	if s.next == nil {
		s.next = &sharedRun[T]{turn: make(chan struct{}, 1), done: make(chan struct{})}
	}
	r := s.next
	s.mu.Unlock()
	select {
	case <-r.turn:
		s.lead(r, fn)
	case <-r.done:
	}
	return r.val, r.err
}

// lead does run r, then hands the turn to the next run, if anybody waits
// for one, whatever fn did.
func (s *shared[T]) lead(r *sharedRun[T], fn func() (T, error)) {
	finished := false
	defer func() {
		if !finished {
			r.err = errSharedPanicked
		}
		close(r.done)
		s.mu.Lock()
		next := s.next
		s.next = nil
		s.running = next != nil
		s.mu.Unlock()
		if next != nil {
			next.turn <- struct{}{}
		}
	}()
	r.val, r.err = fn()
	finished = true
}
