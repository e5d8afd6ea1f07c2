package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ocp-agent/ocp-agent/config"
)

// configCheckCmd validates a config file without touching the state
// directory, and prints a summary a person can check at a glance.
func configCheckCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ocp-agent config check", flag.ContinueOnError)
	fs.SetOutput(stdout)
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
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	listen := cfg.Server.Listen
	if listen == "" {
		listen = "(disabled)"
	}
	fmt.Fprintf(stdout, "%s: ok: host %d, listen %s, state_dir %s, %d process(es)\n",
		cfg.File, cfg.Host.ID, listen, cfg.StateDir, len(cfg.Processes))
	for _, p := range cfg.Processes {
		id := "auto"
		if p.ID > 0 {
			id = fmt.Sprint(p.ID)
		}
		fmt.Fprintf(stdout, "  %-20s id=%-6s %s\n", p.Alias, id, p.StartCommand)
	}
	return nil
}
