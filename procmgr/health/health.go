// Package health probes whether a program works, not only whether it runs:
// a TCP connect, an HTTP GET, or a command's exit status. It knows nothing
// of the processes it probes; procmgr decides when to probe and what a
// failure leads to.
package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Check is one probe of a program. Check returns nil when the program
// answered as it should before ctx ended, else an error saying in one line
// what went wrong. A Check holds no state between calls, so one value may
// be probed again and again; the caller runs one probe at a time.
type Check interface {
	Check(ctx context.Context) error
	// String names the probe in messages, e.g. "tcp 127.0.0.1:8089".
	String() string
}

// ErrTimeout is the error (wrapped) of a probe that did not answer within
// its timeout.
var ErrTimeout = errors.New("timed out")

// errTimeoutCause marks the context Run gives a probe, so that a timeout
// is told apart from the caller cancelling (a stop).
var errTimeoutCause = errors.New("health check timeout")

// Run runs c, bounded by timeout, and returns its error prefixed with
// what c is ("tcp 127.0.0.1:8089: connection refused"). A probe that did
// not answer in time fails with ErrTimeout; one whose ctx the caller
// cancelled returns ctx's error, which is no verdict on the program.
func Run(ctx context.Context, c Check, timeout time.Duration) error {
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeoutCause)
	defer cancel()
	err := c.Check(tctx)
	if err == nil && ctx.Err() == nil {
		return nil
	}
	return failure(ctx, tctx, c, err, timeout)
}

// failure is Run's error for a check c that returned err (nil when ctx
// ended as it passed). Apart from Run, whose frame the formatting would
// swell: a check runs on a new goroutine, whose first stack a deep frame
// would make the runtime copy to a larger one, every check.
//
//go:noinline
func failure(ctx, tctx context.Context, c Check, err error, timeout time.Duration) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", c, ctx.Err())
	case errors.Is(context.Cause(tctx), errTimeoutCause):
		return fmt.Errorf("%s: %w after %s", c, ErrTimeout, timeout)
	}
	return fmt.Errorf("%s: %w", c, err)
}
