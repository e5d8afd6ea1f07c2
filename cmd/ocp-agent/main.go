// Command ocp-agent is the OCP agent: a daemon that keeps a configured set
// of processes on a host and serves the OCP API over them, and the admin
// CLI that talks to it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/config"
)

// Set at build time (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// exitError carries the process exit status of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit statuses of every command: 0 done, 1 the operation failed (the
// agent is unreachable, refused, or the process did not stop or start), 2
// the command line or the config is wrong.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

// usageError marks err as a mistake on the command line (exit status 2).
func usageError(format string, args ...any) error {
	return &exitError{exitConfig, fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs one command line and returns the exit status. An error that
// cobra reports before any command runs (unknown command or flag, wrong
// number of arguments) is a usage error.
func realMain(args []string, stdout, stderr io.Writer) int {
	root, entered := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	code := exitFail
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case !*entered:
		code = exitConfig
	}
	// Errors from below may name the program already (a wrapped error of
	// another run of it); say it once.
	fmt.Fprintf(stderr, "ocp-agent: %s\n", strings.TrimLeft(strings.TrimPrefix(err.Error(), "ocp-agent:"), " "))
	if code == exitConfig && !*entered {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// newRootCmd builds the command tree. entered is set once a command's own
// code runs, which tells usage errors from failures.
func newRootCmd() (*cobra.Command, *bool) {
	entered := new(bool)
	root := &cobra.Command{
		Use:   "ocp-agent",
		Short: "The OCP agent and its admin CLI",
		Long: `ocp-agent keeps the configured processes of this host running and serves
the OCP API over them ('ocp-agent run', usually under systemd). The other
commands are its admin CLI: they find the running agent through the config
(server.socket when set, else server.listen with --user and the
OCP_AGENT_PASSWORD environment variable).

The config is --config FILE; without it, $OCP_AGENT_CONFIG, else
/etc/ocp-agent/config.yaml: export OCP_AGENT_CONFIG once (e.g. to the
demo's .run/demo.yaml) instead of repeating --config.

Exit status: 0 done; 1 the operation failed (agent unreachable, refused,
unknown process, stop or start failed); 2 bad command line or config.`,
		Version:       fmt.Sprintf("%s (commit %s, built %s)", version, commit, date),
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare `ocp-agent` is a usage mistake: say so with status 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return usageError("no command given")
		},
		PersistentPreRun: func(*cobra.Command, []string) { *entered = true },
	}
	root.SetVersionTemplate("ocp-agent {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{exitConfig, err} })
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(newRunCmd(), newConfigCmd(), newVersionCmd(), newPsCmd(),
		newControlCmd("stop"), newControlCmd("start"), newControlCmd("restart"),
		newLogsCmd(), newServiceCmd(), newReloadCmd())
	return root, entered
}

// configEnv names the config when --config is not given, so that a
// developer running a demo exports it once instead of repeating --config.
const configEnv = "OCP_AGENT_CONFIG"

// configDefaultHelp ends the help of every --config flag.
const configDefaultHelp = " (default $" + configEnv + ", else " + config.DefaultPath + ")"

// defaultConfig is the config file when --config is not given.
func defaultConfig() string {
	if p := os.Getenv(configEnv); p != "" {
		return p
	}
	return config.DefaultPath
}

// hideDefault keeps --help from printing the flag's value as its default:
// the usage text says where the default comes from.
func hideDefault(cmd *cobra.Command, name string) {
	cmd.Flags().Lookup(name).DefValue = ""
}

// configFlag adds --config to cmd.
func configFlag(cmd *cobra.Command) *string {
	p := new(string)
	cmd.Flags().StringVar(p, "config", defaultConfig(), "config file"+configDefaultHelp)
	hideDefault(cmd, "config")
	cmd.MarkFlagFilename("config", "yaml", "yml")
	return p
}

// jsonFlag adds --json to a command that prints data.
func jsonFlag(cmd *cobra.Command) *bool {
	p := new(bool)
	cmd.Flags().BoolVar(p, "json", false, "print JSON for scripts instead of text")
	return p
}

// exactArgs is cobra.ExactArgs with a message that names the arguments.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s wants %s, got %d argument(s)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}
