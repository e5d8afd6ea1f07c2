package procmgr

import (
	"errors"

	"golang.org/x/sys/unix"
)

// groupEmpty reports whether no process at all, zombies included, is in
// process group pgid: kill(2) of the group with signal 0 then fails with
// ESRCH. It is the cheap answer of the common case; when it is false
// (members, or merely zombies, remain; or they are another user's) only a
// scan of /proc tells the live members apart.
func groupEmpty(pgid int) bool {
	return errors.Is(unix.Kill(-pgid, 0), unix.ESRCH)
}
