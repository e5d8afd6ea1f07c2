package procmgr

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// slowStop is a process whose group ignores SIGTERM, so that its stop
// lasts its whole stop_timeout and requests queue behind it.
func slowStop(alias string) Spec {
	sp := spec(alias, `trap "" TERM; while :; do sleep 0.1; done`)
	sp.StopTimeout = 1500 * time.Millisecond
	return sp
}

// sendInOrder hands ops to p's owner one after the other (each send
// returns once the owner took the request), and returns their answers.
func sendInOrder(t *testing.T, m *Manager, alias string, ops []opKind) []result {
	t.Helper()
	p, ok := m.get(alias)
	if !ok {
		t.Fatalf("no process %s", alias)
	}
	replies := make([]chan result, len(ops))
	for i, op := range ops {
		replies[i] = make(chan result, 1)
		p.reqs <- request{op: op, reply: replies[i]}
	}
	out := make([]result, len(ops))
	for i, c := range replies {
		select {
		case out[i] = <-c:
		case <-time.After(30 * time.Second):
			t.Fatalf("no answer to %s (op %d)", opNames[ops[i]], i)
		}
	}
	return out
}

func TestQueuedAnswersDescribeWhatRunsAfterThem(t *testing.T) {
	cases := [][]opKind{
		{opStop, opRestart},
		{opStop, opStart},
		{opStop, opRestart, opStart},
		{opRestart, opStart},
		{opRestart, opRestart},
		{opStop, opRestart, opStop},
		{opRestart, opStop, opStart},
		{opStop, opStart, opStop, opRestart},
	}
	for _, ops := range cases {
		var names []string
		for _, op := range ops {
			names = append(names, opNames[op])
		}
		t.Run(strings.Join(names, "+"), func(t *testing.T) {
			h := newHarness(t)
			m := h.open(slowStop("p"))
			first := mustStart(t, m, "p")
			got := sendInOrder(t, m, "p", ops)
			final, _ := m.Snapshot("p")
			last := ops[len(ops)-1]
			if last == opStop && final.Running {
				t.Errorf("running after a final stop: %+v", final)
			}
			if last != opStop && (!final.Running || !alive(final.PID)) {
				t.Errorf("not running after a final %s: %+v", opNames[last], final)
			}
			for i, op := range ops {
				r := got[i]
				laterStop := false
				for _, o := range ops[i+1:] {
					laterStop = laterStop || o == opStop
				}
				switch {
				case op == opStop:
					if r.err != nil || r.snap.Running {
						t.Errorf("op %d stop = %+v, %v; want stopped", i, r.snap, r.err)
					}
				case laterStop:
					var se *SupersededError
					if !errors.As(r.err, &se) || !errors.Is(r.err, ErrStopRequested) {
						t.Errorf("op %d %s before a later stop = %+v, %v; want superseded", i, opNames[op], r.snap, r.err)
					}
				default:
					// Nothing after it stops the process: what it answered
					// is what runs now.
					if r.err != nil || r.snap.PID != final.PID || !alive(r.snap.PID) {
						t.Errorf("op %d %s = pid %d, %v; pid %d runs now", i, opNames[op], r.snap.PID, r.err, final.PID)
					}
					if r.snap.PID == first.PID && ops[0] != opStart {
						t.Errorf("op %d %s answered with the instance the first op stopped", i, opNames[op])
					}
				}
			}
		})
	}
}

func TestRestartSupersededByStop(t *testing.T) {
	h := newHarness(t)
	m := h.open(slowStop("obstat2"))
	mustStart(t, m, "obstat2")
	got := sendInOrder(t, m, "obstat2", []opKind{opStop, opRestart, opStop})
	want := "restart of obstat2 was superseded by a stop request"
	if got[1].err == nil || got[1].err.Error() != want {
		t.Errorf("restart = %v, want %q", got[1].err, want)
	}
	if got[0].err != nil || got[2].err != nil || got[2].snap.Running {
		t.Errorf("stops = %v, %v, %+v", got[0].err, got[2].err, got[2].snap)
	}
}

