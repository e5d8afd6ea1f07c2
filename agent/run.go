package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/procmgr"
)

// HTTP server limits: a slow or idle client must not hold the agent.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Listen opens the API's TCP listener, or returns nil when server.listen
// is "". It is separate from Serve so that a port in use fails the start
// before anything else is done.
func (a *Agent) Listen() (net.Listener, error) {
	if a.cfg.Server.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", a.cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a.cfg.Server.Listen, err)
	}
	return ln, nil
}

// handler returns the HTTP API. It registers the HTTP metrics, so it is
// built once, by Serve.
func (a *Agent) handler() (http.Handler, error) {
	users := make([]User, len(a.cfg.Auth.Users))
	for i, u := range a.cfg.Auth.Users {
		users[i] = User{Name: u.Name, Password: u.Password, Permissions: u.Permissions}
	}
	return newHandler(ServerConfig{
		HostID:       a.cfg.Host.ID,
		ServerName:   a.cfg.Server.Name,
		Users:        users,
		AuthDisabled: a.cfg.Auth.Disabled,
		Registry:     a.registry,
		Logger:       a.log,
	}, a)
}

// Serve serves the API on ln (which may be nil: nothing to serve) until
// ctx is done, then finishes the requests in flight, waiting at most the
// longest stop_timeout plus the SIGKILL wait, so that a stop under way is
// answered. Managed processes are left running.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		a.log.Warn("server.listen is empty: the HTTP API is disabled")
		<-ctx.Done()
		return nil
	}
	h, err := a.handler()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(a.log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("serving the API", zap.String("listen", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	grace := a.shutdownGrace()
	a.log.Info("shutting down: finishing requests in flight", zap.Duration("within", grace))
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
		return fmt.Errorf("shut down the API: %w", err)
	}
	return nil
}

// shutdownGrace is the longest stop_timeout plus 5 s.
func (a *Agent) shutdownGrace() time.Duration {
	var longest time.Duration
	for _, p := range a.cfg.Processes {
		longest = max(longest, p.StopTimeout)
	}
	return longest + procmgr.KillWait
}
