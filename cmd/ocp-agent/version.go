package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

// newVersionCmd is `ocp-agent version`.
func newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  exactArgs(0, "no arguments"),
	}
	asJSON := jsonFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *asJSON {
			return writeJSON(cmd.OutOrStdout(), map[string]string{
				"version": version, "commit": commit, "date": date, "go": runtime.Version(),
			})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "ocp-agent %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
		return nil
	}
	return cmd
}

// writeJSON prints v indented, for scripts and people alike.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
