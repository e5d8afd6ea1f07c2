package config

import (
	"regexp"
	"strconv"
	"strings"
)

// logFormats are the values of log.format.
var logFormats = []string{LogFormatConsole, LogFormatJSON}

// maxLogSizeMB bounds log.max_size (1 TiB): lumberjack counts in MiB, and a
// larger value is a typo more likely than a wish.
const maxLogSizeMB = 1 << 20

// maxLogBackups bounds log.max_backups, for the same reason.
const maxLogBackups = 1000

var sizeRE = regexp.MustCompile(`^([0-9]+)\s*(MB|MiB|GB|GiB)$`)

// logRotation reads log.format, log.max_size and log.max_backups into l,
// whose defaults are set. The format's default depends on log.file: console
// lines on stderr, where journald adds the time and the unit, JSON lines in a
// file, which is read by programs more often than by people.
func (p *parser) logRotation(m *mapping, l *Log) {
	l.Format = LogFormatConsole
	if l.File != "" {
		l.Format = LogFormatJSON
	}
	if v, ok := p.str(m, "format"); ok {
		f := strings.ToLower(v)
		if f == LogFormatConsole || f == LogFormatJSON {
			l.Format = f
		} else {
			p.errorf(m.lineOf("format"), m.key("format"), "want %s or %s, got %s", logFormats[0], logFormats[1], describe(m.vals["format"]))
		}
	}
	if v, ok := p.str(m, "max_size"); ok {
		if n, ok := p.logSize(m, v); ok {
			l.MaxSizeMB = n
		}
	}
	if n, ok := p.int(m, "max_backups"); ok {
		if n < 1 || n > maxLogBackups {
			// lumberjack reads 0 as "keep every file": the log would grow
			// without bound.
			p.errorf(m.lineOf("max_backups"), m.key("max_backups"), "must be from 1 to %d, got %d", maxLogBackups, n)
		} else {
			l.MaxBackups = int(n)
		}
	}
	if l.File == "" {
		for _, k := range []string{"max_size", "max_backups"} {
			if _, set := m.vals[k]; set {
				p.warnf(m.lineOf(k), m.key(k), "ignored: log.file is empty, so the agent logs to stderr (journald rotates it)")
			}
		}
	}
}

// logSize parses a size like 100MB or 1GB into MiB. A bare number is
// refused, as for durations: "100" could mean bytes as well as megabytes.
func (p *parser) logSize(m *mapping, v string) (int, bool) {
	s := strings.TrimSpace(v)
	if _, err := strconv.Atoi(s); err == nil {
		p.errorf(m.lineOf("max_size"), m.key("max_size"), "%s has no unit; add one, like %sMB", s, s)
		return 0, false
	}
	sm := sizeRE.FindStringSubmatch(s)
	if sm == nil {
		p.errorf(m.lineOf("max_size"), m.key("max_size"), "want a size like 100MB or 1GB, got %s", describe(m.vals["max_size"]))
		return 0, false
	}
	n, err := strconv.Atoi(sm[1])
	if err == nil && strings.HasPrefix(sm[2], "G") {
		n *= 1024
	}
	if err != nil || n < 1 || n > maxLogSizeMB {
		p.errorf(m.lineOf("max_size"), m.key("max_size"), "must be from 1MB to 1024GB, got %s", s)
		return 0, false
	}
	return n, true
}
