package config

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// PermissionHostViewer lets a user read the agent's processes.
const PermissionHostViewer = "HOST_VIEWER"

// PermissionHostManager lets a user stop, start and restart processes; it
// implies PermissionHostViewer.
const PermissionHostManager = "HOST_MANAGER"

// ReservedAlias is the alias under which the agent lists itself, so no
// configured process may take it.
const ReservedAlias = "ocp_agentd"

var (
	permissions = []string{PermissionHostViewer, PermissionHostManager}
	logLevels   = []string{"debug", "info", "warn", "error"}
	aliasRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	hostnameRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9.])?$`)
)

// maxSocketPath is the longest unix socket path Linux can bind (sun_path is
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

// validListen checks a TCP address: host:port with a numeric port. The host
// may be empty (all interfaces), an IP address or a host name.
func validListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port like %s, got %q", DefaultListen, short(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(port, "+-") {
		return fmt.Errorf("port %q is not a number from 0 to 65535", short(port))
	}
	if host == "" || net.ParseIP(stripZone(host)) != nil {
		return nil
	}
	if len(host) > 253 || !hostnameRE.MatchString(host) {
		return fmt.Errorf("%q is not an IP address or a host name", short(host))
	}
	return nil
}

// isLoopback says whether a valid listen address only accepts connections
// from this host.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(stripZone(host))
	return ip != nil && ip.IsLoopback()
}

func stripZone(host string) string {
	if i := strings.IndexByte(host, '%'); i >= 0 {
		return host[:i]
	}
	return host
}

func validSocket(s string) error {
	if err := absPath(s); err != nil {
		return err
	}
	if len(s) > maxSocketPath {
		return fmt.Errorf("too long for a unix socket (%d bytes, at most %d)", len(s), maxSocketPath)
	}
	return nil
}

// absPath checks that s is an absolute path: the agent runs from / under
// systemd, so a relative one would not mean what its writer meant.
func absPath(s string) error {
	if err := noNUL(s); err != nil {
		return err
	}
	if !filepath.IsAbs(s) {
		return fmt.Errorf("want an absolute path, got %q", short(s))
	}
	return nil
}

func noNUL(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("must not contain a NUL byte")
	}
	return nil
}

// validAlias checks an alias: it names files under the state directory and
// is given to the CLI in place of an id, hence neither all digits nor
// ReservedAlias.
func validAlias(s string) error {
	switch {
	case s == ReservedAlias:
		return fmt.Errorf("%q is reserved: the agent lists itself under it", s)
	case !aliasRE.MatchString(s):
		return fmt.Errorf("%q is not a valid alias: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", short(s))
	case strings.Trim(s, "0123456789") == "":
		return fmt.Errorf("%q is all digits, which the CLI would take for an id; add a letter", s)
	}
	return nil
}

// validUserName checks an HTTP user name, which both Basic auth and the
// OCP-HMACSHA256 header end at the first ':'.
func validUserName(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case strings.ContainsRune(s, ':'):
		return fmt.Errorf("%q must not contain ':'", short(s))
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%q must not contain control characters", short(s))
	}
	return nil
}

func validCommand(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be blank")
	}
	return noNUL(s)
}

// lookupUser checks that the account a process runs as exists here, so that
// a typo fails at load rather than at the first start.
func lookupUser(name string) error {
	if name == "" || strings.ContainsAny(name, ":/\x00") || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("%q is not a valid user name", short(name))
	}
	_, err := user.Lookup(name)
	var unknown user.UnknownUserError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("unknown user %q on this host", short(name))
	case err != nil:
		return fmt.Errorf("cannot look up user %q: %v", short(name), err)
	}
	return nil
}

// looksBcrypt says whether a password is meant as a bcrypt hash.
func looksBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

var bcryptRE = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)

// wellFormedBcrypt says whether s is a complete bcrypt hash, one that some
// password can match.
func wellFormedBcrypt(s string) bool {
	return bcryptRE.MatchString(s)
}

// validGlob checks a log_file_pattern as filepath.Glob will read it. It
// checks each path element apart, since Match stops at the first mismatch.
func validGlob(s string) error {
	for _, elem := range strings.Split(s, "/") {
		if _, err := filepath.Match(elem, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob pattern", short(s))
		}
	}
	return nil
}
