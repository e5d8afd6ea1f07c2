package procmgr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
)

// BasePath is the PATH of every managed process unless its environment
// sets another: the usual system directories, so that a command finds the
// same programs whatever environment the agent itself was started with.
const BasePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxEnvFile caps an environment_file: it is read at every start, as root,
// and a path to a log or a device must not be read whole.
const maxEnvFile = 256 << 10

// validEnvName reports whether s is a POSIX environment variable name:
// a letter or '_', then letters, digits and '_'. Anything else could not be
// used from a shell, and '=' or NUL would corrupt the environment block.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// EnvNameError says why name is not a valid variable name, or returns nil.
func EnvNameError(name string) error {
	if validEnvName(name) {
		return nil
	}
	return fmt.Errorf("%q is not a valid variable name: use letters, digits and '_', not starting with a digit", shortStr(name))
}

// ParseEnvFile parses the content of an environment_file, named file in
// its errors, into KEY=value pairs in file order (a later line wins).
//
// The format is deliberately small, and no shell is involved: one KEY=value
// per line; blank lines and lines whose first non-blank character is '#'
// are skipped; leading blanks and a trailing CR are ignored; the value is
// everything after the first '=', taken literally (no expansion, no escapes,
// '#' is part of it), except that one pair of matching quotes around the
// whole value ("..." or '...') is removed.
func ParseEnvFile(file string, data []byte) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxEnvFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		line = strings.TrimLeft(line, " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want KEY=value, got %q", file, n, shortStr(line))
		}
		if err := EnvNameError(key); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if strings.IndexByte(val, 0) >= 0 {
			return nil, fmt.Errorf("%s:%d: %s: the value must not contain a NUL byte", file, n, key)
		}
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		env = append(env, key+"="+val)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return env, nil
}

// ReadEnvFile reads and parses an environment_file. The agent reads it as
// root for a process that may run as someone else, so it refuses a
// symbolic link as the last path element (O_NOFOLLOW: a user who can write
// the directory cannot point it at /etc/shadow), anything but a regular
// file (a FIFO would block, a device never end), and more than 256 KiB.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		err = cause(err)
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("environment_file %s: is a symbolic link; name the file itself", path)
		}
		return nil, fmt.Errorf("environment_file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("environment_file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("environment_file %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, fmt.Errorf("environment_file %s: %w", path, err)
	}
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("environment_file %s: larger than %d bytes", path, maxEnvFile)
	}
	return ParseEnvFile(path, data)
}

// childEnv is the environment of a managed process. It is built from an
// allow-list, never from the agent's own environment, which holds the
// agent's secrets (OCP_AGENT_PASSWORD, cloud credentials) and systemd's
// variables (NOTIFY_SOCKET, WATCHDOG_*) that would let a child speak for
// the agent. In increasing precedence: PATH (BasePath), HOME, USER,
// LOGNAME and SHELL of the user it runs as; the environment_file's
// variables; the configured environment. OCP_AGENT_PROCESS and the launch
// token come last and cannot be overridden: adoption relies on the token.
func childEnv(who runAs, spec *Spec, fileVars []string, token string) []string {
	vars := map[string]string{"PATH": BasePath, "HOME": who.home, "SHELL": who.shell}
	if who.name != "" {
		vars["USER"], vars["LOGNAME"] = who.name, who.name
	}
	for _, kv := range fileVars {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for k, v := range spec.Environment {
		vars[k] = v
	}
	vars["OCP_AGENT_PROCESS"] = spec.Alias
	vars[launchEnv] = token
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// lookPathIn finds file as execvp would in the directories of path (the
// child's PATH, not the agent's). A name with a slash is used as is.
func lookPathIn(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH %s", file, path)
}

// shortStr cuts s to a length fit for a one-line message.
func shortStr(s string) string {
	if len(s) <= 60 {
		return s
	}
	return s[:60] + "..."
}

// envValue returns the value of key in env, a list of KEY=value.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}
