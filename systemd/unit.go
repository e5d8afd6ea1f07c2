// Package systemd holds the agent's systemd unit, so that the packages and
// `ocp-agent service install` install one and the same file.
package systemd

import _ "embed"

// Unit is ocp-agent.service as shipped: it runs /usr/bin/ocp-agent on
// /etc/ocp-agent/config.yaml.
//
//go:embed ocp-agent.service
var Unit string

// ExecStart is the unit's ExecStart line, which `ocp-agent service install`
// replaces with the binary and config it is told about.
const ExecStart = "ExecStart=/usr/bin/ocp-agent run --config /etc/ocp-agent/config.yaml"

// ExecReload is the unit's ExecReload line, which `ocp-agent service
// install` replaces like ExecStart.
const ExecReload = "ExecReload=/usr/bin/ocp-agent reload --config /etc/ocp-agent/config.yaml"
