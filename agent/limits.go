package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
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
// context when a read deadline passes.
var defaultServerLimits = serverLimits{
	readHeaderTimeout: 10 * time.Second,
	idleTimeout:       2 * time.Minute,
	maxHeaderBytes:    64 << 10,
}

// Request limits of the handler, defaults of ServerConfig's.
const (
	// defaultMaxBodyBytes bounds a request body. No route takes one; a
	// small body (a client that always sends "{}") is tolerated.
	defaultMaxBodyBytes = 16 << 10
	// defaultMaxInflight bounds the operations (stop, start, restart) in
	// progress at once. Operations on one process queue to its goroutine;
	// the cap keeps a flood of them from piling up goroutines and timers.
	defaultMaxInflight = 64
)

// bodyReadTimeout bounds the reading of a body of unknown length (a
// variable for the tests).
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
// length is checked at once; a chunked body is read (and dropped) up to
// max, within bodyReadTimeout, so that a request that would act never
// waits on a slow body after having acted.
func checkBody(w http.ResponseWriter, r *http.Request, max int64) error {
	switch {
	case r.ContentLength > max:
		return fmt.Errorf("%w: %d bytes (at most %d)", errBodyTooLarge, r.ContentLength, max)
	case r.ContentLength >= 0:
		return nil // net/http drops a small body after the handler
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) // unsupported only in tests' recorders
	defer rc.SetReadDeadline(time.Time{})
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, max+1))
	switch {
	case n > max:
		return fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, max)
	case err != nil:
		return fmt.Errorf("%w: %v", errBodyUnreadable, err)
	}
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
