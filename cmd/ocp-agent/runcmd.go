package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newRunCmd is `ocp-agent run`: the daemon in the foreground.
func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground until SIGTERM or SIGINT",
		Long: `Run the agent in the foreground until SIGTERM or SIGINT: it adopts the
processes it already manages, starts what should run, and serves the API.
On SIGTERM it finishes the requests in flight and exits; the processes it
manages keep running. Under systemd (Type=notify) it reports READY once it
serves and STOPPING when it shuts down.

Exit status: 0 after a clean stop; 2 for a bad or missing config; 1 for any
other start failure (port in use, state_dir held by another agent).`,
		Args: exactArgs(0, "no arguments"),
	}
	path := configFlag(cmd)
	cmd.RunE = func(*cobra.Command, []string) error { return runAgent(*path) }
	return cmd
}

// runAgent loads the config, sets up logging and runs the daemon.
func runAgent(path string) error {
	cfg, err := loadConfig(path)
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
