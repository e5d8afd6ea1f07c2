package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// target is one manager under test, driven the same way whichever it is.
type target struct {
	name string // sysSupervisor or sysAgent
	pid  int    // the manager's own process
	// list returns the raw answer of the full status call; listed
	// decodes it into aliases, pids and whether each runs.
	list   func() ([]byte, error)
	listed func([]byte) (map[string]listedProc, error)
	stop   func(alias string) error
	start  func(alias string) error
}

type listedProc struct {
	pid     int
	running bool
	ports   string
}

func supervisorTarget(sock string, pid, conns int) *target {
	sv := newSupervisor(sock, conns)
	return &target{
		name: sysSupervisor, pid: pid,
		list: func() ([]byte, error) { return sv.call("supervisor.getAllProcessInfo") },
		listed: func(b []byte) (map[string]listedProc, error) {
			v, err := decodeResponse(b)
			if err != nil {
				return nil, err
			}
			ps, err := parseProcessInfos(v)
			if err != nil {
				return nil, err
			}
			out := map[string]listedProc{}
			for _, p := range ps {
				out[p.Name] = listedProc{pid: p.PID, running: p.State == "RUNNING"}
			}
			return out, nil
		},
		stop: func(alias string) error {
			_, err := sv.do("supervisor.stopProcess", alias, true)
			return err
		},
		start: func(alias string) error {
			_, err := sv.do("supervisor.startProcess", alias, true)
			return err
		},
	}
}

func agentTarget(addr string, pid, conns int, ids map[string]int64) *target {
	ag := newAgent(addr, conns)
	return &target{
		name: sysAgent, pid: pid,
		list: func() ([]byte, error) { return ag.call("GET", "") },
		listed: func(b []byte) (map[string]listedProc, error) {
			ps, err := decodeList(b)
			if err != nil {
				return nil, err
			}
			out := map[string]listedProc{}
			for _, p := range ps {
				lp := listedProc{pid: p.PID, running: p.Status == api.StatusStarted}
				if p.Ports != nil {
					lp.ports = *p.Ports
				}
				out[p.Alias] = lp
			}
			return out, nil
		},
		stop:  func(alias string) error { return ag.op(ids[alias], "stop") },
		start: func(alias string) error { return ag.op(ids[alias], "start") },
	}
}

