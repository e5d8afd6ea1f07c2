package safedir

import (
	"io/fs"
	"syscall"
)

func entryOf(path string, fi fs.FileInfo) entry {
	st := fi.Sys().(*syscall.Stat_t)
	return entry{path: path, uid: st.Uid, gid: st.Gid, mode: st.Mode}
}
