package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// startWait is both managers' start wait in the benchmark's configs
// (supervisord's startsecs): a start is answered once it has passed.
const startWait = time.Second

// burster sends the host-wide operations of the OCP server: every process
// of the host stopped (started, restarted) as one task. The agent gets
// one request per process, all at once, as the server sends them;
// supervisord gets its own one call (stopAllProcesses, startAllProcesses).
// Each returns how long every answer took from the moment the burst began.
type burster struct {
	stopAll, startAll, restartAll func() ([]time.Duration, error)
}

func agentBurster(addr string, ps []program) *burster {
	// One connection per process, as the OCP server sends its requests
	// (the agent takes up to 512 from one address). A client capped
	// below the burst's size would send it in waves, each a start_wait
	// long: the figure would be the client's.
	ag := newAgent(addr, len(ps)+8)
	all := func(op string) func() ([]time.Duration, error) {
		return func() ([]time.Duration, error) {
			took := make([]time.Duration, len(ps))
			errs := make([]error, len(ps))
			var wg sync.WaitGroup
			gate := make(chan struct{})
			var t0 time.Time
			for i, p := range ps {
				wg.Go(func() {
					<-gate
					if op == "" {
						_, errs[i] = ag.call(http.MethodGet, fmt.Sprintf("/%d", p.id))
					} else {
						errs[i] = ag.op(p.id, op)
					}
					took[i] = time.Since(t0)
				})
			}
			t0 = time.Now()
			close(gate)
			wg.Wait()
			return took, firstError(op, errs)
		}
	}
	// The connections opened before anything is timed, as the server's
	// would be.
	warm := all("") // GET .../{id}
	if _, err := warm(); err != nil {
		fmt.Fprintln(os.Stderr, "agent: warming connections:", err)
	}
	return &burster{stopAll: all("stop"), startAll: all("start"), restartAll: all("restart")}
}

func firstError(op string, errs []error) error {
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s %d: %w", op, i, err)
		}
	}
	return nil
}

func supervisorBurster(sock string) *burster {
	sv := newSupervisor(sock, 2)
	one := func(method string) func() ([]time.Duration, error) {
		return func() ([]time.Duration, error) {
			t0 := time.Now()
			if _, err := sv.do(method, true); err != nil {
				return nil, err
			}
			return []time.Duration{time.Since(t0)}, nil
		}
	}
	return &burster{stopAll: one("supervisor.stopAllProcesses"), startAll: one("supervisor.startAllProcesses")}
}

// singleStops times reps stops of one process among the others, starting
// it again (untimed) after each: the reference for the bursts.
func (t *target) singleStops(alias string, reps int) ([]time.Duration, error) {
	var ds []time.Duration
	for range reps {
		t0 := time.Now()
		if err := t.stop(alias); err != nil {
			return nil, fmt.Errorf("%s: stop: %w", t.name, err)
		}
		ds = append(ds, time.Since(t0))
		if err := t.start(alias); err != nil {
			return nil, fmt.Errorf("%s: start: %w", t.name, err)
		}
	}
	return ds, nil
}

