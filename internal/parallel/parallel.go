// Package parallel spreads the iterations of a loop over the cores, on
// helper goroutines started once and parked while there is nothing to
// do: a listing reads thousands of /proc files, each a system call that
// keeps a core busy, and a host's idle cores can share them without the
// listing starting a goroutine.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// helpers are the long-lived goroutines that take shares of loops: one
// fewer than the cores Go uses, since the caller of For works too.
var helpers struct {
	once sync.Once
	jobs chan *loop
	n    int
}

func start() {
	helpers.n = runtime.GOMAXPROCS(0) - 1
	helpers.jobs = make(chan *loop, helpers.n)
	for range helpers.n {
		go func() {
			for l := range helpers.jobs {
				l.work()
			}
		}()
	}
}

// loop is one call of For.
type loop struct {
	n    int
	f    func(i int)
	next atomic.Int64 // the next iteration to take
	left atomic.Int64 // iterations not finished yet
	done chan struct{}
}

// work runs iterations until none is left to take.
func (l *loop) work() {
	for {
		i := int(l.next.Add(1) - 1)
		if i >= l.n {
			return
		}
		l.f(i)
		if l.left.Add(-1) == 0 {
			close(l.done)
		}
	}
}

// For runs f(0) ... f(n-1), each once, on the calling goroutine and on
// whichever helpers are free, and returns when all have returned. The
// iterations must be independent. Helpers busy with another loop are not
// waited for: the caller then does more of the work itself. Below minN
// iterations, or on one core, the loop simply runs on the caller.
func For(n, minN int, f func(i int)) {
	helpers.once.Do(start)
	if n < max(minN, 2) || helpers.n == 0 {
		for i := range n {
			f(i)
		}
		return
	}
	l := &loop{n: n, f: f, done: make(chan struct{})}
	l.left.Store(int64(n))
	for range min(helpers.n, n-1) {
		select {
		case helpers.jobs <- l:
		default: // all busy: no wait for them
		}
	}
	l.work()
	<-l.done
}
