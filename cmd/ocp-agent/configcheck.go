package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/internal/safedir"
	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// newConfigCmd is `ocp-agent config`, whose one subcommand is check.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the config file",
		Args:  exactArgs(0, "a subcommand (check)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("usage: ocp-agent config check [--config FILE]")
		},
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Load and validate a config file and print what it configures",
		Long: `Load and validate a config file without touching the running agent, and
print what it configures. Then look for what would fail a start: a program
not found or not executable for its user, a directory the user cannot
enter, an unreadable environment_file, a limit the agent could not set, an
explicit id the state gave another alias (the state is read, never
written). A problem is reported with the file, the line and the key, and
exit status 2.`,
		Args: exactArgs(0, "no arguments"),
	}
	path := configFlag(check)
	asJSON := jsonFlag(check)
	check.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(*path)
		if err != nil {
			return err
		}
		if err := safedir.Check(cfg.StateDir); err != nil {
			return fmt.Errorf("%s: state_dir: %w; the agent would not start", cfg.File, err)
		}
		containment, err := cgroup.Preview(cfg.Cgroup)
		if err != nil {
			return &exitError{exitConfig, fmt.Errorf("%s: cgroup: %w; the agent would not start", cfg.File, err)}
		}
		findings, notes := checkFindings(cfg)
		lf, ln := cgroupLimitFindings(cfg)
		findings, notes = append(findings, lf...), append(notes, ln...)
		if *asJSON {
			r := checkSummary(cfg)
			r.Containment = containment
			r.Notes = append(r.Notes, notes...)
			for _, f := range findings {
				r.Findings = append(r.Findings, f.Error())
			}
			if err := writeJSON(cmd.OutOrStdout(), r); err != nil {
				return err
			}
		} else {
			printCheck(cmd.OutOrStdout(), cfg, findings, notes)
			if len(findings) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "containment: %s\n", containment)
			}
		}
		if len(findings) > 0 {
			return &exitError{exitConfig, fmt.Errorf("%s: %d problem(s) would fail a start", cfg.File, len(findings))}
		}
		return nil
	}
	cmd.AddCommand(check)
	return cmd
}

// cgroupLimitFindings reports the cgroup limits (memory_max, cpu_max,
// pids_max) the agent could not set on this host, as its start would. The
// cgroups are opened the way the agent opens them (its root is created and
// its controllers enabled, which the agent's start does too), and only
// when a process sets such a limit.
func cgroupLimitFindings(cfg *config.Config) ([]*config.Error, []string) {
	if !slices.ContainsFunc(cfg.Processes, func(p config.Process) bool { return p.CgroupLimits != (cgroup.Limits{}) }) {
		return nil, nil
	}
	h, desc, err := cgroup.Open(cfg.Cgroup)
	if err != nil {
		return []*config.Error{cfg.Errorf(0, "cgroup", "%v", err)}, nil
	}
	if h != nil {
		defer h.Close()
	}
	return limitFindings(cfg, h), []string{"cgroups: " + desc}
}

// limitFindings checks cfg's cgroup limits against h (nil: cgroups off).
func limitFindings(cfg *config.Config, h *cgroup.Hierarchy) []*config.Error {
	return cfg.CheckCgroupLimits(func(l cgroup.Limits) error { return procmgr.CheckCgroupLimits(h, l) })
}

// checkResult is what `config check --json` prints.
type checkResult struct {
	File     string `json:"file"`
	HostID   int64  `json:"hostId"`
	Listen   string `json:"listen"`
	Socket   string `json:"socket"`
	StateDir string `json:"stateDir"`
	// Containment is how the agent would contain its processes: "cgroup
	// v2 at ..." or "off: ... (reason)".
	Containment string         `json:"containment"`
	Processes   []checkProcess `json:"processes"`
	Warnings    []string       `json:"warnings"`
	// Findings would fail a start (exit status 2); Notes say what could
	// not be checked.
	Findings []string `json:"findings"`
	Notes    []string `json:"notes"`
}

type checkProcess struct {
	Alias        string `json:"alias"`
	ID           int64  `json:"id,omitempty"` // 0: assigned by the agent
	StartCommand string `json:"startCommand"`
	User         string `json:"user,omitempty"`
}

func checkSummary(cfg *config.Config) checkResult {
	r := checkResult{File: cfg.File, HostID: cfg.Host.ID, Listen: cfg.Server.Listen, Socket: cfg.Server.Socket,
		StateDir: cfg.StateDir, Processes: []checkProcess{}, Warnings: cfg.Warnings, Findings: []string{}, Notes: []string{}}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	for _, p := range cfg.Processes {
		r.Processes = append(r.Processes, checkProcess{Alias: p.Alias, ID: p.ID, StartCommand: p.StartCommand, User: p.User})
	}
	return r
}

// printCheck prints a summary a person can check at a glance.
func printCheck(w io.Writer, cfg *config.Config, findings []*config.Error, notes []string) {
	for _, warn := range cfg.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	for _, f := range findings {
		fmt.Fprintf(w, "error: %s\n", f)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(findings) > 0 {
		return
	}
	listen := cfg.Server.Listen
	if listen == "" {
		listen = "(disabled)"
	}
	fmt.Fprintf(w, "%s: ok: host %d, listen %s, state_dir %s, %d process(es)\n",
		cfg.File, cfg.Host.ID, listen, cfg.StateDir, len(cfg.Processes))
	for _, p := range cfg.Processes {
		id := "auto"
		if p.ID > 0 {
			id = fmt.Sprint(p.ID)
		}
		fmt.Fprintf(w, "  %-20s id=%-6s %s\n", p.Alias, id, p.StartCommand)
	}
}
