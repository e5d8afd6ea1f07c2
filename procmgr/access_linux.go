package procmgr

import (
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
