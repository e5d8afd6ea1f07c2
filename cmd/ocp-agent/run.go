package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent"
	"github.com/ocp-agent/ocp-agent/config"
)

// errHelp ends a command that printed its help.
var errHelp = errors.New("help requested")

// parseFlags parses a command's flags; --help prints them and ends the
// command with status 0, bad flags with status 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{exitConfig, err}
	}
	if fs.NArg() > 0 {
		return &exitError{exitConfig, fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// loadConfig loads the config, marking every failure as a config error
// (exit status 2).
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &exitError{exitConfig, err}
	}
	return cfg, nil
}

func runCmd(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ocp-agent run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", config.DefaultPath, "config file")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log, closeLog, err := newLogger(cfg.Log)
	if err != nil {
		return &exitError{exitConfig, fmt.Errorf("%s: log: %w", cfg.File, err)}
	}
	defer closeLog()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	return run(cfg, log)
}

// run is the daemon's life: adopt, serve, and on SIGTERM/SIGINT finish the
// requests in flight and return, leaving managed processes running.
func run(cfg *config.Config, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP would kill the agent by default; reloading is not there yet.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Warn("SIGHUP received: reloading the config is not supported yet; restart the agent to apply changes")
		}
	}()

	a, err := agent.New(cfg, log)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return &exitError{exitConfig, err}
		}
		return err
	}
	defer a.Close()
	ln, err := a.Listen()
	if err != nil {
		return err
	}
	log.Info("agent started", zap.String("config", cfg.File), zap.Int64("hostId", cfg.Host.ID),
		zap.Int("processes", len(cfg.Processes)), zap.String("version", version))
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("agent stopped; managed processes keep running")
	return nil
}
