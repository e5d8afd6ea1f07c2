package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a problem with the content of a config file. It names where the
// problem is so that an admin can fix it without guessing; the agent exits
// with status 2 on one.
type Error struct {
	// File is the config file's path; "" when unknown.
	File string
	// Line is the 1-based line of the problem; 0 when unknown (some YAML
	// syntax errors, an empty file).
	Line int
	// Key is the path of the key at fault, like processes[1].stop_timeout
	// or auth.users[0].permissions[2]; "" when no key is at fault.
	Key string
	// Msg says what is wrong, in plain words.
	Msg string
}

// Error formats the problem as "FILE:LINE: KEY: MSG", leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		if loc != "" {
			loc += ":" + strconv.Itoa(e.Line)
		} else {
			loc = "line " + strconv.Itoa(e.Line)
		}
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{loc, e.Key, e.Msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// Errorf returns a *Error in c's file, for problems found after loading
// (e.g. an explicit id that the agent's state already gave another alias).
// It is safe to call on a nil *Config.
func (c *Config) Errorf(line int, key, format string, args ...any) *Error {
	e := &Error{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	if c != nil {
		e.File = c.File
	}
	return e
}
