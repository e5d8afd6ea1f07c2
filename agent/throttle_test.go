package agent

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// fakeClock is a clock the tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestThrottle(clock *fakeClock) *failureThrottle {
	t := newFailureThrottle(zap.NewNop())
	t.now = clock.Now
	return t
}

func TestThrottleSlots(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clock)
	const addr = "192.0.2.1"
	for i := range throttleFree {
		if wait, ok := th.admit(addr, true); wait != 0 || !ok {
			t.Fatalf("free attempt %d: wait %v, ok %v", i, wait, ok)
		}
		th.done(addr, true, true)
	}
	if wait, ok := th.admit(addr, true); wait != 0 || !ok {
		t.Fatalf("the attempt after the free ones waits %v, %v", wait, ok)
	}
	th.done(addr, true, true) // failure 6: slowed from now on
	// Attempts made at the same moment (in parallel) get slots a delay
	// apart: 250ms after failure 6.
	var waits []time.Duration
	for range 3 {
		wait, ok := th.admit(addr, true)
		if !ok {
			t.Fatal("refused")
		}
		waits = append(waits, wait)
	}
	if want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}; fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("parallel waits %v, want %v", waits, want)
	}
	// The delay doubles with each failure, up to the cap.
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{6, 250 * time.Millisecond}, {7, 500 * time.Millisecond}, {8, time.Second}, {10, 4 * time.Second}, {11, 5 * time.Second}, {100, 5 * time.Second}} {
		if got := th.delay(tt.failures); got != tt.want {
			t.Errorf("delay after %d failures %v, want %v", tt.failures, got, tt.want)
		}
	}
	// Other addresses are not affected.
	if wait, ok := th.admit("192.0.2.2", true); wait != 0 || !ok {
		t.Errorf("another address waits %v", wait)
	}
}

func TestThrottleRefusesLongWaits(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clock)
	th.maxInflight = 100 // the slots are tested, not the attempts in flight
	const addr = "192.0.2.1"
	for range 20 {
		th.failed(addr)
	}
	var refused int
	for range 20 {
		if _, ok := th.admit(addr, true); !ok {
			refused++
		}
	}
	// 5 s slots: 0, 5, ... 30 s are admitted, later ones refused unchecked.
	if refused != 13 {
		t.Errorf("%d of 20 parallel attempts refused, want 13", refused)
	}
}

func TestThrottleForgets(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clock)
	const addr = "192.0.2.1"
	for range 8 {
		th.failed(addr)
	}
	if wait, _ := th.admit(addr, true); wait != 0 {
		t.Fatalf("first slot waits %v", wait)
	}
	if wait, _ := th.admit(addr, true); wait == 0 {
		t.Fatal("second slot does not wait")
	}
	clock.advance(throttleWindow + time.Second)
	if n := th.len(); n != 1 {
		t.Errorf("%d addresses remembered with attempts in flight, want 1", n)
	}
	th.done(addr, true, false)
	th.done(addr, true, false)
	if wait, ok := th.admit(addr, true); wait != 0 || !ok {
		t.Errorf("after a quiet window: wait %v, %v", wait, ok)
	}
	if rec := th.addrs[addr]; rec == nil || rec.failures != 0 {
		t.Errorf("failures remembered after their window: %+v", rec)
	}
}

// TestThrottleInflight checks that attempts in flight count before any has
// failed: the one over the cap is refused, and admitted again once one is
// done.
func TestThrottleInflight(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clock)
	const addr = "192.0.2.1"
	for i := range throttleInflight {
		if _, ok := th.admit(addr, true); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if _, ok := th.admit(addr, true); ok {
		t.Fatal("attempt over the cap admitted")
	}
	if _, ok := th.admit(addr, false); !ok {
		t.Error("a cheap attempt refused by the cap of costly ones")
	}
	th.done(addr, false, false)
	if _, ok := th.admit("192.0.2.2", true); !ok {
		t.Error("another address refused")
	}
	th.done(addr, true, false)
	if _, ok := th.admit(addr, true); !ok {
		t.Error("attempt refused after one was done")
	}
}

func TestThrottleBounded(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clock)
	th.limit = 100
	for i := range 1000 {
		clock.advance(time.Millisecond)
		th.failed(fmt.Sprintf("198.51.%d.%d", i/256, i%256))
		if n := th.len(); n > th.limit {
			t.Fatalf("%d addresses remembered, limit %d", n, th.limit)
		}
	}
	// The newest are kept.
	if _, ok := th.addrs["198.51.3.231"]; !ok {
		t.Error("the latest address was evicted")
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:5555", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:5555", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:1", "::ffff:192.0.2.1"},
		{"@", "@"},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			if got := clientAddr(&http.Request{RemoteAddr: tt.remote}); got != tt.want {
				t.Errorf("clientAddr(%q) = %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
}

// TestThrottleOverHTTP checks that an address guessing passwords is slowed
// down and logged, and that other requests are not.
func TestThrottleOverHTTP(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	ts := newTestServer(t, func(c *ServerConfig) { c.Logger = zap.New(core) })
	th := ts.handler.auth.throttle
	th.base, th.maxDelay = 100*time.Millisecond, 100*time.Millisecond

	bad := cred{user: "viewer", password: "guess"}
	start := time.Now()
	for range throttleFree + 1 {
		if r := ts.do(t, "GET", procs, bad); r.status != 401 {
			t.Fatalf("bad password: %d", r.status)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the free failures took %v", d)
	}
	if n := logs.FilterMessage("repeated authentication failures: slowing this address down").Len(); n != 1 {
		t.Errorf("%d slow-down warnings, want 1", n)
	}
	// Four parallel attempts, 100 ms slots: the last one waits 300 ms.
	var wg sync.WaitGroup
	start = time.Now()
	for range 4 {
		wg.Go(func() { ts.do(t, "GET", procs, bad) })
	}
	wg.Wait()
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("4 parallel guesses answered in %v, want at least 300ms", d)
	}
	// Good credentials from the slowed address still work, after their slot.
	if r := ts.do(t, "GET", procs, viewerCred); r.status != 200 {
		t.Errorf("good credentials: %d %s", r.status, r.body)
	}
	// Requests without credentials are not held.
	start = time.Now()
	if r := ts.do(t, "GET", procs, noCred); r.status != 401 || time.Since(start) > time.Second {
		t.Errorf("no credentials: %d after %v", r.status, time.Since(start))
	}
	if r := ts.do(t, "GET", "/healthz", noCred); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}

// TestThrottledRefusal checks the message of an attempt refused unchecked.
func TestThrottledRefusal(t *testing.T) {
	ts := newTestServer(t)
	th := ts.handler.auth.throttle
	th.maxWait = 0
	th.base = time.Hour
	for range throttleFree + 2 {
		ts.do(t, "GET", procs, cred{user: "viewer", password: "guess"})
	}
	r := ts.do(t, "GET", procs, viewerCred)
	if r.status != 401 || r.env.Error == nil || r.env.Error.Code != api.CodeUnauthorized || r.env.Error.Message != errThrottled.Error() {
		t.Errorf("%d %s", r.status, r.body)
	}
}
