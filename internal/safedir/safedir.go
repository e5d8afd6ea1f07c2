// Package safedir tells whether a directory can be trusted by a root
// agent: whether anyone but root (or the agent's own user) could replace
// what lies in it, for instance swap a file the agent writes for a symlink
// to /etc/passwd. The rule is the one of ssh's StrictModes: every
// component from / down is owned by root or by the agent's user and
// writable by no one else, with one exception for sticky directories such
// as /tmp, whose entries only their owners may remove or rename.
package safedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symlinks followed, as the kernel's ELOOP does.
const maxLinks = 40

// UntrustedError says which component of a path others could change, and why.
type UntrustedError struct {
	Path   string // the path checked
	Bad    string // the component at fault
	Reason string
}

func (e *UntrustedError) Error() string {
	if e.Bad == e.Path {
		return fmt.Sprintf("%s is not safe for the agent: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("%s is not safe for the agent: %s %s", e.Path, e.Bad, e.Reason)
}

// Check returns an *UntrustedError when a user other than root or the
// calling user could replace dir or any directory above it; a wrapped I/O
// error when it cannot tell. Components that do not exist yet are fine:
// the agent creates them itself, in a directory that passed. A symlink is
// followed (its own directory must pass, since whoever writes there can
// repoint it) and its target checked the same way.
func Check(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("check %s: not an absolute path", dir)
	}
	c := checker{path: dir, uid: uint32(os.Geteuid())}
	return c.walk(filepath.Clean(dir))
}

type checker struct {
	path  string
	uid   uint32
	links int
}

// walk checks abs component by component from /.
func (c *checker) walk(abs string) error {
	parts := strings.Split(strings.TrimPrefix(abs, "/"), "/")
	cur := "/"
	var parent *entry
	for i := -1; i < len(parts); i++ {
		if i >= 0 {
			if parts[i] == "" {
				continue
			}
			cur = filepath.Join(cur, parts[i])
		}
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created later by the agent, under a trusted parent
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", c.path, err)
		}
		e := entryOf(cur, fi)
		if parent != nil && parent.sticky() && e.uid != 0 && e.uid != c.uid {
			return c.untrusted(cur, fmt.Sprintf("is owned by uid %d in %s, which everyone may write (sticky): it must be owned by root", e.uid, parent.path))
		}
		if fi.Mode().Type() == fs.ModeSymlink {
			c.links++
			if c.links > maxLinks {
				return fmt.Errorf("check %s: too many symlinks", c.path)
			}
			target, err := os.Readlink(cur)
			if err != nil {
				return fmt.Errorf("check %s: %w", c.path, err)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			rest := filepath.Join(append([]string{target}, parts[i+1:]...)...)
			return c.walk(filepath.Clean(rest))
		}
		if !fi.IsDir() {
			return c.untrusted(cur, "is not a directory")
		}
		if e.uid != 0 && e.uid != c.uid {
			return c.untrusted(cur, fmt.Sprintf("is owned by uid %d: it must be owned by root", e.uid))
		}
		last := i == len(parts)-1
		switch {
		case e.mode&0o002 != 0 && (last || !e.sticky()):
			return c.untrusted(cur, fmt.Sprintf("is writable by everyone (mode %04o)", e.mode&0o7777))
		case e.mode&0o020 != 0 && (last || !e.sticky()):
			return c.untrusted(cur, fmt.Sprintf("is writable by its group %d (mode %04o)", e.gid, e.mode&0o7777))
		}
		parent = &e
	}
	return nil
}

func (c *checker) untrusted(bad, reason string) error {
	return &UntrustedError{Path: c.path, Bad: bad, Reason: reason}
}

// entry is what the rule needs of one component.
type entry struct {
	path     string
	uid, gid uint32
	mode     uint32
}

func (e entry) sticky() bool { return e.mode&0o1000 != 0 }
