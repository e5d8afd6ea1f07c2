package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/agent"
)

// reloadTimeout bounds a reload: it waits for the stops of the processes
// the new config removes (each within its stop_timeout and the SIGKILL
// wait).
const reloadTimeout = 5 * time.Minute

// newReloadCmd is `ocp-agent reload`, the unit's ExecReload: it asks the
// running agent over its socket to reload its config and returns once the
// agent applied it (0) or refused it (1, with the agent's reason). With
// it, `systemctl reload` waits for the reload on every systemd version,
// where `kill -HUP` returns before the agent has even begun.
func newReloadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the running agent reload its config, and wait for the outcome",
		Long: `Ask the running agent, over server.socket, to load its config file again
and apply it, as SIGHUP does, and wait until it is applied or refused.
Processes added are started, removed ones stopped, changed ones get their
new settings at their next start; the other sections need a restart. A
refused config (the reason names its line) changes nothing: the old one
stays in force, and the exit status is 1.

Without server.socket in the config, and run by systemd (ExecReload, which
sets $MAINPID), it sends SIGHUP to the agent instead and does not wait.`,
		Args: exactArgs(0, "no arguments"),
	}
	af := addAgentFlags(cmd)
	asJSON := jsonFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		conn, err := af.connect()
		if err != nil {
			return err
		}
		if conn.cfg.Server.Socket == "" {
			return reloadBySignal(cmd.ErrOrStderr(), conn)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), reloadTimeout)
		defer cancel()
		res, err := conn.reload(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(cmd.OutOrStdout(), res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "reloaded %s: added %s; removed %s; changed %s\n",
			res.Config, aliasList(res.Added), aliasList(res.Removed), aliasList(res.Changed))
		return nil
	}
	return cmd
}

// reload calls the agent's reload route and returns what it changed.
func (a *agentConn) reload(ctx context.Context) (agent.ReloadResult, error) {
	var res agent.ReloadResult
	env, resp, err := a.c.Do(ctx, http.MethodPost, agent.ReloadPath)
	if err != nil {
		return res, a.explain("reload", err)
	}
	if !env.Successful {
		if env.Error != nil {
			return res, fmt.Errorf("the agent at %s refused the reload: %s", a.where, env.Error.Message)
		}
		return res, fmt.Errorf("the agent at %s refused the reload: HTTP %d", a.where, resp.StatusCode)
	}
	if err := json.Unmarshal(env.Data, &res); err != nil {
		return res, fmt.Errorf("reload: decode the agent's answer (trace %s): %w", env.TraceID, err)
	}
	return res, nil
}

// reloadBySignal is the reload of an agent without a socket: SIGHUP to
// the unit's main process, which systemd names in $MAINPID.
func reloadBySignal(stderr io.Writer, conn *agentConn) error {
	pid, err := strconv.Atoi(os.Getenv("MAINPID"))
	if err != nil || pid <= 0 {
		return fmt.Errorf("reload: %s has no server.socket, the only way this command reaches the agent; send SIGHUP to the agent instead (systemctl reload ocp-agent)", conn.cfg.File)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload: SIGHUP to the agent (pid %d): %w", pid, err)
	}
	fmt.Fprintf(stderr, "ocp-agent: %s has no server.socket: sent SIGHUP to pid %d; the outcome is in the agent's log\n", conn.cfg.File, pid)
	return nil
}

// aliasList joins aliases for a message, "-" for none.
func aliasList(aliases []string) string {
	if len(aliases) == 0 {
		return "-"
	}
	return strings.Join(aliases, ", ")
}
