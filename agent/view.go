package agent

import (
	"os"
	"strconv"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// view is one process as a listing sees it: its entry, its latest
// snapshot and, when it runs, what /proc says of it.
type view struct {
	id    int64
	e     entry
	s     procmgr.Snapshot
	facts *procmgr.Facts // nil when not observed
}

// views takes the entry and snapshot of each of ids (skipping those a
// reload removed since) and returns them with the observation's targets:
// one per running process, in the order of the views.
func (a *Agent) views(ids []int64) ([]view, []procmgr.Target) {
	vs := make([]view, 0, len(ids))
	var targets []procmgr.Target
	for _, id := range ids {
		e, s, ok := a.snapshot(id)
		if !ok {
			continue
		}
		vs = append(vs, view{id: id, e: e, s: s})
		if s.Running {
			targets = append(targets, target(e, s))
		}
	}
	return vs, targets
}

// withFacts gives each running view its facts, which are in the order of
// the targets views returned.
func withFacts(vs []view, facts []procmgr.Facts) {
	for i := range vs {
		if vs[i].s.Running {
			vs[i].facts, facts = &facts[0], facts[1:]
		}
	}
}

// target is what the observation is asked of a running process. The
// agent's own ports are its own, not its descendants': those are the
// processes it manages (and scanning their fds again would cost as much
// as the rest of the listing).
func target(e entry, s procmgr.Snapshot) procmgr.Target {
	if e.alias == SelfAlias {
		return procmgr.Target{PID: s.PID, Ticks: s.StartTicks, Agent: true}
	}
	return procmgr.Target{PID: s.PID, Ticks: s.StartTicks, Alias: e.alias, Adopted: s.Adopted}
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

// record builds the API's record of v. seen is the time of the
// observation, observedAt, for a running process's lastActiveTime. A
// snapshot says STARTED but /proc does not show the process when it has
// just exited and its owner has not yet recorded it: /proc is believed,
// since it is the newer news.
func (a *Agent) record(v view, seen *string) api.HostAgentProcess {
	e, s := v.e, v.s
	// The record's strings, in one allocation rather than one each.
	strs := new(recordStrings)
	p := api.HostAgentProcess{
		ID:              v.id,
		HostID:          a.cfg.Host.ID,
		Alias:           e.alias,
		Status:          api.StatusStopped,
		Operable:        e.operable,
		LogFilePattern:  optionalIn(&strs.logFilePattern, e.logFilePattern),
		CreateTime:      s.CreateTime.Format(api.TimeLayout),
		UpdateTime:      s.UpdateTime.Format(api.TimeLayout),
		DesiredStatus:   s.Desired,
		RestartCount:    s.RestartCount,
		LastExitCode:    s.LastExitCode,
		Health:          optional(s.Health),
		LastHealthError: optional(s.LastHealthError),
	}
	p.LastError = optional(s.LastError)
	if !s.NextStartTime.IsZero() {
		p.NextStartTime = optional(s.NextStartTime.Format(api.TimeLayout))
	}
	if !s.Running || v.facts == nil || !v.facts.Alive {
		// Last seen active when recorded; a running one is seen now.
		if !s.LastActiveTime.IsZero() {
			p.LastActiveTime = optionalIn(&strs.lastActiveTime, s.LastActiveTime.Format(api.TimeLayout))
		}
		return p
	}
	f := v.facts
	p.Status = api.StatusStarted
	p.PID = s.PID
	p.User = optionalIn(&strs.user, f.User)
	p.StartCommand = optionalIn(&strs.startCommand, f.Cmdline)
	p.ElapsedTime = int64(f.Elapsed / time.Second)
	p.LastActiveTime = seen
	if len(f.Ports) > 0 {
		p.Ports = optionalIn(&strs.ports, joinPorts(f.Ports))
	}
	p.ProcessCount = f.Processes
	p.CPUSeconds = f.CPUSeconds
	p.MemoryBytes = f.MemoryBytes
	return p
}

// observedAt is the lastActiveTime of the running processes of an
// observation taken at at; nil for none.
func observedAt(at time.Time) *string {
	return optional(at.Format(api.TimeLayout))
}

// recordStrings hold the strings a record points to.
type recordStrings struct {
	logFilePattern, lastActiveTime, user, startCommand, ports string
}

// optionalIn is optional storing s in *field, one of a recordStrings'.
func optionalIn(field *string, s string) *string {
	if s == "" {
		return nil
	}
	*field = s
	return field
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func joinPorts(ports []uint16) string {
	var buf [48]byte // eight ports, without an allocation but the string
	b := buf[:0]
	for i, port := range ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(port), 10)
	}
	return string(b)
}
