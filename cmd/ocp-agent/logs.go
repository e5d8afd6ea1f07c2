package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ocp-agent/ocp-agent/config"
)

// newLogsCmd is `ocp-agent logs ALIAS`: the tail of a process's log, read
// straight from the files, so that it works when the agent is down too.
func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs ALIAS|ID",
		Short: "Print the last lines of a process's log (-f to follow)",
		Long: `Print the last lines of the newest file matching the process's
log_file_pattern in the config (or, with --output, of what the process wrote
to stdout and stderr: state_dir/output/ALIAS.log). With -f, keep printing
lines as they are written, across rotation: when the file is renamed or a
newer one matches the pattern, the rest of the old file is printed, then the
new one from its start. A truncated file is read again from its start.
Ctrl-C ends it with status 0.`,
		Args:              exactArgs(1, "one ALIAS"),
		ValidArgsFunction: completeAliases,
	}
	path := configFlag(cmd)
	asJSON := jsonFlag(cmd)
	n := cmd.Flags().IntP("lines", "n", 10, "how many of the last lines to print")
	follow := cmd.Flags().BoolP("follow", "f", false, "keep printing new lines, across rotation, until Ctrl-C")
	output := cmd.Flags().Bool("output", false, "the process's stdout and stderr as the agent captured them, instead of log_file_pattern")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *n < 0 {
			return usageError("-n %d: want 0 or more lines", *n)
		}
		cfg, err := loadConfig(*path)
		if err != nil {
			return err
		}
		pattern, err := logPattern(cfg, args[0], *output)
		if err != nil {
			return err
		}
		emit := textLines(cmd.OutOrStdout())
		if *asJSON {
			emit = jsonLines(cmd.OutOrStdout())
		}
		file, err := newestMatch(pattern)
		if err != nil {
			return err
		}
		if file == "" && !*follow {
			return fmt.Errorf("no file matches %s yet", pattern)
		}
		var off int64
		if file != "" {
			if off, err = printTail(file, *n, emit); err != nil {
				return err
			}
		}
		if !*follow {
			return nil
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return (&follower{pattern: pattern, emit: emit}).run(ctx, file, off)
	}
	return cmd
}

// logPattern returns the glob of alias's log files.
func logPattern(cfg *config.Config, name string, output bool) (string, error) {
	for _, p := range cfg.Processes {
		if p.Alias != name && (p.ID == 0 || strconv.FormatInt(p.ID, 10) != name) {
			continue
		}
		if output {
			return filepath.Join(cfg.StateDir, "output", p.Alias+".log*"), nil
		}
		if p.LogFilePattern == "" {
			return "", fmt.Errorf("%s has no log_file_pattern in %s; its stdout and stderr: ocp-agent logs --output %s", p.Alias, cfg.File, p.Alias)
		}
		return p.LogFilePattern, nil
	}
	return "", fmt.Errorf("no process %q in %s", name, cfg.File)
}

// lineEmitter prints one line of file, without its newline.
type lineEmitter func(file string, line []byte) error

func textLines(w io.Writer) lineEmitter {
	return func(_ string, line []byte) error {
		_, err := fmt.Fprintf(w, "%s\n", line)
		return err
	}
}

// jsonLines prints one JSON object per line, so that a script can tell
// from which file each line came.
func jsonLines(w io.Writer) lineEmitter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(file string, line []byte) error {
		return enc.Encode(struct {
			File string `json:"file"`
			Line string `json:"line"`
		}{file, string(line)})
	}
}
