package agent

import (
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// failureThrottle slows down password guessing: once an address has failed
// to authenticate more than free times in a row (failures older than window
// are forgotten), each of its further attempts gets a slot of its own, delay
// apart, the delay doubling with every failure up to maxDelay. Slots make
// the limit hold for parallel attempts too: a hundred connections from one
// address still get one guess per slot. A request whose slot is more than
// maxWait away is refused at once rather than held.
//
// Requests from a slowed address that carry good credentials wait too: the
// agent cannot tell them apart before checking. Success does not clear the
// record either, so that holding one (say, a viewer's) password does not
// help guessing another's.
type failureThrottle struct {
	free     int
	base     time.Duration
	maxDelay time.Duration
	maxWait  time.Duration
	window   time.Duration
	limit    int // addresses remembered
	now      func() time.Time
	log      *zap.Logger

	mu    sync.Mutex
	addrs map[string]*failureRecord
}

// failureRecord is what the throttle remembers of one address.
type failureRecord struct {
	failures int
	last     time.Time // of the last failure
	next     time.Time // the earliest free slot
}

// Defaults of failureThrottle: five free failures a minute, then 250 ms
// doubling up to 5 s between attempts; 4096 addresses take well under 1 MiB.
const (
	throttleFree     = 5
	throttleBase     = 250 * time.Millisecond
	throttleMaxDelay = 5 * time.Second
	throttleMaxWait  = 30 * time.Second
	throttleWindow   = time.Minute
	throttleAddrs    = 4096
)

func newFailureThrottle(log *zap.Logger) *failureThrottle {
	return &failureThrottle{
		free: throttleFree, base: throttleBase, maxDelay: throttleMaxDelay, maxWait: throttleMaxWait,
		window: throttleWindow, limit: throttleAddrs, now: time.Now, log: log,
		addrs: map[string]*failureRecord{},
	}
}

// admit returns how long an attempt from addr must wait before its
// credentials are checked, and false when that is more than maxWait: the
// attempt is then refused unchecked.
func (t *failureThrottle) admit(addr string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	rec := t.current(addr, now)
	if rec == nil || rec.failures <= t.free {
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
	return wait, true
}

// failed records a failed attempt from addr, and logs the moment it starts
// to be slowed down.
func (t *failureThrottle) failed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	rec := t.current(addr, now)
	if rec == nil {
		t.evict(now)
		rec = &failureRecord{}
		t.addrs[addr] = rec
	}
	rec.failures++
	rec.last = now
	if rec.failures == t.free+1 {
		t.log.Warn("repeated authentication failures: slowing this address down",
			zap.String("remote", addr), zap.Int("failures", rec.failures), zap.Duration("window", t.window))
	}
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
// older than the window. t.mu must be held.
func (t *failureThrottle) current(addr string, now time.Time) *failureRecord {
	rec, ok := t.addrs[addr]
	if !ok {
		return nil
	}
	if now.Sub(rec.last) > t.window && !rec.next.After(now) {
		delete(t.addrs, addr)
		return nil
	}
	return rec
}

// evict makes room for one more address: it drops the expired records, and
// when none has expired, the one whose last failure is oldest. t.mu must be
// held.
func (t *failureThrottle) evict(now time.Time) {
	if len(t.addrs) < t.limit {
		return
	}
	var oldest string
	for addr, rec := range t.addrs {
		if now.Sub(rec.last) > t.window && !rec.next.After(now) {
			delete(t.addrs, addr)
			continue
		}
		if oldest == "" || rec.last.Before(t.addrs[oldest].last) {
			oldest = addr
		}
	}
	if len(t.addrs) >= t.limit {
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
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