func TestLastErrorAndNextStartTime(t *testing.T) {
	h := newHarness(t)
	sp := spec("p", `printf 'starting\nbind: address\033[31m already in use\n' >&2; exit 1`)
	sp.Autorestart = true
	sp.StartWait = 2 * time.Second
	m := h.open(sp)
	if _, err := m.Start(ctxT(t), "p"); err == nil {
		t.Fatal("start of a failing process succeeded")
	}
	lineRE := regexp.MustCompile(`^exited with status 1 after \d+\.\ds: bind: address\\x1b\[31m already in use$`)
	var s Snapshot
	waitFor(t, "a scheduled restart", func() bool { s, _ = m.Snapshot("p"); return s.Phase == "backoff" })
	if !lineRE.MatchString(s.LastError) {
		t.Errorf("lastError = %q", s.LastError)
	}
	if s.NextStartTime.IsZero() || s.NextStartTime.Before(time.Now().Add(-5*time.Second)) ||
		s.NextStartTime.After(time.Now().Add(2*time.Minute)) {
		t.Errorf("nextStartTime = %v during back-off", s.NextStartTime)
	}
	rec, _, _ := h.store.Get("p")
	if rec.LastError != s.LastError || rec.NextStartTime.IsZero() {
		t.Errorf("record: lastError %q, nextStartTime %v", rec.LastError, rec.NextStartTime)
	}
	s, err := m.Stop(ctxT(t), "p")
	if err != nil || !s.NextStartTime.IsZero() || !lineRE.MatchString(s.LastError) {
		t.Errorf("after stop: %+v, %v; want lastError kept, no nextStartTime", s, err)
	}
	// An agent restart keeps it.
	m = h.open(sp)
	if s, _ = m.Snapshot("p"); !lineRE.MatchString(s.LastError) {
		t.Errorf("after an agent restart: lastError %q", s.LastError)
	}
	// A start that succeeds clears it.
	m = h.open(spec("p", "sleep 1000"))
	if s = mustStart(t, m, "p"); s.LastError != "" || !s.NextStartTime.IsZero() {
		t.Errorf("after a good start: lastError %q, nextStartTime %v", s.LastError, s.NextStartTime)
	}
}

func TestLastErrorOfACommandThatCannotRun(t *testing.T) {
	h := newHarness(t)
	m := h.open(spec("p", "/nonexistent/bin/y --flag"))
	if _, err := m.Start(ctxT(t), "p"); err == nil {
		t.Fatal("started a missing program")
	}
	s, _ := m.Snapshot("p")
	if want := "cannot execute /nonexistent/bin/y: no such file or directory"; s.LastError != want {
		t.Errorf("lastError = %q, want %q", s.LastError, want)
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{"esc \x1b[2J", `esc \x1b[2J`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"bidi \u202e x", `bidi \u202e x`},
		{"ünïcode", "ünïcode"},
		{strings.Repeat("é", 200), strings.Repeat("é", maxErrorLine/2) + "..."},
	}
	for _, tc := range cases {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A restart that arrives while a stop waits for a start in progress gets
// the instance started after that stop, not the one the stop ends.
func TestRestartQueuedBehindStopDuringStart(t *testing.T) {
	h := newHarness(t)
	sp := slowStop("p")
	sp.StartWait = time.Second
	m := h.open(sp)
	got := sendInOrder(t, m, "p", []opKind{opStart, opStop, opRestart})
	final, _ := m.Snapshot("p")
	if got[0].err != nil || got[1].err != nil || got[1].snap.Running {
		t.Fatalf("start = %+v, %v; stop = %+v, %v", got[0].snap, got[0].err, got[1].snap, got[1].err)
	}
	if got[2].err != nil || got[2].snap.PID == got[0].snap.PID || got[2].snap.PID != final.PID || !alive(final.PID) {
		t.Errorf("restart = pid %d, %v; the start got %d, pid %d runs now", got[2].snap.PID, got[2].err, got[0].snap.PID, final.PID)
	}
	if alive(got[0].snap.PID) {
		t.Errorf("the started instance %d outlived the stop", got[0].snap.PID)
	}
}
