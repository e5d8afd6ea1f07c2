package agent

import (
	"context"
	"errors"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// ErrNoProcess means no agent process has the requested id (40011).
var ErrNoProcess = errors.New("no such agent process")

// ErrNotOperable means the process may not be started, stopped or restarted
// through the API (40012).
var ErrNotOperable = errors.New("agent process is not operable")

// processService is the subset of the agent used by the HTTP server, so that
// the server can be tested with a trivial fake. Implementations check that the
// process exists (ErrNoProcess) before checking that it is operable
// (ErrNotOperable); procmgr's errors (ErrSurvivedKill, *StartError) pass
// through wrapped.
type processService interface {
	List(ctx context.Context) ([]api.HostAgentProcess, error)
	Get(ctx context.Context, id int64) (api.HostAgentProcess, error)
	Stop(ctx context.Context, id int64) (api.HostAgentProcess, error)
	Start(ctx context.Context, id int64) (api.HostAgentProcess, error)
	Restart(ctx context.Context, id int64) (api.HostAgentProcess, error)
}
