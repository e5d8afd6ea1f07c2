package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// listTimeout bounds a listing: the agent answers one from /proc at once.
const listTimeout = 30 * time.Second

// newPsCmd is `ocp-agent ps`: what the agent manages, as a table.
func newPsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the processes the agent manages",
		Long: `List the processes the running agent manages, itself included (ocp_agentd):
id, alias, status, pid, user, listening ports, uptime and automatic restarts.
A status the process is on its way out of shows what it is headed for, e.g.
"STOPPED (wants STARTED)" while it waits to be restarted.`,
		Args: exactArgs(0, "no arguments"),
	}
	af := addAgentFlags(cmd)
	asJSON := jsonFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		conn, err := af.connect()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), listTimeout)
		defer cancel()
		procs, err := conn.list(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(cmd.OutOrStdout(), procs)
		}
		return printTable(cmd.OutOrStdout(), procs)
	}
	return cmd
}

// printTable prints processes as ps(1) would.
func printTable(w io.Writer, procs []api.HostAgentProcess) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tALIAS\tSTATUS\tPID\tUSER\tPORTS\tUPTIME\tRESTARTS")
	for _, p := range procs {
		pid, uptime := "-", "-"
		if p.PID > 0 {
			pid, uptime = strconv.Itoa(p.PID), humanDuration(time.Duration(p.ElapsedTime)*time.Second)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n",
			p.ID, p.Alias, status(p), pid, orDash(p.User), orDash(p.Ports), uptime, p.RestartCount)
	}
	return tw.Flush()
}

// status is the API's status, with the desired one when they differ.
func status(p api.HostAgentProcess) string {
	if p.DesiredStatus != "" && p.DesiredStatus != p.Status {
		return p.Status + " (wants " + p.DesiredStatus + ")"
	}
	return p.Status
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// humanDuration prints d in its two largest units, as uptime(1) would say
// it: 42s, 3m12s, 2h05m, 3d04h.
func humanDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
