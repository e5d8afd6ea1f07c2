package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
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

// newControlCmd is `ocp-agent stop|start|restart ALIAS|ID... | --all`.
func newControlCmd(op string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   op + " ALIAS|ID... | --all",
		Short: controlOps[op].short,
		Long: controlOps[op].short + `, through the running agent, as the OCP
server would. Several names (or --all: every operable process) are sent at
once and each is printed on its own line as it finishes; the exit status is
1 if any failed, and a last line on stderr says which and why. For a single
name, a line on stderr says while it waits how long and what is left (e.g.
how long until SIGKILL), and the final record is printed at the end.
An unknown alias, a process that is not operable, one that survived SIGKILL
or failed to start each fail their own line, with exit status 1.
--json prints an array of results, one per name.`,
		ValidArgsFunction: completeAliases,
	}
	af := addAgentFlags(cmd)
	asJSON := jsonFlag(cmd)
	all := cmd.Flags().Bool("all", false, "every operable process (the agent itself, ocp_agentd, is not)")
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		switch {
		case *all && len(args) > 0:
			return usageError("%s: give ALIAS|ID arguments or --all, not both", cmd.CommandPath())
		case !*all && len(args) == 0:
			return usageError("%s wants one or more ALIAS or ID, or --all, got 0 arguments", cmd.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		conn, err := af.connect()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		procs, err := conn.list(lctx)
		cancel()
		if err != nil {
			return err
		}
		targets := resolveAll(procs, args, *all)
		if len(targets) == 0 {
			return fmt.Errorf("%s --all: no operable process on this agent", op)
		}
		if len(targets) == 1 && !*asJSON {
			return controlOne(ctx, cmd, conn, op, targets[0])
		}
		results := controlAll(ctx, conn, op, targets, cmd.OutOrStdout(), os.Stderr, !*asJSON)
		if *asJSON {
			if err := writeJSON(cmd.OutOrStdout(), results); err != nil {
				return err
			}
		} else {
			var recs []api.HostAgentProcess
			for _, r := range results {
				if r.Process != nil {
					recs = append(recs, *r.Process)
				}
			}
			if len(recs) > 0 {
				fmt.Fprintln(cmd.OutOrStdout())
				printTable(cmd.OutOrStdout(), recs)
			}
		}
		return failureSummary(results)
	}
	return cmd
}

// target is one name of the command line, resolved against the agent's
// list (err says why it could not be).
type target struct {
	name string
	p    api.HostAgentProcess
	err  error
}

// resolveAll resolves names (aliases or ids) against procs, all from one
// listing so that every name is judged against the same state; a name
// given twice is done once. With all, every operable process is a target.
func resolveAll(procs []api.HostAgentProcess, names []string, all bool) []target {
	var ts []target
	if all {
		for _, p := range procs {
			if p.Operable {
				ts = append(ts, target{name: p.Alias, p: p})
			}
		}
		return ts
	}
	var aliases []string
	for _, p := range procs {
		aliases = append(aliases, p.Alias)
	}
	seen := map[int64]bool{}
	for _, n := range names {
		i := slices.IndexFunc(procs, func(p api.HostAgentProcess) bool { return p.Alias == n || strconv.FormatInt(p.ID, 10) == n })
		if i < 0 {
			ts = append(ts, target{name: n, err: fmt.Errorf("no process %q on this agent; it has %s", n, strings.Join(aliases, ", "))})
			continue
		}
		if seen[procs[i].ID] {
			continue
		}
		seen[procs[i].ID] = true
		ts = append(ts, target{name: n, p: procs[i]})
	}
	return ts
}

// controlOne does op on one process, with the detailed progress line.
func controlOne(ctx context.Context, cmd *cobra.Command, conn *agentConn, op string, t target) error {
	if t.err != nil {
		return t.err
	}
	p := t.p
	spec := processConfig(conn.cfg, p.Alias)
	ctx, cancel := context.WithTimeout(ctx, opTimeout(spec))
	defer cancel()
	began := time.Now()
	pr := startProgress(ctx, conn, op, p, spec, os.Stderr)
	rec, err := control(ctx, conn, op, p.ID)
	pr.end()
	if err != nil {
		return conn.explainOp(op, p.Alias, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s (id %d) in %s\n", controlOps[op].done, rec.Alias, rec.ID,
		time.Since(began).Round(100*time.Millisecond))
	return printTable(cmd.OutOrStdout(), []api.HostAgentProcess{*rec})
}

// opTimeout bounds the wait for the agent's answer to a stop, start or
// restart of spec.
func opTimeout(spec config.Process) time.Duration {
	return spec.StopTimeout + procmgr.KillWait + spec.StartWait + controlMargin
}

// controlResult is the outcome of op on one name, as --json prints it.
type controlResult struct {
	Name    string                `json:"name"` // as given on the command line
	Alias   string                `json:"alias,omitempty"`
	ID      int64                 `json:"id,omitempty"`
	OK      bool                  `json:"ok"`
	Error   string                `json:"error,omitempty"`
	Code    int                   `json:"code,omitempty"` // the API's error code, when it answered one
	Seconds float64               `json:"seconds"`
	Process *api.HostAgentProcess `json:"process,omitempty"` // the record after op, when it succeeded
}

// label names a result in messages: its alias, else the name given.
func (r controlResult) label() string {
	if r.Alias != "" {
		return r.Alias
	}
	return r.Name
}

// controlAll sends op for every target at once and returns the results in
// the targets' order. With lines, each result is printed on out as it
// comes in; on a terminal, a line on status says what is still pending.
func controlAll(ctx context.Context, conn *agentConn, op string, ts []target, out io.Writer, status *os.File, lines bool) []controlResult {
	results := make([]controlResult, len(ts))
	done := make(chan int, len(ts))
	began := time.Now()
	for i, t := range ts {
		results[i] = controlResult{Name: t.name, Alias: t.p.Alias, ID: t.p.ID}
		if t.err != nil {
			results[i].Error = oneLine(t.err.Error())
			done <- i
			continue
		}
		// Each goroutine writes only its own element of results; the
		// channel hands it over to the printing loop below.
		go func(i int, t target) {
			spec := processConfig(conn.cfg, t.p.Alias)
			octx, cancel := context.WithTimeout(ctx, opTimeout(spec))
			defer cancel()
			rec, err := control(octx, conn, op, t.p.ID)
			r := &results[i]
			r.Seconds = time.Since(began).Round(100 * time.Millisecond).Seconds()
			if err != nil {
				var ae *client.APIError
				if errors.As(err, &ae) {
					r.Code = ae.Code
				}
				// One line: the agent's message may quote the process's
				// last output.
				r.Error = oneLine(strings.TrimPrefix(conn.explainOp(op, t.p.Alias, err).Error(), op+" "+t.p.Alias+": "))
			} else {
				r.OK, r.Process = true, rec
			}
			done <- i
		}(i, t)
	}
	pend := newPending(op, ts, status, lines)
	defer pend.stop()
	for range ts {
		i := <-done
		r := results[i]
		pend.finished(i)
		if !lines {
			continue
		}
		if r.OK {
			fmt.Fprintf(out, "%s %s (id %d) in %.1fs\n", controlOps[op].done, r.Alias, r.ID, r.Seconds)
		} else {
			fmt.Fprintf(out, "FAILED %s %s: %s\n", op, r.label(), r.Error)
		}
		pend.redraw()
	}
	return results
}

// failureSummary is nil when every result is OK, else the error that says
// how many failed and why, e.g. "2 of 5 failed: a (...), b (...)".
func failureSummary(results []controlResult) error {
	var failed []string
	for _, r := range results {
		if !r.OK {
			failed = append(failed, fmt.Sprintf("%s (%s)", r.label(), r.Error))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d failed: %s", len(failed), len(results), strings.Join(failed, ", "))
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
