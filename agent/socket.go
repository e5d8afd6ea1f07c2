package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ocp-agent/ocp-agent/internal/safedir"
)

// socketSpec is how the local admin socket is created.
type socketSpec struct {
	path string
	// group, when hasGroup, owns the socket, which is then 0660 rather
	// than 0600: its members can connect (and read, see socketPolicy).
	group    uint32
	hasGroup bool
}

// mode is the socket file's permission bits.
func (s socketSpec) mode() os.FileMode {
	if s.hasGroup {
		return 0o660
	}
	return 0o600
}

// ErrSocketInUse means another process (most likely another agent) serves
// on the configured socket: the agent does not start.
var ErrSocketInUse = errors.New("socket in use")

// listenSocket creates the unix socket of spec, replacing a stale socket
// file that nothing answers on. It never removes anything but a socket, and
// never one that is live: a live one means another agent.
//
// The socket's directory must be one only root can change (see safedir):
// whoever can rename files in it could swap the socket for a symlink
// between bind and chmod and have root chmod or chown any file. The mode
// and group are still set through a descriptor of the socket file itself,
// never by path, as a second line of defence.
func listenSocket(spec socketSpec) (net.Listener, error) {
	dir := filepath.Dir(spec.path)
	if err := safedir.Check(dir); err != nil {
		return nil, fmt.Errorf("listen on %s: server.socket must be in a directory only root can write: %w", spec.path, err)
	}
	if err := clearStaleSocket(spec.path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", spec.path, err)
	}
	ln, err := bindSocket(spec.path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", spec.path, err)
	}
	// Bound owner-only; given to the group, then opened to it, so that no
	// one else can connect at any moment in between.
	gid := -1
	if spec.hasGroup {
		gid = int(spec.group)
	}
	if err := setSocketAccess(spec.path, gid, spec.mode()); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", spec.path, err)
	}
	return ln, nil
}

// clearStaleSocket removes a socket file left by an agent that did not
// shut down cleanly: one that refuses connections. Anything else at path
// is an error: a live socket (answered), or a file that is not a socket,
// which an agent never leaves and must not delete.
func clearStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("listen on %s: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("listen on %s: it exists and is not a socket (%s); remove it or choose another server.socket", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		holder := ""
		if p, perr := readPeer(c.(*net.UnixConn)); perr == nil {
			holder = fmt.Sprintf(" by pid %d", p.pid)
		}
		c.Close()
		return fmt.Errorf("listen on %s: %w: it is served%s (another agent?)", path, ErrSocketInUse, holder)
	}
	switch {
	case errors.Is(err, syscall.EAGAIN):
		// A full backlog: a server is there, only busy.
		return fmt.Errorf("listen on %s: %w: it is served, with a full backlog (another agent?)", path, ErrSocketInUse)
	case !errors.Is(err, syscall.ECONNREFUSED):
		// Unknown is not stale.
		return fmt.Errorf("listen on %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen on %s: remove the stale socket: %w", path, err)
	}
	return nil
}
