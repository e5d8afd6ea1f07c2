package procmgr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// mayAccess reports whether uid, with groups gids, has the permission bits
// want (4 read, 2 write, 1 execute/search) on the file fi describes, by its
// owner, group and mode, as the kernel decides without ACLs. It answers for
// another user, which access(2) cannot; root is never asked (it may).
func mayAccess(fi fs.FileInfo, uid uint32, gids []uint32, want fs.FileMode) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := fi.Mode().Perm()
	switch {
	case st.Uid == uid:
		mode >>= 6
	case slices.Contains(gids, st.Gid):
		mode >>= 3
	}
	return mode&want == want
}

// uid is the uid the process runs as.
func (r runAs) uid() uint32 {
	if r.cred != nil {
		return r.cred.Uid
	}
	return uint32(os.Getuid())
}

// gids are the primary and supplementary groups the process runs with.
func (r runAs) gids() []uint32 {
	if r.cred != nil {
		return append([]uint32{r.cred.Gid}, r.cred.Groups...)
	}
	gs, _ := os.Getgroups()
	out := []uint32{uint32(os.Getgid())}
	for _, g := range gs {
		out = append(out, uint32(g))
	}
	return out
}

// FindExecutable finds the program name as the shell would, in the
// directories of path, and checks that uid (with groups gids) may execute
// it: for `config check`, which answers for the user a process runs as.
func FindExecutable(name, path string, uid uint32, gids []uint32) (string, error) {
	found, err := lookPathIn(name, path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(found)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %w", found, cause(err))
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%s: not a regular file", found)
	case fi.Mode().Perm()&0o111 == 0, uid != 0 && !mayAccess(fi, uid, gids, 0o1):
		return "", fmt.Errorf("%s: not executable by uid %d", found, uid)
	}
	return found, nil
}

// cause drops the path from a *fs.PathError: messages name the file already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
