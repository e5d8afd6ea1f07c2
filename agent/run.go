package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// Listeners are the API's listeners, opened by Listen before the agent
// starts anything.
type Listeners struct {
	// TCP is server.listen's listener, speaking TLS when server.tls is
	// set; nil when server.listen is "".
	TCP net.Listener
	// Socket is the local admin socket (server.socket); nil when unset.
	Socket net.Listener
}

// Listen opens the API's listeners. It comes before New, so that a port in
// use, or a socket another agent serves, fails the start before any
// managed process is started: an agent that exits then would leave them
// running unsupervised.
func Listen(cfg *config.Config) (*Listeners, error) {
	ln, err := listenTCP(cfg.Server)
	if err != nil {
		return nil, err
	}
	l := &Listeners{TCP: ln}
	if s := cfg.Server; s.Socket != "" {
		l.Socket, err = listenSocket(socketSpec{path: s.Socket, group: s.SocketGID, hasGroup: s.SocketGroup != ""})
		if err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Close closes the listeners (Serve closes them too); it removes the
// socket file.
func (l *Listeners) Close() {
	if l == nil {
		return
	}
	for _, ln := range []net.Listener{l.TCP, l.Socket} {
		if ln != nil {
			ln.Close()
		}
	}
}

func listenTCP(s config.Server) (net.Listener, error) {
	if s.Listen == "" {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if s.TLS != nil {
		var err error
		if tlsCfg, err = serverTLSConfig(s.TLS); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.Listen, err)
	}
	// Capped below TLS, so that a connection over the cap costs no handshake.
	ln = newConnLimiter(ln, defaultMaxConns, defaultMaxConnsPerAddr)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
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
		AgentUID:     uint32(os.Getuid()),
		SocketGroup:  a.cfg.Server.SocketGroup,
		SocketGID:    a.cfg.Server.SocketGID,
		Containment:  a.containment,
	}, a)
}

// Serve serves the API on the listeners Listen opened (l or either of them
// may be nil; with neither there is nothing to serve) until ctx is done, then
// finishes the requests in flight, waiting at most the longest
// stop_timeout plus the SIGKILL wait, so that a stop under way is
// answered, and removes the socket file. Managed processes are left
// running.
func (a *Agent) Serve(ctx context.Context, l *Listeners) error {
	if l == nil {
		l = &Listeners{}
	}
	ln := l.TCP
	a.socket = l.Socket // Close removes the socket file if Serve did not
	var lns []net.Listener
	for _, l := range []net.Listener{ln, l.Socket} {
		if l != nil {
			lns = append(lns, l)
		}
	}
	if len(lns) == 0 {
		a.log.Warn("server.listen and server.socket are empty: the HTTP API is disabled")
		<-ctx.Done()
		return nil
	}
	h, err := a.handler()
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return err
	}
	srv := newHTTPServer(h, defaultServerLimits, a.log.Named("http"))
	errc := make(chan error, len(lns))
	for _, l := range lns {
		go func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", l.Addr(), err)
			}
		}()
	}
	if ln != nil {
		a.log.Info("serving the API", zap.String("listen", ln.Addr().String()), zap.Bool("tls", a.cfg.Server.TLS != nil),
			zap.Bool("mutual_tls", a.cfg.Server.TLS != nil && a.cfg.Server.TLS.ClientCA != ""))
	}
	if a.socket != nil {
		a.log.Info("serving the API on the local socket", zap.String("socket", a.cfg.Server.Socket),
			zap.String("group", a.cfg.Server.SocketGroup))
	}
	select {
	case err := <-errc:
		srv.Close()
		return err
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
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.stopTimeouts + procmgr.KillWait
}
