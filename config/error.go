package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
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

var yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntaxError turns the YAML library's "yaml: line N: msg" about data into
// a *Error at the line where the problem is.
//
// The library's N is not that line for errors of its parser (as opposed to
// its scanner): it is where the enclosing block began, counted from 0, so
// a line indented one space too little is reported at its mapping's first
// line, some lines early. The line is found instead as the first one
// whose inclusion makes the document fail with the same message: the lines
// before it parse. That search starts at N, since the problem is never
// before its enclosing block; N is kept when the search finds nothing.
func syntaxError(file string, data []byte, err error) *Error {
	e := &Error{File: file}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	e.Line = problemLine(data, msg, e.Line)
	e.Msg = "invalid YAML: " + msg
	return e
}

// maxLineSearch bounds the search of problemLine: each step parses the
// document up to a line, so a huge config costs its square.
const maxLineSearch = 5000

// problemLine returns the first line from 'from' on (1-based; 0 counts as
// 1) through which data fails to parse with msg, or from when none does.
func problemLine(data []byte, msg string, from int) int {
	start := max(from, 1)
	end := 0 // offset just past line k
	for k := 1; end < len(data) && k < start+maxLineSearch; k++ {
		if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(data)
		}
		if k < start {
			continue
		}
		if got, failed := yamlFailure(data[:end]); failed && got == msg {
			return k
		}
	}
	return from
}

// yamlFailure parses every document of data and returns the message of
// the first syntax error, without its "yaml: line N: " prefix.
func yamlFailure(data []byte) (msg string, failed bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, failed = fmt.Sprint(r), true
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return "", false
		}
		if err != nil {
			s := strings.TrimPrefix(err.Error(), "yaml: ")
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				s = m[2]
			}
			return s, true
		}
	}
}
