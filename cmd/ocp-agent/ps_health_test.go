package main

import (
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

func TestPsStatusShowsHealth(t *testing.T) {
	h := func(s string) *string { return &s }
	tests := []struct {
		name string
		p    api.HostAgentProcess
		want string
	}{
		{"no check", api.HostAgentProcess{Status: "STARTED", DesiredStatus: "STARTED"}, "STARTED"},
		{"healthy", api.HostAgentProcess{Status: "STARTED", DesiredStatus: "STARTED", Health: h("HEALTHY")}, "STARTED"},
		{"unhealthy", api.HostAgentProcess{Status: "STARTED", DesiredStatus: "STARTED", Health: h("UNHEALTHY")}, "STARTED UNHEALTHY"},
		{"not yet known", api.HostAgentProcess{Status: "STARTED", DesiredStatus: "STARTED", Health: h("UNKNOWN")}, "STARTED UNKNOWN"},
		{"stopped", api.HostAgentProcess{Status: "STOPPED", DesiredStatus: "STARTED", Health: h("UNKNOWN")}, "STOPPED (wants STARTED)"},
		{"stopping", api.HostAgentProcess{Status: "STARTED", DesiredStatus: "STOPPED", Health: h("UNKNOWN")}, "STARTED (wants STOPPED) UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status(tt.p); got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
		})
	}
}
