package config

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var processKeys = []string{
	"alias", "id", "start_command", "user", "pid_file", "match", "log_file_pattern",
	"operable", "stop_signal", "stop_timeout", "start_wait", "autostart", "autorestart",
	"directory", "environment", "environment_file", "umask", "limits", "health",
	"memory_max", "cpu_max", "pids_max",
}

// processes walks the processes list; aliases and explicit ids must be
// unique across it.
func (p *parser) processes(top *mapping) []Process {
	items := p.seq(top, "processes")
	var procs []Process
	aliases := map[string]*mapping{}
	ids := map[int64]*mapping{}
	for i, it := range items {
		m := p.mapping(it, fmt.Sprintf("processes[%d]", i), it.Line, processKeys...)
		pr := p.process(m, it)
		if _, ok := m.vals["alias"]; ok && validAlias(pr.Alias) == nil {
			p.unique(m, "alias", pr.Alias, aliases)
		}
		if pr.ID > 0 {
			if first, dup := ids[pr.ID]; dup {
				p.errorf(pr.IDLine, m.key("id"), "%d is already the id of %s (line %d)", pr.ID, first.path, first.lineOf("id"))
			} else {
				ids[pr.ID] = m
			}
		}
		procs = append(procs, pr)
	}
	return procs
}

// process walks one item of the processes list, filling in defaults.
func (p *parser) process(m *mapping, it *yaml.Node) Process {
	pr := Process{
		Line: it.Line, IDLine: it.Line,
		Operable: true, Autostart: true, Autorestart: true,
		StopSignal: DefaultStopSignal, StopTimeout: DefaultStopTimeout, StartWait: DefaultStartWait,
	}
	if v, ok := p.str(m, "alias"); ok {
		pr.Alias = v
		p.check(m, "alias", validAlias(v))
	} else {
		p.require(m, "alias", "the unique name of this process")
	}
	if id, ok := p.int(m, "id"); ok {
		pr.ID, pr.IDLine = id, m.lineOf("id")
		if id <= 0 {
			p.errorf(pr.IDLine, m.key("id"), "must be > 0, got %d (leave it out to have one assigned)", id)
		}
	}
	if v, ok := p.str(m, "start_command"); ok {
		pr.StartCommand = v
		p.check(m, "start_command", validCommand(v))
	} else {
		p.require(m, "start_command", "the command line that starts the process")
	}
	if v, ok := p.str(m, "user"); ok && v != "" {
		pr.User = v
		if p.check(m, "user", lookupUser(v)) {
			p.runAsWarning(m, v)
		}
	}
	if v, ok := p.str(m, "pid_file"); ok && v != "" {
		pr.PidFile = v
		p.check(m, "pid_file", absPath(v))
	}
	if v, ok := p.str(m, "match"); ok && v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			p.check(m, "match", fmt.Errorf("not a valid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
		pr.Match = re
	}
	if v, ok := p.str(m, "log_file_pattern"); ok {
		pr.LogFilePattern = v
		if err := validGlob(v); err != nil {
			p.warnf(m.vals["log_file_pattern"].Line, m.key("log_file_pattern"), "%v; `ocp-agent logs` will find no file", err)
		}
	}
	pr.Operable = p.bool(m, "operable", true)
	pr.Autostart = p.bool(m, "autostart", true)
	pr.Autorestart = p.bool(m, "autorestart", true)
	if v, ok := p.str(m, "stop_signal"); ok {
		sig, err := parseSignal(v)
		if p.check(m, "stop_signal", err) {
			pr.StopSignal = sig
		}
	}
	if d, ok := p.duration(m, "stop_timeout"); ok {
		pr.StopTimeout = d
		if d <= 0 {
			p.errorf(m.vals["stop_timeout"].Line, m.key("stop_timeout"), "must be > 0, got %s", d)
		}
	}
	if d, ok := p.duration(m, "start_wait"); ok {
		pr.StartWait = d
		if d < 0 {
			p.errorf(m.vals["start_wait"].Line, m.key("start_wait"), "must be >= 0, got %s", d)
		}
	}
	pr.Lines = m.lines
	p.processOptions(m, &pr)
	pr.Health = p.health(m)
	pr.CgroupLimits = p.cgroupLimits(m)
	return pr
}
