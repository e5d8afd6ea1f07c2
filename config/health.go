package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of a process's health keys.
const (
	DefaultHealthInterval = 10 * time.Second
	DefaultHealthTimeout  = 2 * time.Second
	DefaultHealthFailures = 3
)

// Health is a process's health check: how to tell that it works, not only
// that it runs.
type Health struct {
	// Exactly one of TCP, HTTP and Exec is set.
	// TCP is the host:port to connect to; `tcp: 8089` is 127.0.0.1:8089,
	// loopback, where a program's own port is always reachable.
	TCP string
	// HTTP is an http or https URL whose GET must answer 2xx or 3xx.
	HTTP string
	// Exec is a command line that must exit 0, run as the process's user.
	Exec string
	// Interval is the time between checks (see procmgr.HealthSpec); > 0.
	Interval time.Duration
	// Timeout bounds one check; > 0.
	Timeout time.Duration
	// Failures is how many consecutive failed checks make the process
	// unhealthy; >= 1, and Failures × Interval fits a time.Duration.
	Failures int
	// Restart restarts an unhealthy process.
	Restart bool
	// Line is where the health key is.
	Line int
}

var healthKeys = []string{"tcp", "http", "exec", "interval", "timeout", "failures", "restart"}

// health walks a process's health mapping; nil when it has none.
func (p *parser) health(pm *mapping) *Health {
	if _, ok := pm.vals["health"]; !ok {
		return nil
	}
	m := p.sub(pm, "health", healthKeys...)
	h := &Health{
		Line: pm.lineOf("health"), Interval: DefaultHealthInterval, Timeout: DefaultHealthTimeout,
		Failures: DefaultHealthFailures, Restart: true,
	}
	var kinds []string
	for _, k := range []string{"tcp", "http", "exec"} {
		if _, ok := m.vals[k]; ok {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(a, b string) int { return m.lineOf(a) - m.lineOf(b) })
	switch {
	case len(kinds) == 0 && !m.broken:
		p.errorf(h.Line, pm.key("health"), "want one of tcp (a port), http (a URL) or exec (a command)")
	case len(kinds) > 1:
		first, second := kinds[0], kinds[1]
		p.errorf(m.lineOf(second), m.key(second), "only one of tcp, http and exec may be set; %s is set on line %d", first, m.lineOf(first))
	}
	if n, ok := m.vals["tcp"]; ok {
		if s, ok := p.scalar(n, m.key("tcp"), "a port like 8089 or host:port"); ok {
			addr, err := healthTCP(s)
			h.TCP = addr
			p.check(m, "tcp", err)
		}
	}
	if s, ok := p.str(m, "http"); ok {
		h.HTTP = s
		p.check(m, "http", healthURL(s))
	}
	if s, ok := p.str(m, "exec"); ok {
		h.Exec = s
		p.check(m, "exec", validCommand(s))
	}
	if d, ok := p.duration(m, "interval"); ok {
		h.Interval = d
		if d <= 0 {
			p.errorf(m.lineOf("interval"), m.key("interval"), "must be > 0, got %s", d)
		}
	}
	if d, ok := p.duration(m, "timeout"); ok {
		h.Timeout = d
		if d <= 0 {
			p.errorf(m.lineOf("timeout"), m.key("timeout"), "must be > 0, got %s", d)
		}
	}
	if n, ok := p.int(m, "failures"); ok {
		switch {
		case n < 1:
			p.errorf(m.lineOf("failures"), m.key("failures"), "must be >= 1, got %d", n)
		case h.Interval > 0 && n > math.MaxInt64/int64(h.Interval):
			p.errorf(m.lineOf("failures"), m.key("failures"), "%d failures × interval %s is too long a time", n, h.Interval)
		default:
			h.Failures = int(n)
		}
	}
	h.Restart = p.bool(m, "restart", true)
	return h
}

// healthTCP turns a tcp value into the address to connect to: a bare port
// is on loopback.
func healthTCP(s string) (string, error) {
	if port, err := strconv.Atoi(s); err == nil && !strings.ContainsAny(s, "+-") {
		if port < 1 || port > 65535 {
			return "", fmt.Errorf("port %d is not from 1 to 65535", port)
		}
		return net.JoinHostPort("127.0.0.1", s), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("want a port like 8089 or host:port, got %q", short(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.ContainsAny(port, "+-") {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", short(port))
	}
	if host == "" {
		return "", fmt.Errorf("%q has no host; write a port alone for 127.0.0.1", short(s))
	}
	if net.ParseIP(stripZone(host)) == nil && (len(host) > 253 || !hostnameRE.MatchString(host)) {
		return "", fmt.Errorf("%q is not an IP address or a host name", short(host))
	}
	return s, nil
}

// healthURL checks an http value: an absolute http or https URL.
func healthURL(s string) error {
	if err := noNUL(s); err != nil {
		return err
	}
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return fmt.Errorf("want an http:// or https:// URL, got %q", short(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a valid URL: %s", strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(s)+": "))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", short(s))
	}
	return nil
}
