package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"unicode/utf8"

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
Ctrl-C ends it with status 0.

'ocp-agent logs ocp_agentd' prints the agent's own log, its log.file; an
agent that logs to stderr (under systemd: the journal) is read with
journalctl, and the command says so.

Only regular files are read: a symbolic link matching the pattern is
skipped, since the command usually runs as root in directories the managed
user owns. On a terminal, control characters of the lines are printed
escaped (\x1b), so that a log cannot drive the terminal.`,
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
		if pattern == "" {
			journal := fmt.Sprintf("journalctl -u ocp-agent -n %d", *n)
			if *follow {
				journal += " -f"
			}
			return fmt.Errorf("%s logs to stderr (log.file is not set in %s); under systemd that is the journal: %s", agentAlias, cfg.File, journal)
		}
		out := cmd.OutOrStdout()
		emit := textLines(out, writesToTerminal(out))
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

// agentAlias is the agent's own alias in its process list.
const agentAlias = "ocp_agentd"

// logPattern returns the glob of alias's log files; "" for the agent's
// own log when it goes to stderr.
func logPattern(cfg *config.Config, name string, output bool) (string, error) {
	if name == agentAlias && !output && !slices.ContainsFunc(cfg.Processes, func(p config.Process) bool { return p.Alias == name }) {
		return cfg.Log.File, nil
	}
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

// textLines prints lines as they are; with escape (a terminal), their
// control characters are printed as Go escapes (tabs are kept), so that
// what a process logged cannot move the cursor, retitle the window or
// answer back through the terminal.
func textLines(w io.Writer, escape bool) lineEmitter {
	return func(_ string, line []byte) error {
		if escape {
			line = escapeControls(line)
		}
		_, err := fmt.Fprintf(w, "%s\n", line)
		return err
	}
}

// escapeControls returns line with C0 and C1 control characters (but tab),
// DEL and bytes that are not UTF-8 written as \xNN or \u00NN.
func escapeControls(line []byte) []byte {
	var b []byte
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = fmt.Appendf(b, "\\x%02x", line[i])
		case r == '\t':
			b = append(b, '\t')
		case r < 0x20 || r == 0x7f:
			b = fmt.Appendf(b, "\\x%02x", r)
		case r >= 0x80 && r < 0xa0:
			b = fmt.Appendf(b, "\\u%04x", r)
		default:
			b = append(b, line[i:i+size]...)
		}
		i += size
	}
	return b
}

// writesToTerminal says whether w is a terminal.
func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
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
