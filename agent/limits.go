package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// serverLimits bound what one client can make the HTTP server hold. Each
// connection has a goroutine of its own, so a slow or idle client holds
// only that; these make sure it lets go.
type serverLimits struct {
	// readHeaderTimeout bounds the TLS handshake and the request headers:
	// a client that connects and sends nothing is dropped after it.
	readHeaderTimeout time.Duration
	// idleTimeout drops a keep-alive connection without requests.
	idleTimeout time.Duration
	// maxHeaderBytes bounds the request line and headers (431 beyond).
	maxHeaderBytes int
}

// defaultServerLimits are the agent's. There is deliberately no read or
// write timeout for the whole request: a stop may rightly take its
// stop_timeout plus the SIGKILL wait, and net/http cancels a request's
// context when a read deadline passes. A body is read under a deadline of
// its own instead (checkBody). 8 KiB of headers is what common proxies
// allow; the OCP server sends well under 1 KiB.
var defaultServerLimits = serverLimits{
	readHeaderTimeout: 10 * time.Second,
	idleTimeout:       2 * time.Minute,
	maxHeaderBytes:    8 << 10,
}

// Request limits of the handler, defaults of ServerConfig's.
const (
	// defaultMaxBodyBytes bounds a request body. No route takes one; a
	// small body (a client that always sends "{}") is tolerated.
	defaultMaxBodyBytes = 16 << 10
	// defaultMaxInflight bounds the operations (stop, start, restart) in
	// progress at once. Operations on one process queue to its goroutine;
	// the cap keeps a flood of them from piling up goroutines and timers.
	// The OCP server stops every process of a host at once, one request
	// each, so the cap must exceed the processes a host has; it matches
	// the connection cap, which bounds the goroutines anyway.
	defaultMaxInflight = 1024
)

// bodyReadTimeout bounds the reading of a request body (a variable for the
// tests).
var bodyReadTimeout = 10 * time.Second

// newHTTPServer returns the agent's http.Server for h: HTTP/1.1 only (the
// OCP server needs nothing more, and each protocol is more to defend),
// with the limits above and the peer credentials of unix socket
// connections in each request's context. Connections that have not sent a
// request are closed as soon as a shutdown starts: net/http would wait up
// to 5 s for them, so that a client connecting and saying nothing could hold
// the agent's stop.
func newHTTPServer(h http.Handler, lim serverLimits, log *zap.Logger) *http.Server {
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.readHeaderTimeout,
		IdleTimeout:       lim.idleTimeout,
		MaxHeaderBytes:    lim.maxHeaderBytes,
		ConnContext:       connContext,
		ConnState:         fresh.track,
		ErrorLog:          zap.NewStdLog(log),
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.RegisterOnShutdown(fresh.closeAll)
	return srv
}

// freshConns are the connections that have not sent a request yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// errBodyTooLarge and errBodyUnreadable are checkBody's refusals.
var (
	errBodyTooLarge   = errors.New("request body too large")
	errBodyUnreadable = errors.New("request body unreadable")
)

// checkBody refuses a request whose body is over max bytes. A declared
// length over max is refused at once; any other body is read (and dropped)
// up to max, within bodyReadTimeout, before the request acts: a request
// that would act never waits on a slow body after having acted, and a
// client that declares a body and never sends it is dropped after the
// timeout rather than holding its connection for ever (net/http would wait
// for such a body, without a deadline, after the handler).
func checkBody(w http.ResponseWriter, r *http.Request, max int64) error {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	// Deadlines are unsupported only by the tests' recorders.
	rc := http.NewResponseController(w)
	if r.ContentLength > max {
		// The body is not read. A deadline already past makes net/http
		// close the connection after the answer rather than wait for
		// the rest of a body that may never come.
		_ = rc.SetReadDeadline(time.Now())
		return fmt.Errorf("%w: %d bytes (at most %d)", errBodyTooLarge, r.ContentLength, max)
	}
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, max+1))
	switch {
	case n > max:
		_ = rc.SetReadDeadline(time.Now())
		return fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, max)
	case err != nil:
		_ = rc.SetReadDeadline(time.Now())
		return fmt.Errorf("%w: %v", errBodyUnreadable, err)
	}
	_ = rc.SetReadDeadline(time.Time{})
	return nil
}

// oddlyEncoded reports whether the path a request was sent to is not in
// the canonical encoding: an escaped '/' (".../185%2Fstop"), an escaped
// letter (".../%73top"), lower-case escapes. Routes are matched on the
// decoded path, where those would name a route; they are no route, so that
// what a proxy, a log or a signature sees is what runs. Escapes that must
// be escapes (a space, a NUL) stay, and reach the checks of parameters.
func oddlyEncoded(r *http.Request) bool {
	return r.URL.RawPath != ""
}

// inflight caps the operations in progress.
type inflight chan struct{}

// acquire takes a slot, or returns false at once when all are taken: a
// caller over the cap is told so rather than queued behind the others.
func (c inflight) acquire() (release func(), ok bool) {
	select {
	case c <- struct{}{}:
		return func() { <-c }, true
	default:
		return nil, false
	}
}

// Connection caps of the TCP listener: each open connection costs a
// goroutine and its buffers (some 20–40 KiB), so 1024 of them bound that to
// tens of MiB. The OCP server sends one request per process when it acts on
// all of a host's processes at once, so one address may need hundreds;
// 512 leaves the rest of the overall cap to other clients.
const (
	defaultMaxConns        = 1024
	defaultMaxConnsPerAddr = 512
)

// connLimiter is a net.Listener that caps the connections open at once,
// overall and per client address (an IP, or an IPv6 /64 as the throttle
// counts them). A connection over a cap is closed as soon as accepted,
// before any byte is read: the client sees a reset or an EOF at once
// rather than waiting in the kernel's backlog, and a single address
// cannot take the slots of the others.
type connLimiter struct {
	net.Listener
	max, maxPerAddr int

	// mu guards open and perAddr, updated by Accept and by each
	// connection's Close, from the connections' goroutines.
	mu      sync.Mutex
	open    int
	perAddr map[string]int

	refused atomic.Int64 // connections closed over a cap
}

func newConnLimiter(ln net.Listener, max, maxPerAddr int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, maxPerAddr: maxPerAddr, perAddr: map[string]int{}}
}

// Accept returns the next connection within the caps, closing those over.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := addrKey(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open < l.max && l.perAddr[addr] < l.maxPerAddr
		if ok {
			l.open++
			l.perAddr[addr]++
		}
		l.mu.Unlock()
		if !ok {
			l.refused.Add(1)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *connLimiter) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perAddr[addr]--; l.perAddr[addr] <= 0 {
		delete(l.perAddr, addr)
	}
}

// counts reports the connections open and refused (for tests).
func (l *connLimiter) counts() (open int, refused int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.refused.Load()
}

// limitedConn gives its slot back once closed, however often Close runs.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
