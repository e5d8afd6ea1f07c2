package procmgr

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/internal/testdir"
	"github.com/ocp-agent/ocp-agent/procmgr/health"
)

// healthHelper runs the helper modes of the health tests; false for a
// mode it does not know.
func healthHelper(mode string, args []string) bool {
	switch mode {
	case "listen-late":
		// Listens on 127.0.0.1:args[0] only after args[1] (a duration).
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
		l, err := net.Listen("tcp", "127.0.0.1:"+args[0])
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("listening")
		serveConns(l)
		select {}
	case "listen-until":
		// Listens on 127.0.0.1:args[0]; once file args[1] exists, removes
		// it and closes the listener, but keeps running: alive, and no
		// longer answering.
		l, err := net.Listen("tcp", "127.0.0.1:"+args[0])
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		go serveConns(l)
		for {
			if os.Remove(args[1]) == nil {
				l.Close()
				fmt.Println("stopped answering")
				select {}
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "http-status":
		// Serves every request on 127.0.0.1:args[0] with status args[1].
		code, _ := strconv.Atoi(args[1])
		err := http.ListenAndServe("127.0.0.1:"+args[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			fmt.Fprintln(w, "helper says", code)
		}))
		fmt.Println(err)
		os.Exit(1)
	default:
		return false
	}
	return true
}

func serveConns(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// withHealth returns sp with a health check of short timings, yet with
// a start deadline (failures × interval) that a helper slow to listen on a
// loaded machine still meets.
func withHealth(sp Spec, hs HealthSpec) Spec {
	if hs.Interval == 0 {
		hs.Interval = time.Second
	}
	if hs.Timeout == 0 {
		hs.Timeout = 2 * time.Second
	}
	if hs.Failures == 0 {
		hs.Failures = 2
	}
	sp.Health = &hs
	return sp
}

// pidsGone waits until none of the pids written to path (one a line, by
// the test's own checks) runs.
func pidsGone(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the check never ran: %v", err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		waitFor(t, "check pid "+f+" gone", func() bool { return !alive(pid) })
	}
}

// A start with a health check answers once the program listens, not when
// start_wait is over.
func TestHealthStartWaitsForTheFirstPass(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	const late = 1500 * time.Millisecond
	// The interval is long: the retries while starting come sooner.
	sp := withHealth(spec("p", helper(t, "listen-late", port, late.String())), HealthSpec{TCP: "127.0.0.1:" + port, Interval: time.Minute})
	m := h.open(sp)
	if s, _ := m.Snapshot("p"); s.Health != HealthUnknown {
		t.Fatalf("health before any start = %q, want UNKNOWN", s.Health)
	}
	begin := time.Now()
	s := mustStart(t, m, "p")
	if took := time.Since(begin); took < late {
		t.Errorf("start answered after %s, before the program listened (%s)", took, late)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("started, but nothing listens: %v", err)
	}
	c.Close()
	if s.Health != HealthHealthy || s.Phase != "running" {
		t.Errorf("snapshot: health %q, phase %q; want HEALTHY, running", s.Health, s.Phase)
	}
	if s.HealthChecksFailed == 0 || !strings.Contains(s.LastHealthError, "connection refused") {
		t.Errorf("failed checks %d, last error %q: the early checks should have failed", s.HealthChecksFailed, s.LastHealthError)
	}
}

// startThenQuiet starts a server with a TCP check (restart as given),
// checks that it is HEALTHY, then makes it stop answering while it stays
// alive. It returns the manager, the first instance and the port.
func startThenQuiet(t *testing.T, restart bool) (*Manager, Snapshot, string) {
	t.Helper()
	h := newHarness(t)
	h.backoff = Backoff{Min: 2 * time.Second} // long enough to see the back-off
	port := freePort(t)
	quiet := filepath.Join(t.TempDir(), "quiet")
	sp := withHealth(spec("p", helper(t, "listen-until", port, quiet)), HealthSpec{TCP: "127.0.0.1:" + port, Restart: restart})
	m := h.open(sp)
	first := mustStart(t, m, "p")
	if first.Health != HealthHealthy {
		t.Fatalf("health after start = %q", first.Health)
	}
	if err := os.WriteFile(quiet, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return m, first, port
}

// A process that stops answering while it stays alive becomes UNHEALTHY
// and is restarted: stopped, then started after the back-off.
func TestHealthUnhealthyIsRestarted(t *testing.T) {
	m, first, port := startThenQuiet(t, true)
	var s Snapshot
	waitFor(t, "the unhealthy process stopped, its restart scheduled", func() bool {
		s, _ = m.Snapshot("p")
		return s.Phase == "backoff"
	})
	why := "unhealthy after 2 failed checks: tcp 127.0.0.1:" + port + ": connection refused"
	if s.LastError != why || s.NextStartTime.IsZero() || s.Running || alive(first.PID) {
		t.Errorf("during the back-off: lastError %q, next start %v, running %v, first alive %v; want %q, a time, false, false",
			s.LastError, s.NextStartTime, s.Running, alive(first.PID), why)
	}
	waitFor(t, "the unhealthy process restarted and healthy", func() bool {
		s, _ = m.Snapshot("p")
		return s.RestartCount == 1 && s.Running && s.PID != first.PID && s.Health == HealthHealthy
	})
	if alive(first.PID) {
		t.Errorf("the unhealthy instance %d still runs", first.PID)
	}
	if !strings.Contains(s.LastHealthError, "tcp 127.0.0.1:"+port+": connection refused") {
		t.Errorf("last health error %q", s.LastHealthError)
	}
	if s.HealthChecksFailed < 2 {
		t.Errorf("failed checks %d, want at least failures (2)", s.HealthChecksFailed)
	}
}

// With restart: false an unhealthy process is left running, UNHEALTHY.
func TestHealthUnhealthyWithoutRestart(t *testing.T) {
	m, first, _ := startThenQuiet(t, false)
	waitFor(t, "UNHEALTHY", func() bool { s, _ := m.Snapshot("p"); return s.Health == HealthUnhealthy })
	time.Sleep(2500 * time.Millisecond) // more checks than failures
	s, _ := m.Snapshot("p")
	if s.PID != first.PID || !alive(first.PID) || s.RestartCount != 0 || s.Health != HealthUnhealthy {
		t.Errorf("snapshot %+v: want the first instance, running, UNHEALTHY", s)
	}
}

// A process whose HTTP health answers 500 never counts as started: the
// start fails with the check's error, and the process is stopped.
func TestHealthHTTP500FailsTheStart(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	sp := withHealth(spec("p", helper(t, "http-status", port, "500")), HealthSpec{HTTP: "http://127.0.0.1:" + port + "/health", Interval: 2 * time.Second})
	m := h.open(sp)
	_, err := m.Start(ctxT(t), "p")
	var se *StartError
	if !errors.As(err, &se) || se.Unhealthy == nil {
		t.Fatalf("start: %v, want a StartError for an unhealthy process", err)
	}
	// The server may answer late on a loaded machine: the checks go on
	// for 4 s, and the last one meets it.
	want := "start p: not healthy within 4s after start_wait: http GET http://127.0.0.1:" + port + "/health: status 500 Internal Server Error: helper says 500"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q\nwant prefix %q", err, want)
	}
	s, _ := m.Snapshot("p")
	if s.Running || s.PID != 0 {
		t.Errorf("after a failed start: %+v, want nothing running", s)
	}
	if !strings.HasPrefix("start p: "+s.LastError, want) {
		t.Errorf("lastError %q, want it to say %q", s.LastError, want)
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		t.Error("the unhealthy process still listens")
	}
}

// An exec check that hangs is killed with its group at its timeout, and a
// start that never passes one fails and stops the process.
func TestHealthExecHangs(t *testing.T) {
	h := newHarness(t)
	pids := filepath.Join(t.TempDir(), "pids")
	sp := withHealth(spec("p", "sleep 1000"), HealthSpec{
		Exec: "sh -c 'echo $$ >> " + pids + "; sleep 1000 & echo $! >> " + pids + "; wait'", Timeout: 300 * time.Millisecond,
		Interval: time.Second, // the deadline (2 s) leaves time for a check to time out
	})
	m := h.open(sp)
	_, err := m.Start(ctxT(t), "p")
	if err == nil || !strings.Contains(err.Error(), ": timed out after 300ms") {
		t.Fatalf("start: %v, want the check's timeout", err)
	}
	pidsGone(t, pids)
	if s, _ := m.Snapshot("p"); s.Running {
		t.Errorf("the process runs after a failed start: %+v", s)
	}
}

// A stop does not wait for a check in progress: it cancels it.
func TestHealthStopDoesNotWaitForACheck(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	hang, pids := filepath.Join(dir, "hang"), filepath.Join(dir, "pids")
	sp := withHealth(spec("p", "sleep 1000"), HealthSpec{
		Exec:    "sh -c 'if [ -e " + hang + " ]; then echo $$ >> " + pids + "; sleep 1000; fi'",
		Timeout: time.Minute,
	})
	m := h.open(sp)
	mustStart(t, m, "p")
	os.WriteFile(hang, nil, 0o644)
	waitFor(t, "a hanging check", func() bool { _, err := os.Stat(pids); return err == nil })
	begin := time.Now()
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	// The check would hang for a minute: half of it is a generous bound.
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("the stop took %s: it waited for the check", took)
	}
	pidsGone(t, pids)
	if s, _ := m.Snapshot("p"); s.Health != HealthUnknown {
		t.Errorf("health of a stopped process = %q, want UNKNOWN", s.Health)
	}
}

