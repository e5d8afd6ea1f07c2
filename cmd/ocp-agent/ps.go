package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// listTimeout bounds a listing: the agent answers one from /proc at once.
const listTimeout = 30 * time.Second

// psRow is a process as the list route sends it, with the extra fields of
// the spec that say why a process is not in the state it wants. They are
// decoded here, by their JSON names, so that ps shows them from whichever
// agent sends them.
type psRow struct {
	api.HostAgentProcess
	LastError     *string `json:"lastError"`
	NextStartTime *string `json:"nextStartTime"`
}

// newPsCmd is `ocp-agent ps` (also `status`): what the agent manages, as a
// table.
func newPsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "ps [ALIAS|ID...]",
		Aliases: []string{"status"},
		Short:   "List the processes the agent manages (also: status)",
		Long: `List the processes the running agent manages, itself included (ocp_agentd):
id, alias, status, pid, user, listening ports, uptime and automatic restarts.
A status the process is on its way out of shows what it is headed for, e.g.
"STOPPED (wants STARTED)" while it waits to be restarted, followed by why:
when the next start is due and how the last run ended, e.g.
"restarting in 8s — exited 1: bind: address already in use".
-l adds the last exit code, the limits of the running process (open files,
processes, core size, from /proc/PID/limits; "-" when unreadable) and the
start command. With names (aliases or ids), only those are listed; a name
the agent does not have is an error, as in stop and start.`,
	}
	af := addAgentFlags(cmd)
	asJSON := jsonFlag(cmd)
	long := cmd.Flags().BoolP("long", "l", false, "more columns: last exit, limits (nofile, nproc, core) and the command")
	cmd.RunE = func(cmd *cobra.Command, names []string) error {
		conn, err := af.connect()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), listTimeout)
		defer cancel()
		var list struct {
			Contents []psRow `json:"contents"`
		}
		if err := conn.c.ListInto(ctx, conn.cfg.Host.ID, &list); err != nil {
			return conn.explain("list processes", err)
		}
		if len(names) > 0 {
			picked, err := pickRows(list.Contents, names)
			if err != nil {
				return err
			}
			list.Contents = picked
		}
		if *asJSON {
			return writeJSON(cmd.OutOrStdout(), list.Contents)
		}
		return printPs(cmd.OutOrStdout(), list.Contents, *long, time.Now())
	}
	return cmd
}

// pickRows keeps the rows named by alias or id, in the order of the list,
// each once; an unknown name is an error that lists what there is.
func pickRows(rows []psRow, names []string) ([]psRow, error) {
	procs := make([]api.HostAgentProcess, len(rows))
	for i, r := range rows {
		procs[i] = r.HostAgentProcess
	}
	want := make(map[int64]bool, len(names))
	for _, t := range resolveAll(procs, names, false) {
		if t.err != nil {
			return nil, t.err
		}
		want[t.p.ID] = true
	}
	var out []psRow
	for _, r := range rows {
		if want[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// printTable prints processes as ps(1) would.
func printTable(w io.Writer, procs []api.HostAgentProcess) error {
	rows := make([]psRow, len(procs))
	for i, p := range procs {
		rows[i].HostAgentProcess = p
	}
	return printPs(w, rows, false, time.Now())
}

// printPs prints rows as a table; long adds the -l columns. A last column,
// WHY, appears when a process is not in the state it wants and the agent
// says why. now is when "restarting in" counts from.
func printPs(w io.Writer, rows []psRow, long bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	whys := make([]string, len(rows))
	anyWhy := false
	for i, r := range rows {
		whys[i] = why(r, now)
		anyWhy = anyWhy || whys[i] != ""
	}
	head := "ID\tALIAS\tSTATUS\tPID\tUSER\tPORTS\tUPTIME\tRESTARTS"
	if long {
		head += "\tLAST-EXIT\tNOFILE\tNPROC\tCORE\tCOMMAND"
	}
	if anyWhy {
		head += "\tWHY"
	}
	fmt.Fprintln(tw, head)
	for i, r := range rows {
		p := r.HostAgentProcess
		pid, uptime := "-", "-"
		if p.PID > 0 {
			pid, uptime = strconv.Itoa(p.PID), humanDuration(time.Duration(p.ElapsedTime)*time.Second)
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d",
			p.ID, p.Alias, status(p), pid, orDash(p.User), orDash(p.Ports), uptime, p.RestartCount)
		if long {
			exit := "-"
			if p.LastExitCode != nil {
				exit = strconv.Itoa(*p.LastExitCode)
			}
			lim := readLimits(p.PID)
			line += fmt.Sprintf("\t%s\t%s\t%s\t%s\t%s", exit, lim.nofile, lim.nproc, lim.core, oneLine(orDash(p.StartCommand)))
		}
		if anyWhy {
			line += "\t" + whys[i]
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// status is the API's status, with the desired one when they differ, and
// the health of a running process with a check unless it is HEALTHY.
func status(p api.HostAgentProcess) string {
	s := p.Status
	if p.DesiredStatus != "" && p.DesiredStatus != p.Status {
		s += " (wants " + p.DesiredStatus + ")"
	}
	if p.Status == api.StatusStarted && p.Health != nil && *p.Health != "HEALTHY" {
		s += " " + *p.Health
	}
	return s
}

// why says, for a process that wants STARTED but is not, when the agent
// starts it next and how its last start or run ended; "" otherwise.
func why(r psRow, now time.Time) string {
	if r.DesiredStatus != api.StatusStarted || r.Status == api.StatusStarted {
		return ""
	}
	var parts []string
	if r.NextStartTime != nil && *r.NextStartTime != "" {
		if t, err := time.Parse(api.TimeLayout, *r.NextStartTime); err == nil {
			if d := t.Sub(now); d > 0 {
				parts = append(parts, "restarting in "+humanDuration(d+time.Second-1))
			} else {
				parts = append(parts, "restarting now")
			}
		} else {
			parts = append(parts, "restarting at "+*r.NextStartTime)
		}
	}
	if r.LastError != nil && *r.LastError != "" {
		parts = append(parts, oneLine(*r.LastError))
	}
	return strings.Join(parts, " — ")
}

// oneLine keeps a table row on one line whatever a field holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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
