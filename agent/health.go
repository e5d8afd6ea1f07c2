package agent

import (
	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// healthSpec is the procmgr form of a process's health key; nil for none.
func healthSpec(h *config.Health) *procmgr.HealthSpec {
	if h == nil {
		return nil
	}
	return &procmgr.HealthSpec{
		TCP: h.TCP, HTTP: h.HTTP, Exec: h.Exec,
		Interval: h.Interval, Timeout: h.Timeout, Failures: h.Failures, Restart: h.Restart,
	}
}
