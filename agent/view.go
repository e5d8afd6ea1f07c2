package agent

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// view builds the API's record of process id from its latest snapshot and
// what the observation saw of it.
//
// ok is false when id is gone (removed by a reload since it was listed).
func (a *Agent) view(id int64, obs *procmgr.Observation) (api.HostAgentProcess, bool) {
	e, s, ok := a.snapshot(id)
	if !ok {
		return api.HostAgentProcess{}, false
	}
	return a.record(id, e, s, obs), true
}

// snapshot returns the entry of id and its latest snapshot; ok is false
// when id is gone.
func (a *Agent) snapshot(id int64) (entry, procmgr.Snapshot, bool) {
	e, ok := a.entry(id)
	if !ok {
		return entry{}, procmgr.Snapshot{}, false
	}
	if e.alias == SelfAlias {
		return e, procmgr.Snapshot{
			Alias: SelfAlias, ID: id, Running: true, PID: os.Getpid(), StartTicks: a.ticks,
			Desired: a.self.Desired, CreateTime: a.self.CreateTime, UpdateTime: a.self.UpdateTime,
		}, true
	}
	s, ok := a.mgr.Snapshot(e.alias)
	return e, s, ok
}

// record builds the API's record of process id from its snapshot s and
// what obs saw of it; obs may be nil when s is not Running. A snapshot
// says STARTED but /proc does not show the process when it has just
// exited and its owner has not yet recorded it: /proc is believed, since
// it is the newer news.
func (a *Agent) record(id int64, e entry, s procmgr.Snapshot, obs *procmgr.Observation) api.HostAgentProcess {
	p := api.HostAgentProcess{
		ID:             id,
		HostID:         a.cfg.Host.ID,
		Alias:          e.alias,
		Status:         api.StatusStopped,
		Operable:       e.operable,
		LogFilePattern: optional(e.logFilePattern),
		CreateTime:     s.CreateTime.Format(api.TimeLayout),
		UpdateTime:     s.UpdateTime.Format(api.TimeLayout),
		DesiredStatus:  s.Desired,
		RestartCount:   s.RestartCount,
		LastExitCode:   s.LastExitCode,
	}
	if !s.LastActiveTime.IsZero() {
		p.LastActiveTime = optional(s.LastActiveTime.Format(api.TimeLayout))
	}
	if !s.Running || obs == nil {
		return p
	}
	f := obs.Facts(s.PID, s.StartTicks)
	if e.alias == SelfAlias {
		f = obs.AgentFacts(s.PID, s.StartTicks)
	}
	if !f.Alive {
		return p
	}
	p.Status = api.StatusStarted
	p.PID = s.PID
	p.User = optional(f.User)
	p.StartCommand = optional(f.Cmdline)
	p.ElapsedTime = int64(f.Elapsed / time.Second)
	p.LastActiveTime = optional(obs.At.Format(api.TimeLayout))
	if len(f.Ports) > 0 {
		p.Ports = optional(joinPorts(f.Ports))
	}
	return p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func joinPorts(ports []uint16) string {
	parts := make([]string, len(ports))
	for i, port := range ports {
		parts[i] = strconv.Itoa(int(port))
	}
	return strings.Join(parts, ",")
}
