package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"go.yaml.in/yaml/v3"
)

// decodeDocument parses data into the root node of its one YAML document; nil
// when there is none. Walking yaml.Node rather than decoding into structs is
// what lets every problem name its line, and catch duplicate keys.
func decodeDocument(file string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML library is not ours; a bug in it must not crash the agent.
		if r := recover(); r != nil {
			root, err = nil, &Error{File: file, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(file, data, err)
	}
	for {
		// Empty documents after the first (a stray trailing ---) are harmless.
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if content(&next) != nil {
			return nil, &Error{File: file, Line: next.Line, Msg: "a second YAML document (---); the config is a single document"}
		}
	}
	return content(&doc), nil
}

// content returns the root node of a document; nil when it is empty.
func content(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil
	}
	return doc.Content[0]
}

// parser collects the problems and warnings found while walking the nodes.
type parser struct {
	file     string
	errs     []*Error
	warnings []string
}

func (p *parser) errorf(line int, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(line int, key, format string, args ...any) {
	w := Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	p.warnings = append(p.warnings, w.Error())
}

// first returns the problem earliest in the document (the first recorded
// among those on one line), or nil.
func (p *parser) first() *Error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return p.errs[0]
}
