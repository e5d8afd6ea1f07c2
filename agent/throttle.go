package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
)

// failureThrottle slows down password guessing: once an address has failed
// to authenticate more than free times in a row (failures older than window
// are forgotten), each of its further attempts gets a slot of its own, delay
// apart, the delay doubling with every failure up to maxDelay. Slots make
// the limit hold for parallel attempts too: a hundred connections from one
// address still get one guess per slot. A request whose slot is more than
// maxWait away is refused at once rather than held.
//
// Failures are known only once checked, so costly attempts (a bcrypt
// comparison) in flight are counted too: an address with maxInflight of
// them being checked (or waiting for their slot) has any further one
// refused at once, before its bcrypt runs. Without that, a burst of
// parallel guesses would all be checked before the first failure was
// recorded. Cheap checks (a signature, a plain password) take microseconds
// and are not capped: a burst of signed requests from the OCP server must
// not be refused because the host is busy.
//
// Requests from a slowed address that carry good credentials wait too: the
// agent cannot tell them apart before checking, unless they were verified
// before (see verifiedCache). Success does not clear the record either, so
// that holding one (say, a viewer's) password does not help guessing
// another's.
type failureThrottle struct {
	free        int
	maxInflight int
	base        time.Duration
	maxDelay    time.Duration
	maxWait     time.Duration
	window      time.Duration
	limit       int // addresses remembered
	now         func() time.Time
	log         *zap.Logger

	mu    sync.Mutex
	addrs map[string]*failureRecord
}

// failureRecord is what the throttle remembers of one address.
type failureRecord struct {
	failures int
	inflight int       // attempts admitted and not done
	last     time.Time // of the last failure
	next     time.Time // the earliest free slot
}

// Defaults of failureThrottle: five free failures a minute, then 250 ms
// doubling up to 5 s between attempts; four attempts in flight per address
// (an OCP server's burst shares one check, see verifiedCache); 4096
// addresses take well under 1 MiB.
const (
	throttleFree     = 5
	throttleInflight = 4
	throttleBase     = 250 * time.Millisecond
	throttleMaxDelay = 5 * time.Second
	throttleMaxWait  = 30 * time.Second
	throttleWindow   = time.Minute
	throttleAddrs    = 4096
)

func newFailureThrottle(log *zap.Logger) *failureThrottle {
	return &failureThrottle{
		free: throttleFree, maxInflight: throttleInflight, base: throttleBase, maxDelay: throttleMaxDelay, maxWait: throttleMaxWait,
		window: throttleWindow, limit: throttleAddrs, now: time.Now, log: log,
		addrs: map[string]*failureRecord{},
	}
}

// admit returns how long an attempt from addr must wait before its
// credentials are checked, and false when the attempt is refused unchecked:
// a costly one when addr has maxInflight costly ones in flight already, or
// any whose slot is more than maxWait away. An admitted attempt must be
// ended by done, with the same costly.
func (t *failureThrottle) admit(addr string, costly bool) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	rec := t.record(addr, now)
	if costly && rec.inflight >= t.maxInflight {
		return 0, false
	}
	if rec.failures <= t.free {
		if costly {
			rec.inflight++
		}
		return 0, true
	}
	slot := rec.next
	if slot.Before(now) {
		slot = now
	}
	wait := slot.Sub(now)
	if wait > t.maxWait {
		return wait, false
	}
	rec.next = slot.Add(t.delay(rec.failures))
	if costly {
		rec.inflight++
	}
	return wait, true
}

// done ends an attempt admit let through, recording whether it failed.
func (t *failureThrottle) done(addr string, costly, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	rec := t.record(addr, now)
	if costly && rec.inflight > 0 {
		rec.inflight--
	}
	if failed {
		t.failedLocked(addr, rec, now)
	}
}

// failed records a failed attempt from addr that admit did not let through
// (a malformed header: nothing to check, but a sign of probing).
func (t *failureThrottle) failed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.failedLocked(addr, t.record(addr, now), now)
}

// failedLocked counts a failure, and logs the moment addr starts to be
// slowed down. t.mu must be held.
func (t *failureThrottle) failedLocked(addr string, rec *failureRecord, now time.Time) {
	rec.failures++
	rec.last = now
	if rec.failures == t.free+1 {
		t.log.Warn("repeated authentication failures: slowing this address down",
			zap.String("remote", addr), zap.Int("failures", rec.failures), zap.Duration("window", t.window))
	}
}

