package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
	"github.com/ocp-agent/ocp-agent/config"
)

// passwordEnv holds the password of --user: an environment variable rather
// than a flag, so that it does not show in ps(1) or the shell's history.
const passwordEnv = "OCP_AGENT_PASSWORD"

// userEnv is the default of --user.
const userEnv = "OCP_AGENT_USER"

// agentFlags are the flags of the commands that talk to the running agent.
type agentFlags struct {
	config string
	user   string
	errOut func() io.Writer // the command's stderr, for fallbackConfig
}

func addAgentFlags(cmd *cobra.Command) *agentFlags {
	f := &agentFlags{errOut: cmd.ErrOrStderr}
	cmd.Flags().StringVar(&f.config, "config", defaultConfig(), "config file of the agent to talk to"+configDefaultHelp)
	hideDefault(cmd, "config")
	cmd.MarkFlagFilename("config", "yaml", "yml")
	cmd.Flags().StringVar(&f.user, "user", os.Getenv(userEnv),
		"user of auth.users to call server.listen as (default $"+userEnv+", else the first configured user); the password is $"+passwordEnv)
	return f
}

// agentConn is a client of the running agent, with the config it was found
// through.
type agentConn struct {
	cfg   *config.Config
	c     *client.Client
	where string // the socket or address, for messages
	sock  bool   // over server.socket: the caller's uid is the credential
}

// connect loads the config and returns a client of the agent it describes:
// over server.socket when set (the peer's uid is the credential), else over
// server.listen with Basic credentials.
func (f *agentFlags) connect() (*agentConn, error) {
	cfg, err := loadConfig(f.config)
	if err != nil {
		if cfg = f.fallbackConfig(err); cfg == nil {
			return nil, err
		}
	}
	if s := cfg.Server.Socket; s != "" {
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", s)
		}
		hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
		return &agentConn{cfg: cfg, where: s, sock: true, c: client.New("http://ocp-agent", client.WithHTTPClient(hc))}, nil
	}
	if cfg.Server.Listen == "" {
		return nil, &exitError{exitConfig, fmt.Errorf("%s: server.listen and server.socket are both empty: the agent serves no API to talk to", cfg.File)}
	}
	addr := dialAddress(cfg.Server.Listen)
	opts := []client.Option{}
	scheme := "http://"
	if cfg.Server.TLS != nil {
		tc, err := pinnedTLS(cfg.Server.TLS)
		if err != nil {
			return nil, err
		}
		scheme = "https://"
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}))
	}
	if !cfg.Auth.Disabled {
		user, password, err := f.credentials(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithBasicAuth(user, password))
	}
	return &agentConn{cfg: cfg, where: addr, c: client.New(scheme+addr, opts...)}, nil
}

// dialAddress turns a listen address into one to dial: a listener on every
// interface is reached through loopback.
func dialAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// credentials picks the user and password for server.listen. Without
// OCP_AGENT_PASSWORD, a password the config holds in plain text is used:
// whoever reads the config could use it anyway.
func (f *agentFlags) credentials(cfg *config.Config) (string, string, error) {
	if len(cfg.Auth.Users) == 0 {
		return "", "", &exitError{exitConfig, fmt.Errorf("%s: auth.users is empty: the agent accepts no credentials on %s; configure server.socket for local admin", cfg.File, cfg.Server.Listen)}
	}
	name := f.user
	if name == "" {
		name = cfg.Auth.Users[0].Name
	}
	i := slices.IndexFunc(cfg.Auth.Users, func(u config.User) bool { return u.Name == name })
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return name, pw, nil
	}
	if i < 0 {
		return "", "", usageError("no user %q in auth.users of %s", name, cfg.File)
	}
	if pw := cfg.Auth.Users[i].Password; !strings.HasPrefix(pw, "$2") {
		return name, pw, nil
	}
	return "", "", usageError("set %s to the password of user %q (the config holds only its bcrypt hash)", passwordEnv, name)
}

// explain turns a failed call into a one-line reason an operator can act on.
func (a *agentConn) explain(doing string, err error) error {
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Code == api.CodeUnauthorized && a.sock:
		return fmt.Errorf("%s: the agent at %s does not accept uid %d (%v): %s", doing, a.where, os.Getuid(), ae, a.runAsHint())
	case errors.As(err, &ae) && ae.Code == api.CodeForbidden && a.sock:
		hint := "run as root"
		if g := a.cfg.Server.SocketGroup; g != "" {
			hint += fmt.Sprintf(" (members of socket_group %q may only read)", g)
		}
		return fmt.Errorf("%s: %v: %s", doing, ae, hint)
	case errors.As(err, &ae) && ae.Code == api.CodeUnauthorized:
		return fmt.Errorf("%s: the agent at %s refused the credentials (%v); check --user and %s", doing, a.where, ae, passwordEnv)
	case errors.As(err, &ae):
		return fmt.Errorf("%s: %w", doing, err)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: permission denied on %s: %s", doing, a.where, a.runAsHint())
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%s: the agent is not running at %s (from %s): start it with 'systemctl start ocp-agent' or 'ocp-agent run'", doing, a.where, a.cfg.File)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%s: the agent at %s closed the connection before answering", doing, a.where)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: interrupted; the agent goes on with it", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// explainOp is explain for a stop, start or restart, whose request may
// have reached the agent even when no answer came back.
func (a *agentConn) explainOp(op, alias string, err error) error {
	e := a.explain(op+" "+alias, err)
	if closedEarly(err) {
		return fmt.Errorf("%w; the %s may or may not have happened — check with 'ocp-agent ps'", e, op)
	}
	return e
}

// closedEarly says whether err is the agent hanging up without an answer.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// runAsHint says who may use the agent's socket.
func (a *agentConn) runAsHint() string {
	if g := a.cfg.Server.SocketGroup; g != "" {
		return fmt.Sprintf("run as root, or as a member of socket_group %q to read", g)
	}
	return "run as root (server.socket_group is not set, so no other group may use the socket)"
}

// list returns every process of the agent.
func (a *agentConn) list(ctx context.Context) ([]api.HostAgentProcess, error) {
	l, err := a.c.List(ctx, a.cfg.Host.ID)
	if err != nil {
		return nil, a.explain("list processes", err)
	}
	return l.Contents, nil
}
