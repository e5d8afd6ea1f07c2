package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// controlMargin is added to the longest a stop or start may take, to bound
// the wait for the agent's answer.
const controlMargin = time.Minute

// controlOps describes stop, start and restart for their help and messages.
var controlOps = map[string]struct{ short, done string }{
	"stop":    {"Stop a process and wait until it and its process group are gone", "stopped"},
	"start":   {"Start a process and wait until it counts as started (start_wait)", "started"},
	"restart": {"Stop, then start a process, and wait until it counts as started", "restarted"},
}

// newControlCmd is `ocp-agent stop|start|restart ALIAS|ID`.
func newControlCmd(op string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   op + " ALIAS|ID",
		Short: controlOps[op].short,
		Long: controlOps[op].short + `, through the running agent, as the OCP
server would. While it waits, a line on stderr says how long and what is
left (e.g. how long until SIGKILL); the final record is printed at the end.
An unknown alias, a process that is not operable, one that survived SIGKILL
or failed to start are each reported on one line, with exit status 1.`,
		Args:              exactArgs(1, "one ALIAS or ID"),
		ValidArgsFunction: completeAliases,
	}
	af := addAgentFlags(cmd)
	asJSON := jsonFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		conn, err := af.connect()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		p, err := conn.resolve(lctx, args[0])
		cancel()
		if err != nil {
			return err
		}
		spec := processConfig(conn.cfg, p.Alias)
		ctx, cancel = context.WithTimeout(ctx, spec.StopTimeout+procmgr.KillWait+spec.StartWait+controlMargin)
		defer cancel()
		began := time.Now()
		var pr *progress
		if !*asJSON {
			pr = startProgress(ctx, conn, op, p, spec, os.Stderr)
		}
		rec, err := control(ctx, conn, op, p.ID)
		pr.end()
		if err != nil {
			return conn.explain(fmt.Sprintf("%s %s", op, p.Alias), err)
		}
		if *asJSON {
			return writeJSON(cmd.OutOrStdout(), rec)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s (id %d) in %s\n", controlOps[op].done, rec.Alias, rec.ID,
			time.Since(began).Round(100*time.Millisecond))
		return printTable(cmd.OutOrStdout(), []api.HostAgentProcess{*rec})
	}
	return cmd
}

// control sends the request of op and waits for the agent's answer.
func control(ctx context.Context, conn *agentConn, op string, id int64) (*api.HostAgentProcess, error) {
	h := conn.cfg.Host.ID
	switch op {
	case "stop":
		return conn.c.Stop(ctx, h, id)
	case "start":
		return conn.c.Start(ctx, h, id)
	}
	return conn.c.Restart(ctx, h, id)
}

// processConfig returns the configured process of alias, or the defaults
// for one the config does not have (the agent itself).
func processConfig(cfg *config.Config, alias string) config.Process {
	for _, p := range cfg.Processes {
		if p.Alias == alias {
			return p
		}
	}
	return config.Process{Alias: alias, StopTimeout: config.DefaultStopTimeout, StartWait: config.DefaultStartWait}
}

// completeAliases completes ALIAS from the config named by --config, so
// that completion works when the agent is down too.
func completeAliases(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var aliases []string
	for _, p := range cfg.Processes {
		aliases = append(aliases, p.Alias)
	}
	return aliases, cobra.ShellCompDirectiveNoFileComp
}
