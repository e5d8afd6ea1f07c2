package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Unlimited is a Limit's Value for `unlimited` (RLIM_INFINITY).
const Unlimited = ^uint64(0)

// LimitNames are the keys of a process's limits: counts for nofile and
// nproc, bytes for core, memlock and stack.
var LimitNames = []string{"nofile", "nproc", "core", "memlock", "stack"}

// Limit is one resource limit of a process, set as both its soft and hard
// limit before the program execs.
type Limit struct {
	Name  string
	Value uint64
}

// reservedEnv are set by the agent in every managed process; adoption
// after an agent crash relies on the launch token.
var reservedEnv = []string{"OCP_AGENT_PROCESS", "OCP_AGENT_LAUNCH"}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	umaskRE   = regexp.MustCompile(`^[0-7]{1,4}$`)
	// bytesSuffixRE recognizes what a systemd user would write for bytes, so
	// that the message can give the number to write instead.
	bytesSuffixRE = regexp.MustCompile(`^([0-9]+)\s*([KMGT])i?[Bb]?$`)
)

// processOptions walks directory, environment, environment_file, umask
// and limits of one process.
func (p *parser) processOptions(m *mapping, pr *Process) {
	if v, ok := p.str(m, "directory"); ok && v != "" {
		if p.check(m, "directory", absPath(v)) {
			pr.Directory = filepath.Clean(v)
		}
	}
	pr.Environment = p.environment(m)
	if v, ok := p.str(m, "environment_file"); ok && v != "" {
		if p.check(m, "environment_file", absPath(v)) {
			pr.EnvironmentFile = filepath.Clean(v)
		}
	}
	if v, ok := p.str(m, "umask"); ok {
		u, err := parseUmask(v)
		if p.check(m, "umask", err) {
			pr.Umask = &u
		}
	}
	pr.Limits = p.limits(m, pr.Lines)
}

// parseUmask reads an octal umask such as "022" or "0027".
func parseUmask(s string) (uint32, error) {
	if !umaskRE.MatchString(s) {
		return 0, fmt.Errorf("want an octal mask like \"022\", got %q", short(s))
	}
	u, _ := strconv.ParseUint(s, 8, 32)
	if u > 0o777 {
		return 0, fmt.Errorf("%q is above 0777; a umask holds permission bits only", s)
	}
	return uint32(u), nil
}

// environment walks the environment mapping: POSIX names to string values.
// Any scalar is taken as written (`PORT: 8089` is "8089"); a key without a
// value is refused rather than guessed to mean "".
func (p *parser) environment(m *mapping) map[string]string {
	n, ok := m.vals["environment"]
	if !ok {
		return nil
	}
	key := m.key("environment")
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, key, "want a mapping of NAME: value, got %s", describe(n))
		return nil
	}
	env := make(map[string]string, len(n.Content)/2)
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, key, "names must be plain words, got %s", describe(k))
			continue
		}
		kp := key + "." + keyName(k.Value)
		switch {
		case !envNameRE.MatchString(k.Value):
			p.errorf(k.Line, kp, "not a valid variable name: use letters, digits and '_', not starting with a digit")
			continue
		case lines[k.Value] > 0:
			p.errorf(k.Line, kp, "duplicate variable (first set on line %d)", lines[k.Value])
			continue
		case contains(reservedEnv, k.Value):
			p.errorf(k.Line, kp, "set by the agent itself; choose another name")
			continue
		}
		lines[k.Value] = k.Line
		if v.Kind != yaml.ScalarNode || isNull(v) {
			p.errorf(v.Line, kp, "want a string (write \"\" for an empty value), got %s", describe(v))
			continue
		}
		if p.check(&mapping{vals: map[string]*yaml.Node{"v": v}}, "v", noNUL(v.Value)) {
			env[k.Value] = v.Value
		}
	}
	return env
}

// limits walks the limits mapping; each value is a whole number or
// `unlimited`. lines gets the line of each limit as "limits.NAME".
func (p *parser) limits(m *mapping, lines map[string]int) []Limit {
	lm := p.sub(m, "limits", LimitNames...)
	var out []Limit
	for _, name := range LimitNames {
		v, ok := lm.vals[name]
		if !ok {
			continue
		}
		lines["limits."+name] = lm.lineOf(name)
		n, err := parseLimit(name, v)
		if err != nil {
			p.errorf(v.Line, lm.key(name), "%v", err)
			continue
		}
		out = append(out, Limit{Name: name, Value: n})
	}
	return out
}

// parseLimit reads one limit: a whole number (a count, or bytes) or
// `unlimited`. Suffixes are refused, with the number to write instead:
// the config says bytes, and 8M could mean 8 MB or 8 MiB.
func parseLimit(name string, v *yaml.Node) (uint64, error) {
	unit := "a count"
	if name != "nofile" && name != "nproc" {
		unit = "bytes"
	}
	if v.Kind == yaml.ScalarNode && v.Value == "unlimited" {
		return Unlimited, nil
	}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && decimalRE.MatchString(v.Value) {
		if strings.HasPrefix(v.Value, "-") {
			return 0, fmt.Errorf("must be >= 0 or unlimited, got %s", v.Value)
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(v.Value, "+"), 10, 64)
		if err != nil || n == Unlimited {
			return 0, fmt.Errorf("%s is out of range; write unlimited for no limit", short(v.Value))
		}
		return n, nil
	}
	if m := bytesSuffixRE.FindStringSubmatch(v.Value); m != nil && v.Kind == yaml.ScalarNode && unit == "bytes" {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		shift := map[string]uint{"K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
		if n < 1<<(64-shift) {
			return 0, fmt.Errorf("want a number of bytes, got %q; for %s%siB write %d", short(v.Value), m[1], m[2], n<<shift)
		}
	}
	return 0, fmt.Errorf("want %s or unlimited, got %s", unit, describe(v))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
