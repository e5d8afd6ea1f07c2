package procmgr

import (
	"fmt"
	"os"
	"strings"
)

// workDir is the directory a process starts in: dir when configured, else
// the user's home when it exists, else /. A configured directory that is
// missing, not a directory or not searchable by the user is an error that
// names it; a missing home is not, as with login(1).
func workDir(dir string, who runAs) (string, error) {
	if dir == "" {
		if fi, err := os.Stat(who.home); who.home != "" && err == nil && fi.IsDir() {
			return who.home, nil
		}
		return "/", nil
	}
	if err := CheckDirectory(dir, who.uid(), who.gids()); err != nil {
		return "", err
	}
	return dir, nil
}

// CheckDirectory checks that dir can be the working directory of a process
// of uid (with groups gids): it exists, is a directory, and the user may
// search it and every directory above it.
func CheckDirectory(dir string, uid uint32, gids []uint32) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot change to directory %s: %w", dir, cause(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("cannot change to directory %s: not a directory", dir)
	}
	if uid == 0 {
		return nil
	}
	// Every directory on the way needs search (x) permission.
	p := dir
	for {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cannot change to directory %s: %s: %w", dir, p, err)
		}
		if !mayAccess(fi, uid, gids, 0o1) {
			return fmt.Errorf("cannot change to directory %s: permission denied for uid %d (on %s)", dir, uid, p)
		}
		if p == "/" {
			return nil
		}
		i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}
