package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// mapping is a YAML mapping whose keys have been checked. A key whose value
// is null (`key:` or `key: ~`) counts as absent, so it takes its default.
type mapping struct {
	path  string                // key path of the mapping; "" at the top
	line  int                   // where to point when a required key is missing
	vals  map[string]*yaml.Node // the non-null values, by key
	lines map[string]int        // the line of every valid key present
	// broken is set when the mapping is not one or has an unknown key
	// (likely a misspelt required one): "required" would only be noise.
	broken bool
}

// key returns the key path of k inside m.
func (m *mapping) key(k string) string {
	if m.path == "" {
		return k
	}
	return m.path + "." + k
}

// lineOf returns the line of key k, or the mapping's line when k is absent.
func (m *mapping) lineOf(k string) int {
	if l, ok := m.lines[k]; ok {
		return l
	}
	return m.line
}

// mapping checks n as a mapping with the given keys: unknown, duplicate and
// non-string keys are problems. A nil or null n is an empty mapping.
func (p *parser) mapping(n *yaml.Node, path string, line int, known ...string) *mapping {
	m := &mapping{path: path, line: line, vals: map[string]*yaml.Node{}, lines: map[string]int{}}
	if n == nil || isNull(n) {
		return m
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, path, "want a mapping of keys (%s), got %s", strings.Join(known, ", "), describe(n))
		m.broken = true
		return m
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, path, "keys must be plain words, got %s", describe(k))
			continue
		}
		kp := m.key(keyName(k.Value))
		if first, dup := seen[k.Value]; dup {
			p.errorf(k.Line, kp, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			hint := "valid keys here are " + strings.Join(known, ", ")
			if k.Value == "<<" {
				hint = "YAML merge keys are not supported"
			}
			p.errorf(k.Line, kp, "unknown key; %s", hint)
			m.broken = true
			continue
		}
		m.lines[k.Value] = k.Line
		if v.Kind == yaml.AliasNode {
			p.errorf(v.Line, kp, "YAML aliases (*%s) are not supported; write the value out", v.Value)
			continue
		}
		if !isNull(v) {
			m.vals[k.Value] = v
		}
	}
	return m
}

// sub returns the mapping under key k of m, with the given keys. When k is
// absent from a broken m, the unknown key may be k misspelt, so sub's
// required keys are not reported either.
func (p *parser) sub(m *mapping, k string, known ...string) *mapping {
	s := p.mapping(m.vals[k], m.key(k), m.lineOf(k), known...)
	if _, ok := m.lines[k]; !ok && m.broken {
		s.broken = true
	}
	return s
}

// require reports key k of m as missing unless it has a value (even a wrong
// one, which has been reported already).
func (p *parser) require(m *mapping, k, why string) {
	if _, ok := m.vals[k]; ok || m.broken {
		return
	}
	msg := "required"
	if why != "" {
		msg += ": " + why
	}
	p.errorf(m.lineOf(k), m.key(k), "%s", msg)
}

// str returns the string at key k and whether it is present and valid. Any
// scalar is taken as written, so `password: 1234` is the string "1234".
func (p *parser) str(m *mapping, k string) (string, bool) {
	v, ok := m.vals[k]
	if !ok {
		return "", false
	}
	return p.scalar(v, m.key(k), "a string")
}

// scalar returns the text of n, which must be a scalar; want names what was
// expected, for the message.
func (p *parser) scalar(n *yaml.Node, key, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n.Line, key, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

var decimalRE = regexp.MustCompile(`^[-+]?[0-9]+$`)

// int returns the whole number at key k and whether it is present and valid.
// Quoted numbers, fractions and non-decimal forms are refused.
func (p *parser) int(m *mapping, k string) (int64, bool) {
	v, ok := m.vals[k]
	if !ok {
		return 0, false
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || !decimalRE.MatchString(v.Value) {
		p.errorf(v.Line, m.key(k), "want a whole number like 20, got %s", describe(v))
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		p.errorf(v.Line, m.key(k), "%s is out of range", v.Value)
		return 0, false
	}
	return n, true
}

// bool returns the boolean at key k, or def when k is absent or invalid.
// YAML 1.1 spellings (yes, no, on, off) are refused: they are exactly what
// a reader mistakes for something else.
func (p *parser) bool(m *mapping, k string, def bool) bool {
	v, ok := m.vals[k]
	if !ok {
		return def
	}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		switch v.Value {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
	}
	p.errorf(v.Line, m.key(k), "want true or false, got %s", describe(v))
	return def
}

var bareNumberRE = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// duration returns the Go duration at key k and whether it is present and
// valid. A bare number is refused rather than guessed to be seconds.
func (p *parser) duration(m *mapping, k string) (time.Duration, bool) {
	v, ok := m.vals[k]
	if !ok {
		return 0, false
	}
	s, ok := p.scalar(v, m.key(k), "a duration like 10s or 500ms")
	if !ok {
		return 0, false
	}
	if bareNumberRE.MatchString(s) {
		p.errorf(v.Line, m.key(k), "%s has no unit; add one, like %ss or %sms", s, s, s)
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(v.Line, m.key(k), "want a duration like 10s or 500ms, got %s", describe(v))
		return 0, false
	}
	return d, true
}

// seq returns the items of the list at key k; nil when absent or invalid.
func (p *parser) seq(m *mapping, k string) []*yaml.Node {
	v, ok := m.vals[k]
	if !ok {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v.Line, m.key(k), "want a list, got %s", describe(v))
		return nil
	}
	return v.Content
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's value for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (*" + short(n.Value) + ")"
	case yaml.ScalarNode:
		switch {
		case isNull(n):
			return "nothing"
		case n.ShortTag() == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
			return "the quoted string " + strconv.Quote(short(n.Value))
		case n.ShortTag() == "!!int", n.ShortTag() == "!!float", n.ShortTag() == "!!bool":
			return short(n.Value)
		}
		return strconv.Quote(short(n.Value))
	}
	return "an unexpected YAML node"
}

// short cuts s to a length fit for a one-line message.
func short(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "..."
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.<-]+$`)

// keyName returns k fit for a key path, quoting it when it is odd.
func keyName(k string) string {
	if plainKeyRE.MatchString(k) {
		return k
	}
	return strconv.Quote(short(k))
}