// bursts measures, on each manager in turn, a stop of one process, then
// reps rounds of: every process stopped at once, started at once, and
// (the agent) restarted at once, letting the programs settle in between.
func (c *common) bursts(ts []*target, ps []program, reps int) error {
	settle := func() { time.Sleep(2 * time.Second) }
	for _, t := range ts {
		var b *burster
		if t.name == sysAgent {
			b = agentBurster(c.addr, ps)
		} else {
			b = supervisorBurster(svSock(c.dir))
		}
		single, err := t.singleStops(ps[0].alias, 10)
		if err != nil {
			return err
		}
		settle()
		var stopLast, stopMed, startLast, restartLast []time.Duration
		for range reps {
			took, err := b.stopAll()
			if err != nil {
				return fmt.Errorf("%s: stop all: %w", t.name, err)
			}
			stopLast, stopMed = append(stopLast, slices.Max(took)), append(stopMed, median(took))
			if took, err = b.startAll(); err != nil {
				return fmt.Errorf("%s: start all: %w", t.name, err)
			}
			startLast = append(startLast, slices.Max(took)-startWait)
			settle()
			if b.restartAll == nil {
				continue
			}
			if took, err = b.restartAll(); err != nil {
				return fmt.Errorf("%s: restart all: %w", t.name, err)
			}
			restartLast = append(restartLast, slices.Max(took)-startWait)
			settle()
		}
		if err := t.waitReady(ps, time.Minute); err != nil {
			return err
		}
		one := median(single)
		note := ""
		if t.name == sysAgent {
			note = fmt.Sprintf("(median answer %s ms; %.1fx a single stop)", num(ms(median(stopMed))), float64(median(stopLast))/float64(one))
		}
		for _, r := range []struct {
			key  string
			v    time.Duration
			note string
		}{
			{"stop1_of100", one, ""},
			{"burst_stop", median(stopLast), note},
			{"burst_start", median(startLast), ""},
			{"burst_restart", median(restartLast), ""},
		} {
			if r.key == "burst_restart" && len(restartLast) == 0 {
				continue
			}
			if err := c.record(r.key, t.name, ms(r.v), r.note); err != nil {
				return err
			}
		}
	}
	return nil
}

// killFloor times 100 programs of its own, which exit on SIGTERM, all sent
// SIGTERM at once, until the last exit is seen through a pidfd: what any
// manager's stop of all of them costs at the least on this machine (their
// own exits share its cores).
func killFloor(managed string, n, reps int) (time.Duration, error) {
	var ds []time.Duration
	for range reps {
		cmds := make([]*exec.Cmd, n)
		ws := make([]exitWatch, n)
		for i := range cmds {
			cmds[i] = exec.Command(managed, "-mode", "term")
			if err := cmds[i].Start(); err != nil {
				return 0, err
			}
		}
		time.Sleep(2 * time.Second) // let them all start up
		for i, c := range cmds {
			w, err := watchExit(c.Process.Pid)
			if err != nil {
				return 0, err
			}
			ws[i] = w
		}
		t0 := monotonic()
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		var last int64
		for _, w := range ws {
			t, err := w.wait(30 * time.Second)
			if err != nil {
				return 0, err
			}
			last = max(last, t)
		}
		for _, c := range cmds {
			c.Wait()
		}
		ds = append(ds, time.Duration(last-t0))
	}
	return median(ds), nil
}

// startFloor times n programs of its own, the bursts' listening ones,
// started at once (one goroutine each, as a manager's owners would) until
// the last has exec'd: os/exec's Start returns then. A manager's start of
// all of them answers its last no sooner than that after the start wait,
// whatever it does: the forks share the machine's cores with the start-up
// of the programs already exec'd.
func startFloor(managed string, n, reps int) (time.Duration, error) {
	var ds []time.Duration
	for range reps {
		cmds := make([]*exec.Cmd, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range cmds {
			cmds[i] = exec.Command(managed, "-mode", "listen")
			cmds[i].SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			wg.Go(func() {
				<-gate
				errs[i] = cmds[i].Start()
			})
		}
		t0 := time.Now()
		close(gate)
		wg.Wait()
		ds = append(ds, time.Since(t0))
		for i, c := range cmds {
			if errs[i] == nil {
				c.Process.Signal(syscall.SIGTERM)
				c.Wait()
			}
		}
		if err := errors.Join(errs...); err != nil {
			return 0, fmt.Errorf("start floor: %w", err)
		}
		time.Sleep(time.Second) // their exits out of the way
	}
	return median(ds), nil
}

// svSock is supervisord's XML-RPC socket in a phase's directory.
func svSock(dir string) string { return filepath.Join(dir, "sv", "supervisor.sock") }