// A stop while a start waits for its first passing check wins at once.
func TestHealthStopDuringTheWait(t *testing.T) {
	h := newHarness(t)
	sp := withHealth(spec("p", "sleep 1000"), HealthSpec{TCP: "127.0.0.1:" + freePort(t), Interval: time.Minute, Failures: 10})
	m := h.open(sp)
	started := make(chan error, 1)
	go func() { _, err := m.Start(ctxT(t), "p"); started <- err }()
	waitFor(t, "a start waiting for its check", func() bool { s, _ := m.Snapshot("p"); return s.HealthChecksFailed > 0 })
	s, err := m.Stop(ctxT(t), "p")
	if err != nil || s.Running {
		t.Fatalf("stop: %+v, %v", s, err)
	}
	if err := <-started; !errors.Is(err, ErrStopRequested) {
		t.Errorf("start: %v, want ErrStopRequested", err)
	}
}

// Two checks of one process never run at once, even across a restart
// that cancels a check whose output is still held open. Each check leaves
// a process in a session of its own (out of reach of the group kill) that
// holds its output for 0.2 s (well within the probe's 1 s wait for its
// output), so the check ends only when that process
// does; a check that finds the one before still alive overlapped it.
func TestHealthChecksNeverOverlap(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	last, overlap := filepath.Join(dir, "last"), filepath.Join(dir, "overlap")
	// Alive, not a zombie: the escaped process is reaped by init, later.
	check := fmt.Sprintf(`sh -c 'p=$(cat %s 2>/dev/null); if [ -n "$p" ] && grep -q "^State:.[^Z]" /proc/$p/status 2>/dev/null; then echo $p >> %s; fi; setsid sh -c "echo \$\$ > %s; sleep 0.2" & sleep 0.05'`,
		last, overlap, last)
	sp := withHealth(spec("p", "sleep 1000"), HealthSpec{Exec: check, Interval: time.Millisecond, Failures: 5000})
	sp.StartWait = 0
	m := h.open(sp)
	mustStart(t, m, "p")
	for i := 0; i < 4; i++ {
		time.Sleep(200 * time.Millisecond) // a check is running, its escaped process alive
		if _, err := m.Restart(ctxT(t), "p"); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(overlap); err == nil {
		t.Fatalf("checks overlapped the ones of pids %s", strings.Fields(string(b)))
	}
	if _, err := os.Stat(last); err != nil {
		t.Fatal("no check ran")
	}
}

var _ health.Check = failing{}

// An instance adopted by the next agent lifetime is checked from the start.
func TestHealthAdoptedIsChecked(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	sp := withHealth(spec("p", helper(t, "listen-late", port, "0s")), HealthSpec{TCP: "127.0.0.1:" + port})
	first := mustStart(t, h.open(sp), "p")
	m := h.open(sp) // the agent restarts
	waitFor(t, "the adopted instance HEALTHY", func() bool {
		s, _ := m.Snapshot("p")
		return s.PID == first.PID && s.Health == HealthHealthy
	})
}

// An exec check runs as the process's user, in its directory, with its
// environment and none of the agent's.
func TestHealthExecRunsAsTheProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a check as another user needs root")
	}
	t.Setenv("OCP_AGENT_TEST_SECRET", "the agent's own")
	dir := testdir.Shared(t)
	h := newHarness(t)
	sp := withHealth(spec("p", "sleep 1000"), HealthSpec{
		Exec: `sh -c 'test "$(id -un)" = nobody && test "$(pwd)" = ` + dir +
			` && test "$OCP_ENV" = prod && test "$OCP_AGENT_PROCESS" = p && test -z "$OCP_AGENT_TEST_SECRET" && test -z "$OCP_AGENT_LAUNCH"'`,
	})
	sp.User, sp.Directory, sp.Environment = "nobody", dir, map[string]string{"OCP_ENV": "prod"}
	m := h.open(sp)
	if s := mustStart(t, m, "p"); s.Health != HealthHealthy {
		t.Fatalf("health %q", s.Health)
	}
	if _, err := m.Stop(ctxT(t), "p"); err != nil {
		t.Fatal(err)
	}
	// The same check as root, elsewhere, without the variable: it fails,
	// so the pass above is the check's own doing.
	sp.User, sp.Directory, sp.Environment = "", "", nil
	sp.Alias, sp.ID = "q", 2
	m = h.open(sp)
	if _, err := m.Start(ctxT(t), "q"); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("start as root: %v, want the check to fail", err)
	}
}
