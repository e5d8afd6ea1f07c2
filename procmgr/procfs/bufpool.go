package procfs

import "sync"

// bufs are read buffers for the per-process files of a listing (status,
// cmdline), shared by concurrent listings: a status file is about 1.5 KiB,
// and reading it into a fresh buffer would grow one three times.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

// putBuf returns a buffer to the pool, unless it grew too large to keep
// (the cmdline of a process with a huge argv).
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		*bp = (*bp)[:0]
		bufs.Put(bp)
	}
}
