package procmgr

import (
	"fmt"
	"os"
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
	name  string // "" when the agent's uid has no name
	home  string
	shell string
	cred  *syscall.Credential // nil: the agent's own user
}

// lookupRunAs resolves a user name at start time rather than at config
// time, so that a user created after the agent started is found. An empty
// name is the agent's own user, whose HOME, USER and SHELL the process
// gets too (the agent's environment is not passed on).
func lookupRunAs(name string, agentUID int) (runAs, error) {
	if name == "" {
		u, err := user.LookupId(strconv.Itoa(agentUID))
		if err != nil {
			return runAs{home: "/", shell: defaultShell}, nil
		}
		return runAs{name: u.Username, home: u.HomeDir, shell: loginShell(u.Username)}, nil
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
	r := runAs{name: u.Username, home: u.HomeDir, shell: loginShell(u.Username)}
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

// defaultShell is SHELL when the password database names none.
const defaultShell = "/bin/sh"

// passwdFile is where loginShell reads users' shells.
var passwdFile = "/etc/passwd"

// loginShell returns the shell field of name's /etc/passwd entry, which
// os/user does not expose; defaultShell when there is none (a user known
// only to NSS, or an empty field, which login(1) reads as /bin/sh too).
func loginShell(name string) string {
	data, err := os.ReadFile(passwdFile)
	if err != nil {
		return defaultShell
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == name && f[6] != "" {
			return f[6]
		}
	}
	return defaultShell
}

// exitStatus is the shell's view of how a process ended: its exit code, or
// 128+signal when a signal killed it.
func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