// record returns addr's record, making one (and room for it) when there is
// none. t.mu must be held.
func (t *failureThrottle) record(addr string, now time.Time) *failureRecord {
	if rec := t.current(addr, now); rec != nil {
		return rec
	}
	t.evict(now)
	rec := &failureRecord{last: now}
	t.addrs[addr] = rec
	return rec
}

// delay is the spacing of attempts after n failures.
func (t *failureThrottle) delay(n int) time.Duration {
	d := t.base
	for i := t.free + 1; i < n && d < t.maxDelay; i++ {
		d *= 2
	}
	return min(d, t.maxDelay)
}

// current returns addr's record, forgetting it when its last failure is
// older than the window and nothing is in flight. t.mu must be held.
func (t *failureThrottle) current(addr string, now time.Time) *failureRecord {
	rec, ok := t.addrs[addr]
	if !ok {
		return nil
	}
	if t.expired(rec, now) {
		delete(t.addrs, addr)
		return nil
	}
	return rec
}

// expired reports whether rec can be forgotten. t.mu must be held.
func (t *failureThrottle) expired(rec *failureRecord, now time.Time) bool {
	return rec.inflight == 0 && now.Sub(rec.last) > t.window && !rec.next.After(now)
}

// evict makes room for one more address: it drops the expired records, and
// when none has expired, the one whose last failure is oldest among those
// with nothing in flight (records with attempts in flight are at most one
// per open connection, which maxConns bounds). t.mu must be held.
func (t *failureThrottle) evict(now time.Time) {
	if len(t.addrs) < t.limit {
		return
	}
	var oldest string
	for addr, rec := range t.addrs {
		if t.expired(rec, now) {
			delete(t.addrs, addr)
			continue
		}
		if rec.inflight == 0 && (oldest == "" || rec.last.Before(t.addrs[oldest].last)) {
			oldest = addr
		}
	}
	if len(t.addrs) >= t.limit && oldest != "" {
		delete(t.addrs, oldest)
	}
}

// len reports how many addresses are remembered (for tests).
func (t *failureThrottle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.addrs)
}

// clientAddr is the address a request is throttled by: its IP, or for IPv6
// its /64, which one host can usually fill at will.
func clientAddr(r *http.Request) string {
	return addrKey(r.RemoteAddr)
}

// addrKey is the host part of a "host:port" address, or its /64 for IPv6;
// anything else (a unix socket's address) as it is.
func addrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// errAuthBusy refuses, unchecked, an attempt that would have to queue
// behind too many bcrypt comparisons. It is sent as errThrottled: to the
// caller both mean "too many attempts, try again later".
var errAuthBusy = fmt.Errorf("bcrypt comparisons all busy: %w", errThrottled)

// bcryptGate bounds the bcrypt comparisons running at once, whatever
// address they come from: each takes 50–100 ms of a CPU at cost 10, and
// many addresses each within their own throttle could otherwise take all
// the CPUs from the processes the agent manages. A few more may wait for a
// slot; beyond them an attempt is refused at once rather than queued, so
// that waiting attempts hold no more than a bounded set of goroutines.
type bcryptGate struct {
	slots      chan struct{}
	maxWaiting int32
	waiting    atomic.Int32

	// runs and peak count comparisons and the most run at once (for
	// tests and the benchmarks).
	runs    atomic.Int64
	running atomic.Int32
	peak    atomic.Int32
}

// newBcryptGate allows half the CPUs (at least one) to compare at once,
// with four waiting per slot.
func newBcryptGate() *bcryptGate {
	n := max(1, runtime.GOMAXPROCS(0)/2)
	return &bcryptGate{slots: make(chan struct{}, n), maxWaiting: int32(4 * n)}
}

// compare reports whether password matches hash, as
// bcrypt.CompareHashAndPassword does, once a slot is free: errAuthBusy when
// too many wait already, ctx's error when the caller gave up waiting.
func (g *bcryptGate) compare(ctx context.Context, hash, password []byte) (bool, error) {
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return false, errAuthBusy
	}
	select {
	case g.slots <- struct{}{}:
		g.waiting.Add(-1)
	case <-ctx.Done():
		g.waiting.Add(-1)
		return false, fmt.Errorf("wait for bcrypt: %w", ctx.Err())
	}
	defer func() { <-g.slots }()
	g.runs.Add(1)
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	return bcrypt.CompareHashAndPassword(hash, password) == nil, nil
}
