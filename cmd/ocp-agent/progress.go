package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// progressEvery is how often the progress line is updated; nothing is
// printed for an operation done within the first period.
const progressEvery = time.Second

// progress tells the person waiting for a stop or a start what the agent is
// doing: the request itself is answered only at the end.
type progress struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
	tty    bool
	w      io.Writer
	wrote  bool
}

// startProgress polls the process every progressEvery while op runs, and
// prints a line about it on w: rewritten in place on a terminal, one line
// per update elsewhere.
func startProgress(ctx context.Context, conn *agentConn, op string, p api.HostAgentProcess, spec config.Process, w *os.File) *progress {
	ctx, cancel := context.WithCancel(ctx)
	pr := &progress{cancel: cancel, tty: isTerminal(w), w: w}
	began := time.Now()
	every(ctx, &pr.done, func(ctx context.Context) {
		if cur, err := conn.c.Get(ctx, conn.cfg.Host.ID, p.ID); err == nil {
			pr.print(progressLine(op, p, *cur, spec, time.Since(began)))
		}
	})
	return pr
}

// every calls fn every progressEvery, in a goroutine of its own that wg
// waits for, until ctx is done.
func every(ctx context.Context, wg *sync.WaitGroup, fn func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// progressLine says how long op has taken and what comes next.
func progressLine(op string, before, cur api.HostAgentProcess, spec config.Process, took time.Duration) string {
	s := fmt.Sprintf("%s %s: %s", op, before.Alias, took.Truncate(time.Second))
	stopping := op == "stop" || (op == "restart" && cur.PID == before.PID && cur.PID > 0)
	switch {
	case stopping && cur.PID > 0 && took < spec.StopTimeout:
		return fmt.Sprintf("%s, waiting for pid %d to exit (SIGKILL in %s, at stop_timeout %s)",
			s, cur.PID, (spec.StopTimeout - took).Round(time.Second), spec.StopTimeout)
	case stopping && cur.PID > 0:
		return fmt.Sprintf("%s, pid %d outlived stop_timeout %s: SIGKILL sent, waiting up to %s more",
			s, cur.PID, spec.StopTimeout, procmgr.KillWait)
	case stopping && took < spec.StopTimeout:
		return fmt.Sprintf("%s, waiting for the rest of its process group to exit (SIGKILL in %s)",
			s, (spec.StopTimeout - took).Round(time.Second))
	case stopping:
		return s + ", SIGKILL sent to its process group, waiting for it to be gone"
	case cur.PID > 0:
		return fmt.Sprintf("%s, pid %d is up; it counts as started after start_wait %s", s, cur.PID, spec.StartWait)
	}
	return s + ", starting"
}

func (pr *progress) print(line string) {
	if pr.tty {
		fmt.Fprintf(pr.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(pr.w, line)
	}
	pr.wrote = true
}

// end stops the updates and clears the line on a terminal. A nil progress
// (none was shown) is fine.
func (pr *progress) end() {
	if pr == nil {
		return
	}
	pr.cancel()
	pr.done.Wait()
	if pr.tty && pr.wrote {
		fmt.Fprint(pr.w, "\r\033[K")
	}
}

// isTerminal says whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// pending is the line on a terminal that says which of several operations
// are still waiting, e.g. "stop: 3 of 5 done, waiting for a, b (4s)". It is
// drawn on status only when that is a terminal: a pipe gets just the result
// lines. mu guards left: the ticker goroutine and the result loop both
// redraw.
type pending struct {
	op     string
	w      io.Writer
	began  time.Time
	total  int
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	left []string // aliases still waiting, "" once done
	n    int      // how many are done
}

func newPending(op string, ts []target, status *os.File, show bool) *pending {
	pd := &pending{op: op, began: time.Now(), total: len(ts), left: make([]string, len(ts))}
	for i, t := range ts {
		pd.left[i] = t.p.Alias
		if t.err != nil {
			pd.left[i] = t.name
		}
	}
	if !show || !isTerminal(status) {
		return pd
	}
	pd.w = status
	ctx, cancel := context.WithCancel(context.Background())
	pd.cancel = cancel
	every(ctx, &pd.wg, func(context.Context) { pd.redraw() })
	return pd
}

// finished marks target i done and clears the line, so that its result
// line can be printed in its place.
func (pd *pending) finished(i int) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.left[i] = ""
	pd.n++
	if pd.w != nil {
		fmt.Fprint(pd.w, "\r\033[K")
	}
}

// redraw writes the line anew with what is left.
func (pd *pending) redraw() {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.w == nil || pd.n == pd.total {
		return
	}
	var names []string
	for _, a := range pd.left {
		if a != "" {
			names = append(names, a)
		}
	}
	fmt.Fprintf(pd.w, "\r\033[K%s: %d of %d done, waiting for %s (%s)", pd.op, pd.n, pd.total,
		strings.Join(names, ", "), time.Since(pd.began).Truncate(time.Second))
}

// stop ends the updates and clears the line.
func (pd *pending) stop() {
	if pd.cancel == nil {
		return
	}
	pd.cancel()
	pd.wg.Wait()
	fmt.Fprint(pd.w, "\r\033[K")
}
