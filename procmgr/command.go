package procmgr

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/ocp-agent/ocp-agent/procmgr/shellcmd"
)

// commandArgv turns a start_command into an argv: one simple command
// without expansions is executed directly, so that the process the agent
// watches is the program itself; any other command line runs under
// /bin/sh -c and the shell is the process (see package shellcmd).
func commandArgv(command string) []string {
	argv, _ := shellcmd.Argv(command)
	return argv
}

// runAs is who a managed process runs as.
type runAs struct {
	name string
	home string
	cred *syscall.Credential // nil: the agent's own user
}

// lookupRunAs resolves a user name at start time rather than at config
// time, so that a user created after the agent started is found.
func lookupRunAs(name string, agentUID int) (runAs, error) {
	if name == "" {
		return runAs{}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return runAs{}, fmt.Errorf("user %s: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return runAs{}, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return runAs{}, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	r := runAs{name: u.Username, home: u.HomeDir}
	if int(uid) == agentUID {
		return r, nil // already that user: nothing to switch
	}
	if agentUID != 0 {
		return runAs{}, fmt.Errorf("cannot run as user %s: the agent runs as uid %d, and only root can switch users", name, agentUID)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	r.cred = cred
	return r, nil
}

// strippedEnv lists variables that belong to the agent's own supervisor
// (systemd) and would make a child talk to it as if it were the agent.
var strippedEnv = []string{"NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=", "LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES="}

// childEnv is the environment of a managed process: the agent's, less
// systemd's variables, with HOME, USER and LOGNAME of the user it runs as.
func childEnv(base []string, who runAs, alias string) []string {
	env := make([]string, 0, len(base)+4)
	for _, kv := range base {
		if hasAnyPrefix(kv, strippedEnv) {
			continue
		}
		if who.name != "" && hasAnyPrefix(kv, []string{"HOME=", "USER=", "LOGNAME="}) {
			continue
		}
		env = append(env, kv)
	}
	if who.name != "" {
		env = append(env, "HOME="+who.home, "USER="+who.name, "LOGNAME="+who.name)
	}
	return append(env, "OCP_AGENT_PROCESS="+alias)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// exitStatus is the shell's view of how a process ended: its exit code, or
// 128+signal when a signal killed it.
func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
