package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/systemd"
)

// serviceName is the systemd unit's name, without .service.
const serviceName = "ocp-agent"

// Where systemd and the packages keep their files; variables so that the
// tests can point them into a temporary directory.
var (
	// systemdRunDir exists when systemd runs this host (sd_booted(3)).
	systemdRunDir = "/run/systemd/system"
	// packageUnits are where the .deb and .rpm install the unit.
	packageUnits = []string{"/usr/lib/systemd/system/ocp-agent.service", "/lib/systemd/system/ocp-agent.service"}
	// serviceUserMode makes a user unit (systemctl --user), which the
	// tests install under a temporary HOME instead of /etc.
	serviceUserMode = false
)

// newServiceCmd is `ocp-agent service install|uninstall|start|stop|status`.
func newServiceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Install, control and query the agent's systemd service",
		Long: `Install the agent as the systemd service ocp-agent.service (the same unit the
packages ship, with ExecStart pointing at this binary and --config), and
start, stop, query or remove it. Without systemd running, run the agent
with 'ocp-agent run' under whatever supervises this host's services.`,
		Args: exactArgs(0, "a subcommand (install, uninstall, start, stop, status)"),
		RunE: func(*cobra.Command, []string) error {
			return usageError("usage: ocp-agent service install|uninstall|start|stop|status")
		},
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Write /etc/systemd/system/ocp-agent.service for this binary and --config, and enable it",
		Args:  exactArgs(0, "no arguments"),
	}
	path := configFlag(install)
	install.RunE = func(cmd *cobra.Command, _ []string) error { return serviceInstall(cmd.OutOrStdout(), *path) }
	cmd.AddCommand(install, serviceAction("uninstall", "Stop the service if it runs, disable it and remove its unit", serviceUninstall),
		serviceAction("start", "Start the service (systemctl start ocp-agent)", func(w io.Writer, s service.Service) error {
			return s.Start()
		}),
		serviceAction("stop", "Stop the service; the processes the agent manages keep running", func(w io.Writer, s service.Service) error {
			return s.Stop()
		}),
		newServiceStatusCmd())
	return cmd
}

// serviceAction is a service subcommand that does one thing to the unit.
func serviceAction(name, short string, do func(io.Writer, service.Service) error) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newService("")
			if err != nil {
				return err
			}
			if err := do(cmd.OutOrStdout(), s); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
			return nil
		},
	}
}

func newServiceStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print whether the service is running (exit status 0) or not (1)",
		Args:  exactArgs(0, "no arguments"),
	}
	asJSON := jsonFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		s, err := newService("")
		if err != nil {
			return err
		}
		st := serviceStatus(s)
		if *asJSON {
			if err := writeJSON(cmd.OutOrStdout(), map[string]string{"unit": serviceName + ".service", "status": st}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "%s.service: %s\n", serviceName, st)
		}
		if st != "running" {
			return &exitError{exitFail, fmt.Errorf("%s.service is %s", serviceName, st)}
		}
		return nil
	}
	return cmd
}

// serviceStatus names the unit's state: running, stopped, failed, not
// installed, or unknown.
func serviceStatus(s service.Service) string {
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return "not installed"
	case err != nil && strings.Contains(err.Error(), "failed"):
		return "failed"
	case st == service.StatusRunning:
		return "running"
	case st == service.StatusStopped:
		return "stopped"
	}
	return "unknown"
}

func serviceInstall(w io.Writer, configPath string) error {
	for _, u := range packageUnits {
		if _, err := os.Stat(u); err == nil && !serviceUserMode {
			return fmt.Errorf("the ocp-agent package installed %s already: use systemctl enable --now ocp-agent", u)
		}
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return usageError("--config %s: %w", configPath, err)
	}
	// A unit on a broken config would only fail to start.
	if _, err := loadConfig(abs); err != nil {
		return err
	}
	s, err := newService(abs)
	if err != nil {
		return err
	}
	if err := s.Install(); err != nil {
		return fmt.Errorf("service install: %w", err)
	}
	fmt.Fprintf(w, "installed and enabled %s.service (config %s); start it with: ocp-agent service start\n", serviceName, abs)
	return nil
}

func serviceUninstall(w io.Writer, s service.Service) error {
	if serviceStatus(s) == "running" {
		fmt.Fprintln(w, "stopping the agent; the processes it manages keep running")
		if err := s.Stop(); err != nil {
			return err
		}
	}
	if err := s.Uninstall(); err != nil {
		return err
	}
	fmt.Fprintf(w, "removed %s.service\n", serviceName)
	return nil
}

// newService returns the systemd service of the agent, running this
// binary on configPath ("" for actions other than install). systemd is
// chosen whatever kardianos detects: the agent ships a systemd unit only.
func newService(configPath string) (service.Service, error) {
	if _, err := os.Stat(systemdRunDir); err != nil && !serviceUserMode {
		return nil, fmt.Errorf("systemd is not running on this host (%s is missing): run the agent with 'ocp-agent run' under this host's supervisor", systemdRunDir)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	c := &service.Config{
		Name:        serviceName,
		Description: "OCP agent",
		Executable:  exe,
		Arguments:   []string{"run", "--config", configPath},
		Option:      service.KeyValue{"SystemdScript": unitTemplate(configPath), "UserService": serviceUserMode},
	}
	for _, sys := range service.AvailableSystems() {
		if sys.String() == "linux-systemd" {
			return sys.New(noProgram{}, c)
		}
	}
	return nil, errors.New("this build has no systemd support")
}

// unitTemplate is the shipped unit as a kardianos template: the same file,
// with the binary and the config of this install in ExecStart and
// ExecReload (written out here: kardianos's templates cannot index
// Arguments).
func unitTemplate(configPath string) string {
	unit := strings.Replace(systemd.Unit, systemd.ExecStart,
		"ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmdEscape}}{{end}}", 1)
	return strings.Replace(unit, systemd.ExecReload,
		"ExecReload={{Path | cmdEscape}} reload --config "+execWord(configPath), 1)
}

// execWord quotes s as one word of a unit's Exec line when it needs it:
// in double quotes with \ and " escaped, and % and $ doubled so that
// systemd expands neither a specifier nor a variable in it.
func execWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\%$;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$")
	return `"` + r.Replace(s) + `"`
}

// noProgram is the service.Interface kardianos requires. The agent never
// runs through kardianos (systemd runs `ocp-agent run`), so it does nothing.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }
