package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent"
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/internal/memtrim"
	"github.com/ocp-agent/ocp-agent/internal/safedir"
)

// loadConfig loads the config, marking every failure as a config error
// (exit status 2).
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &exitError{exitConfig, err}
	}
	return cfg, nil
}

// run is the daemon's life: check, listen, adopt, serve, and on SIGTERM/SIGINT finish the
// requests in flight and return, leaving managed processes running.
func run(cfg *config.Config, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Caught before anything else: SIGHUP's default action would kill the
	// agent. Signals that arrive before the agent is up wait in the channel.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// Nothing is started before the checks that can fail the start: a
	// state_dir someone else could change, then the listeners (a port in
	// use, a socket another agent serves). agent.New starts the processes.
	if err := safedir.Check(cfg.StateDir); err != nil {
		return fmt.Errorf("state_dir: %w; the agent does not start", err)
	}
	lns, err := agent.Listen(cfg)
	if err != nil {
		return err
	}
	defer lns.Close()
	a, err := agent.New(cfg, log)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return &exitError{exitConfig, err}
		}
		return err
	}
	defer a.Close()
	// systemd (Type=notify) sees RELOADING=1 ... READY=1 around every
	// reload, whether SIGHUP or `ocp-agent reload` asked for it.
	a.SetReloadNotifier(func(reloading bool) {
		if reloading {
			notify(log, notifyReloading)
		} else {
			notify(log, notifyReady)
		}
	})
	go reloadOnHUP(ctx, hup, cfg.File, a, log)
	// Freed heap back to the host within 15 s of a busy spell (1000
	// starts, lists of 1000) instead of minutes: 4 MiB or more of it.
	go memtrim.Run(ctx, 15*time.Second, 4<<20)
	log.Info("agent started", zap.String("config", cfg.File), zap.Int64("hostId", cfg.Host.ID),
		zap.Int("processes", len(cfg.Processes)), zap.String("version", version))
	// The listener accepts from now on and every process is adopted:
	// systemd may start what comes after the agent.
	notify(log, notifyReady)
	context.AfterFunc(ctx, func() { notify(log, notifyStopping) })
	if err := a.Serve(ctx, lns); err != nil {
		return err
	}
	log.Info("agent stopped; managed processes keep running")
	return nil
}

// reloadOnHUP reloads the config at every SIGHUP, as `ocp-agent reload`
// does over the socket. A config that does not load, or that the agent
// refuses, is logged and the old one stays in force.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, path string, a *agent.Agent, log *zap.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		log.Info("SIGHUP: reloading the config", zap.String("config", path))
		_, _ = a.ReloadFile() // logged by ReloadFile
	}
}
