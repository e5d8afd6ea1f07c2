//go:build man

// The man page generator, built only with the tag "man" (`make man`), so
// that the released binary does not link cobra's doc generator and its
// markdown-to-roff converter: a one-off build step has no business in a
// root daemon.

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manCommand is the argument that makes a binary built with the tag write
// the man pages of every command into the directory that follows it.
const manCommand = "__gen-man"

// init runs before main, so the generator needs no hook in the command
// tree it documents: it writes the pages and exits.
func init() {
	if len(os.Args) != 3 || os.Args[1] != manCommand {
		return
	}
	if err := genMan(os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "ocp-agent: %v\n", err)
		os.Exit(exitFail)
	}
	os.Exit(exitOK)
}

// genMan writes ocp-agent.1 and one ocp-agent-COMMAND.1 per command into
// dir. The date is SOURCE_DATE_EPOCH's when set, so that packages built
// twice from one tree are identical.
func genMan(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	root, _ := newRootCmd()
	root.DisableAutoGenTag = true
	walk(root, func(c *cobra.Command) { c.DisableAutoGenTag = true })
	date := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var epoch int64
		if _, err := fmt.Sscan(s, &epoch); err != nil {
			return fmt.Errorf("man pages: SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		date = time.Unix(epoch, 0).UTC()
	}
	header := &doc.GenManHeader{
		Title:   "OCP-AGENT",
		Section: "1",
		Date:    &date,
		Source:  "ocp-agent " + version,
		Manual:  "ocp-agent manual",
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("man pages in %s: %w", dir, err)
	}
	return nil
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}
