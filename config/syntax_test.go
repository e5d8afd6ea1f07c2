package config_test

import (
	"errors"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

// TestSyntaxErrorLines feeds broken YAML, as people break it, and checks
// that the error names the line where the problem is (the one to fix), not
// where the YAML library's parser last entered a block.
func TestSyntaxErrorLines(t *testing.T) {
	const head = "host:\n  id: 20\nstate_dir: /tmp/x\n" // lines 1-3
	tests := []struct {
		name string
		yaml string
		line int
		msg  string
	}{
		{"key indented one space too little", head + "processes:\n  - alias: a\n    start_command: sleep 1\n   stop_timeout: 3s\n", 7, "did not find expected '-' indicator"},
		{"key out of its list item", head + "processes:\n  - alias: a\n    start_command: sleep 1\n  stop_timeout: 3s\n", 7, "did not find expected '-' indicator"},
		{"key far down a long item", head + "processes:\n  - alias: a\n    id: 1\n    user: www\n    stop_timeout: 3s\n    start_wait: 1s\n    start_command: sleep 1\n   log_file_pattern: /x\n", 11, "did not find expected '-' indicator"},
		{"key indented too much", head + "processes:\n  - alias: a\n    start_command: sleep 1\n      stop_timeout: 3s\n", 7, "mapping values are not allowed in this context"},
		{"dedent to no parent", "a:\n  b: 1\n c: 2\n", 3, "did not find expected key"},
		{"tab in the indentation", "host:\n  id: 20\n\tstate_dir: /tmp\n", 3, "found a tab character that violates indentation"},
		{"unclosed flow sequence", head + "processes:\n  - alias: a\n    start_command: [\n", 6, "did not find expected node content"},
		{"unclosed flow mapping", head + "server: {listen: x\nlog: y\n", 4, "did not find expected ',' or '}'"},
		{"unclosed quote", "host:\n  id: 20\nstate_dir: \"/tmp/x\nprocesses: []\n", 3, "found unexpected end of stream"},
		{"colon in a plain value", head + "log:\n  level: info\n  file: a: b\n", 6, "mapping values are not allowed in this context"},
		{"stray closing brace", "host: {id: 20}}\n", 1, "did not find expected key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.yaml))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.Line != tc.line || ce.Msg != "invalid YAML: "+tc.msg {
				t.Errorf("line %d %q, want line %d %q\n%s", ce.Line, ce.Msg, tc.line, tc.msg, tc.yaml)
			}
		})
	}
}
