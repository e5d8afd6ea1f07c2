// Package memtrim gives the host back the memory the agent's heap no
// longer uses, soon after a busy spell rather than minutes later.
//
// The Go runtime keeps freed heap pages resident and returns them in the
// background, slowly (a few MB a minute): after 1000 processes started at
// once, or a run of lists of all of them, the agent's RSS stays 10-15 MB
// above what it uses for minutes. The agent shares its host with a
// database, and an operator reads its RSS at rest, so it returns them
// itself once they pass a threshold.
package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// freeBytes is the heap memory that is free and still resident: neither
// in use by objects nor returned to the system.
const freeBytes = "/memory/classes/heap/free:bytes"

// Run looks every interval at the resident free heap and, when it is
// threshold or more, collects and returns it (debug.FreeOSMemory), until
// ctx ends. A look is one read of the runtime's metrics; a return, a
// collection (a few ms of CPU for the agent's heap of about 10 MB with
// 1000 processes), so at rest it costs nothing but the wake-up.
func Run(ctx context.Context, interval time.Duration, threshold uint64) {
	t := time.NewTicker(interval)
	defer t.Stop()
	sample := []metrics.Sample{{Name: freeBytes}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free(sample) >= threshold {
			debug.FreeOSMemory()
		}
	}
}

// free is the resident free heap, read into sample (one of freeBytes).
func free(sample []metrics.Sample) uint64 {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0 // not in this runtime: nothing is ever trimmed
	}
	return sample[0].Value.Uint64()
}