// waitHealthy waits until the agent's list shows n processes HEALTHY.
func (t *target) waitHealthy(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := t.list()
		healthy := 0
		if err == nil {
			ps, derr := decodeList(b)
			if err = derr; err == nil {
				for _, p := range ps {
					if p.Health != nil && *p.Health == "HEALTHY" {
						healthy++
					}
				}
			}
		}
		if err == nil && healthy >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d of %d healthy after %v (%v)", t.name, healthy, n, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// current lists the processes of t.
func (t *target) current() (map[string]listedProc, error) {
	b, err := t.list()
	if err != nil {
		return nil, err
	}
	return t.listed(b)
}

// waitReady waits until every program runs (and, under the agent, every
// listening one shows its port), within timeout.
func (t *target) waitReady(ps []program, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cur, err := t.current()
		missing := ""
		if err != nil {
			missing = err.Error()
		} else {
			for _, p := range ps {
				lp, ok := cur[p.alias]
				if !ok || !lp.running || (t.name == sysAgent && strings.Contains(p.command, "listen") && lp.ports == "") {
					missing = p.alias + " not running yet"
					break
				}
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready after %v: %s", t.name, timeout, missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// timeList times reps full status calls (after a few untimed ones), and
// returns the manager's CPU time per call too.
func (t *target) timeList(reps int) ([]time.Duration, time.Duration, error) {
	for range 5 {
		if _, err := t.list(); err != nil {
			return nil, 0, err
		}
	}
	c0, err := cpuTime(t.pid)
	if err != nil {
		return nil, 0, err
	}
	ds := make([]time.Duration, 0, reps)
	for range reps {
		t0 := time.Now()
		if _, err := t.list(); err != nil {
			return nil, 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	c1, err := cpuTime(t.pid)
	if err != nil {
		return nil, 0, err
	}
	return ds, (c1 - c0) / time.Duration(reps), nil
}

// coopStops times reps stops of the cooperative program, starting it
// again (untimed) after each.
func (t *target) coopStops(reps int) ([]time.Duration, error) {
	return t.singleStops(aliasCoop, reps)
}

// stubbornStop stops the program that ignores SIGTERM once and returns
// how long after the grace it died (from its own stamp of SIGTERM to its
// exit seen through a pidfd) and the CPU the manager spent meanwhile.
func (t *target) stubbornStop(dir string) (late, cpu time.Duration, err error) {
	cur, err := t.current()
	if err != nil {
		return 0, 0, err
	}
	pid := cur[aliasStubborn].pid
	if pid == 0 {
		return 0, 0, fmt.Errorf("%s: %s not running", t.name, aliasStubborn)
	}
	os.Remove(markFile(dir))
	w, err := watchExit(pid)
	if err != nil {
		return 0, 0, err
	}
	c0, err := cpuTime(t.pid)
	if err != nil {
		return 0, 0, err
	}
	if err := t.stop(aliasStubborn); err != nil {
		return 0, 0, fmt.Errorf("%s: stop: %w", t.name, err)
	}
	c1, err := cpuTime(t.pid)
	if err != nil {
		return 0, 0, err
	}
	exited, err := w.wait(10 * time.Second)
	if err != nil {
		return 0, 0, err
	}
	b, err := os.ReadFile(markFile(dir))
	if err != nil {
		return 0, 0, fmt.Errorf("%s: no SIGTERM stamp: %w", t.name, err)
	}
	termed, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, 0, err
	}
	if err := t.start(aliasStubborn); err != nil {
		return 0, 0, fmt.Errorf("%s: start: %w", t.name, err)
	}
	return time.Duration(exited-termed) - stubbornGrace*time.Second, c1 - c0, nil
}

// loadResult is what a load run measured.
type loadResult struct {
	p99, p50 time.Duration
	served   float64 // answers per second of the run
	failed   int     // errors and requests never sent
	cycles   int     // stop+start cycles done meanwhile
}

// load sends list calls from clients goroutines at rate per second in all,
// each on its own schedule, for d; meanwhile it stops and starts the
// cooperative program and the first listening one, over and over.
// Latency counts from when a request was due, not when it was sent, so
// that a manager that falls behind is not flattered by the clients
// waiting for it. Requests still unsent 20 s after the end are failures.
func (t *target) load(clients, rate int, d time.Duration) (loadResult, error) {
	interval := time.Duration(clients) * time.Second / time.Duration(rate)
	start := time.Now().Add(100 * time.Millisecond)
	end := start.Add(d)
	hard := end.Add(20 * time.Second)
	var mu sync.Mutex
	var lats []time.Duration
	var failed, served int
	var lastDone time.Time
	var firstErr error
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad, ok := 0, 0
			var last time.Time
			for due := start.Add(time.Duration(c) * interval / time.Duration(clients)); due.Before(end); due = due.Add(interval) {
				if time.Now().After(hard) {
					bad++
					continue
				}
				time.Sleep(time.Until(due))
				if _, err := t.list(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					bad++
					continue
				}
				last = time.Now()
				mine = append(mine, last.Sub(due))
				ok++
			}
			mu.Lock()
			lats = append(lats, mine...)
			failed += bad
			served += ok
			if last.After(lastDone) {
				lastDone = last
			}
			mu.Unlock()
		}()
	}
	stopCycling := make(chan struct{})
	var cycles int
	var cycleErr error
	var cwg sync.WaitGroup
	for _, alias := range []string{aliasCoop, "p0001"} {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for {
				select {
				case <-stopCycling:
					return
				default:
				}
				err := t.stop(alias)
				if err == nil {
					err = t.start(alias)
				}
				mu.Lock()
				if err != nil && cycleErr == nil {
					cycleErr = fmt.Errorf("%s: %s cycle: %w", t.name, alias, err)
				}
				if err == nil {
					cycles++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stopCycling)
	cwg.Wait()
	if cycleErr != nil {
		return loadResult{}, cycleErr
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "%s: first failed list: %v\n", t.name, firstErr)
	}
	// An unsent or failed request is slower than any answer.
	all := append(lats, repeat(time.Hour, failed)...)
	took := lastDone.Sub(start)
	return loadResult{
		p99: percentile(all, 99), p50: percentile(all, 50),
		served: float64(served) / max(took.Seconds(), d.Seconds()),
		failed: failed, cycles: cycles,
	}, nil
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// idleCPU returns the share of a core each pid used over d.
func idleCPU(pids []int, d time.Duration) ([]float64, error) {
	c0 := make([]time.Duration, len(pids))
	for i, pid := range pids {
		var err error
		if c0[i], err = cpuTime(pid); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	time.Sleep(d)
	el := time.Since(t0)
	out := make([]float64, len(pids))
	for i, pid := range pids {
		c1, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		out[i] = 100 * float64(c1-c0[i]) / float64(el)
	}
	return out, nil
}

// portsFloor times finding the ports of pids in-process: a socket table
// (from sock_diag, or /proc/net) and the socket fds of each pid, the work
// no manager can skip to report ports.
func portsFloor(pids []int, reps int, table func() (procfs.SocketTable, error)) (time.Duration, error) {
	var ds []time.Duration
	for range reps + 3 {
		t0 := time.Now()
		t, err := table()
		if err != nil {
			return 0, err
		}
		found := 0
		for _, pid := range pids {
			inodes, err := procfs.Default.SocketInodes(pid)
			if err != nil {
				return 0, err
			}
			for _, ino := range inodes {
				if _, ok := t[ino]; ok {
					found++
				}
			}
		}
		ds = append(ds, time.Since(t0))
		if found < len(pids) {
			// A dump of the socket tables is not atomic: a socket may be
			// missed when others come and go meanwhile.
			fmt.Fprintf(os.Stderr, "ports floor: %d ports for %d listening processes\n", found, len(pids))
		}
	}
	return median(ds[3:]), nil
}

// pidfdFloor times SIGKILL to exit seen through a pidfd, on programs of
// its own: what a stop costs at the least.
func pidfdFloor(managed string, reps int) (time.Duration, error) {
	var ds []time.Duration
	for range reps {
		cmd := exec.Command(managed, "-mode", "term")
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		time.Sleep(20 * time.Millisecond)
		w, err := watchExit(cmd.Process.Pid)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return 0, err
		}
		t0 := monotonic()
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return 0, err
		}
		t1, err := w.wait(5 * time.Second)
		cmd.Wait()
		if err != nil {
			return 0, err
		}
		ds = append(ds, time.Duration(t1-t0))
	}
	return median(ds), nil
}

var errUsage = errors.New("usage")

// checkFloor is the CPU, in % of a core, of this process doing over d
// what the agent's TCP checks of ports do and nothing else: every
// interval, on the same grid (multiples of it), one connect to each port
// with the agent's system calls (a non-blocking connect, a poll, SO_ERROR
// unless the connect finished at once, then a close with a reset), all in
// one goroutine.
// No manager can check the same ports for less.
func checkFloor(ports []int, interval, d time.Duration) (float64, error) {
	c0, err := cpuTime(os.Getpid())
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	end := t0.Add(d)
	for {
		next := time.Now().Truncate(interval).Add(interval)
		if next.After(end) {
			break
		}
		time.Sleep(time.Until(next))
		for _, port := range ports {
			if err := connectReset(port); err != nil {
				return 0, fmt.Errorf("check floor: port %d: %w", port, err)
			}
		}
	}
	time.Sleep(time.Until(end))
	c1, err := cpuTime(os.Getpid())
	if err != nil {
		return 0, err
	}
	return 100 * float64(c1-c0) / float64(time.Since(t0)), nil
}

// connectReset connects to 127.0.0.1:port and closes with a reset, as
// the agent's TCP check does.
func connectReset(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err {
	case nil:
		return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	case unix.EINPROGRESS:
	default:
		return err
	}
	// The agent asks without waiting first; on loopback the handshake
	// is over by then, and this wait, for the rare one that is not,
	// returns at once too.
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if n, err := unix.Poll(pfd, 1000); err != nil || n == 0 {
		return fmt.Errorf("connect did not finish: %v", err)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || v != 0 {
		return fmt.Errorf("connect: %v %v", unix.Errno(v), err)
	}
	return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}
