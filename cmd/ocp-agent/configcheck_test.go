package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/internal/testdir"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// TestConfigCheckFindings: config check reports what would fail a start,
// each with the file, the line of the key, the key and the alias, and
// exits 2; what it cannot check is a note, not a failure.
func TestConfigCheckFindings(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("checks for the user nobody need root")
	}
	dir := testdir.Shared(t)
	private := filepath.Join(dir, "private")
	os.Mkdir(private, 0o700)
	rootOnly := filepath.Join(dir, "root-only")
	os.WriteFile(rootOnly, []byte("#!/bin/sh\n"), 0o744)

	// An agent holds this state open: explicit id 185 is "other"'s.
	held := filepath.Join(dir, "held")
	st, err := state.OpenBolt(held)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AssignID("other", 185); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	os.Mkdir(garbage, 0o700)
	os.WriteFile(filepath.Join(garbage, "state.db"), []byte("not a database"), 0o600)

	// Lines 1-4 are the header, the process starts on 5 (alias) and its
	// start_command is on 6; extra keys from line 7.
	conf := func(stateDir, command string, extra ...string) string {
		s := "host:\n  id: 20\nstate_dir: " + stateDir + "\nprocesses:\n  - alias: p\n    start_command: " + command + "\n"
		for _, e := range extra {
			s += "    " + e + "\n"
		}
		return s
	}
	fresh := filepath.Join(dir, "fresh")
	cases := []struct {
		name, yaml string
		code       int
		want       string // in stdout
	}{
		{"all good", conf(fresh, "sleep 1", "directory: "+dir, "limits: {nofile: 1024}"), 0, "ok: host 20"},
		{"program not found", conf(fresh, "no-such-program-ocp -x"), 2,
			":6: processes[0].start_command: no-such-program-ocp: not found in PATH " + "/usr/local/sbin:"},
		{"program found in the configured PATH only", conf(fresh, "root-only", "environment: {PATH: "+dir+"}"), 0, "ok"},
		{"first word of a shell line", conf(fresh, `"no-such-program-ocp | cat"`), 2, "no-such-program-ocp: not found"},
		{"shell builtin first", conf(fresh, `"exec no-such-program-ocp"`), 0, "ok"},
		{"assignment first", conf(fresh, `"A=1 no-such-program-ocp"`), 0, "ok"},
		{"not executable for the user", conf(fresh, rootOnly, "user: nobody"), 2,
			":6: processes[0].start_command: " + rootOnly + ": not executable by uid"},
		{"missing directory", conf(fresh, "sleep 1", "directory: /nonexistent/ocp"), 2,
			":7: processes[0].directory: cannot change to directory /nonexistent/ocp: no such file or directory (process p)"},
		{"directory the user cannot enter", conf(fresh, "sleep 1", "user: nobody", "directory: "+private), 2,
			":8: processes[0].directory: cannot change to directory " + private + ": permission denied for uid"},
		{"limit above what can be set", conf(fresh, "sleep 1", "limits:", "  core: unlimited", "  nofile: 1099511627776"), 2,
			":9: processes[0].limits.nofile: 1099511627776 is above the kernel's maximum"},
		{"environment_file missing", conf(fresh, "sleep 1", "environment_file: "+filepath.Join(dir, "none.env")), 2,
			":7: processes[0].environment_file: environment_file " + filepath.Join(dir, "none.env") + ": no such file or directory"},
		{"id taken in the state", conf(held, "sleep 1", "id: 185"), 2,
			`:7: processes[0].id: id 185 is already assigned to alias "other" (ids are never reused) (process p)`},
		{"id free in the state", conf(held, "sleep 1", "id: 186"), 0, "ok"},
		{"state unreadable is a note", conf(garbage, "sleep 1", "id: 185"), 0, "note: explicit ids not checked against the state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			code, stdout, stderr := runCLI("config", "check", "--config", path)
			if code != tc.code || !strings.Contains(stdout, tc.want) {
				t.Errorf("status %d, want %d\nstdout %q\nwant it to contain %q\nstderr %q", code, tc.code, stdout, tc.want, stderr)
			}
			if tc.code == 2 && !strings.Contains(stdout, path+":") {
				t.Errorf("finding does not name the file: %q", stdout)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte(conf(held, "sleep 1", "id: 185", "directory: /nonexistent/ocp")), 0o600)
		code, stdout, _ := runCLI("config", "check", "--json", "--config", path)
		var r checkResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v: %q", err, stdout)
		}
		if code != 2 || len(r.Findings) != 2 || len(r.Notes) != 0 {
			t.Errorf("status %d, findings %q, notes %q", code, r.Findings, r.Notes)
		}
	})
}
