package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// checkFindings looks, as config check, for what would fail a start but
// cannot be known from the file alone: a program not found or not
// executable for its user, a user whose group is gone, a directory the
// user cannot enter, an unreadable environment_file, a limit the agent
// could not set, and an explicit id the state gave another alias. Each
// finding is a *config.Error naming the line and the key, followed by the
// process's alias. notes say what could not be checked.
func checkFindings(cfg *config.Config) (findings []*config.Error, notes []string) {
	add := func(i int, line int, key string, err error) {
		p := cfg.Processes[i]
		findings = append(findings, cfg.Errorf(line, fmt.Sprintf("processes[%d].%s", i, key), "%v (process %s)", err, p.Alias))
	}
	for i, p := range cfg.Processes {
		uid, gids, err := processUser(p.User)
		if err != nil {
			add(i, p.Lines["user"], "user", err)
			continue // the other checks answer for a user
		}
		if name, ok := firstProgram(p.StartCommand); ok {
			path := procmgr.BasePath
			if v, ok := p.Environment["PATH"]; ok {
				path = v
			}
			if _, err := procmgr.FindExecutable(name, path, uid, gids); err != nil {
				add(i, p.Lines["start_command"], "start_command", err)
			}
		}
		if p.Directory != "" {
			if err := procmgr.CheckDirectory(p.Directory, uid, gids); err != nil {
				add(i, p.Lines["directory"], "directory", err)
			}
		}
		if p.EnvironmentFile != "" {
			if _, err := procmgr.ReadEnvFile(p.EnvironmentFile); err != nil {
				add(i, p.Lines["environment_file"], "environment_file", err)
			}
		}
		for _, l := range p.Limits {
			if err := procmgr.CheckLimit(procmgr.Limit{Name: l.Name, Value: l.Value}); err != nil {
				add(i, p.Lines["limits."+l.Name], "limits."+l.Name, err)
			}
		}
	}
	owners, err := state.ReadIDOwners(cfg.StateDir)
	if err != nil {
		return findings, append(notes, fmt.Sprintf("explicit ids not checked against the state: %v", err))
	}
	for i, p := range cfg.Processes {
		if owner, ok := owners[p.ID]; ok && p.ID > 0 && owner != p.Alias {
			add(i, p.IDLine, "id", &state.IDTakenError{ID: p.ID, Owner: owner})
		}
	}
	return findings, notes
}

// processUser returns the uid and groups a process of user name runs
// with ("" is the user running the check, as it is the agent's).
func processUser(name string) (uint32, []uint32, error) {
	if name == "" {
		gids := []uint32{uint32(os.Getgid())}
		gs, _ := os.Getgroups()
		for _, g := range gs {
			gids = append(gids, uint32(g))
		}
		return uint32(os.Getuid()), gids, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, nil, fmt.Errorf("user %s: %w", name, err)
	}
	if _, err := user.LookupGroupId(u.Gid); err != nil {
		var unknown user.UnknownGroupIdError
		if errors.As(err, &unknown) {
			return 0, nil, fmt.Errorf("user %s: its group %s does not exist", name, u.Gid)
		}
		return 0, nil, fmt.Errorf("user %s: group %s: %w", name, u.Gid, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	gids := []uint32{uint32(gid)}
	ids, _ := u.GroupIds()
	for _, s := range ids {
		if g, err := strconv.ParseUint(s, 10, 32); err == nil {
			gids = append(gids, uint32(g))
		}
	}
	return uint32(uid), gids, nil
}

// shellWords are the first words of a command line that are the shell's,
// not programs to find in PATH.
var shellWords = []string{"exec", ".", ":", "cd", "export", "set", "unset", "eval", "trap", "ulimit", "umask",
	"if", "for", "while", "until", "case", "command", "{", "!", "(", "time", "wait", "read", "echo", "test", "["}

// firstProgram returns the program a command line runs first, when its
// first word is a plain word (no quoting, expansion, assignment: then only
// the shell knows) and not one of the shell's own.
func firstProgram(command string) (string, bool) {
	f := strings.Fields(command)
	if len(f) == 0 || strings.ContainsAny(f[0], "|&;<>()$`\\\"'*?[]#~=%{}!") {
		return "", false
	}
	for _, w := range shellWords {
		if f[0] == w {
			return "", false
		}
	}
	return f[0], true
}
