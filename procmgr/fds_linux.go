package procmgr

import (
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

var closeInheritedOnce sync.Once

// CloseInheritedOnExec marks every file descriptor above 2 close-on-exec,
// so that the descriptors the agent inherited without the flag (a shell's
// redirection, a leaky supervisor) do not reach the processes it starts.
// The agent's own descriptors have the flag already (Go sets it on all of
// them), so marking all is marking those. New calls it once per process,
// before any start; it is idempotent.
func CloseInheritedOnExec() {
	closeInheritedOnce.Do(func() {
		// close_range(2) with CLOEXEC (Linux 5.11) does it in one call.
		if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
			return
		}
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return
		}
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				unix.CloseOnExec(fd)
			}
		}
	})
}
