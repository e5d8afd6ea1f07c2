package shellcmd

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

var cases = []struct {
	name, command string
	want          []string // nil: through the shell
}{
	{"plain", "memcached --port=11311 --user=nobody", []string{"memcached", "--port=11311", "--user=nobody"}},
	{"spaces and tabs", "  sleep\t 100  ", []string{"sleep", "100"}},
	{"single quotes", `echo 'a b' 'c"d'`, []string{"echo", "a b", `c"d`}},
	{"double quotes", `echo "a b" "c'd" "e\"f" "g\h"`, []string{"echo", "a b", "c'd", `e"f`, `g\h`}},
	{"backslashes", `echo a\ b \x c\\d`, []string{"echo", "a b", "x", `c\d`}},
	{"joined quoting", `echo a'b c'"d"e`, []string{"echo", "ab cde"}},
	{"empty word", `prog '' ""`, []string{"prog", "", ""}},
	{"percent braces tilde inside", "date +%s {a,b} x~y a=b {}", []string{"date", "+%s", "{a,b}", "x~y", "a=b", "{}"}},
	{"quoted metacharacters", `prog '$HOME' "*.log" '|' '>' "~"`, []string{"prog", "$HOME", "*.log", "|", ">", "~"}},
	{"comment", "sleep 100 # why", []string{"sleep", "100"}},
	{"obstat2", "/home/admin/ocp_agent/bin/obstat2 -p 8089", []string{"/home/admin/ocp_agent/bin/obstat2", "-p", "8089"}},
	{"assignment", "VAR=value cmd", nil},
	{"assignment only", "VAR=value", nil},
	{"pipe", "a | b", nil},
	{"redirection", "a > f", nil},
	{"input redirection", "a <f", nil},
	{"fd redirection", "a 2>&1", nil},
	{"here-doc", "cat <<EOF\nx\nEOF", nil},
	{"parameter", "$HOME/x", nil},
	{"braced parameter", "echo ${HOME}", nil},
	{"parameter in double quotes", `echo "$HOME"`, nil},
	{"glob star", "ls *.log", nil},
	{"glob question", "ls a?", nil},
	{"glob bracket", "ls [ab]", nil},
	{"tilde", "ls ~/x", nil},
	{"tilde alone", "cd ~", nil},
	{"and", "a && b", nil},
	{"or", "a || b", nil},
	{"list", "cd x; y", nil},
	{"newline list", "a\nb", nil},
	{"background", "sleep 1 &", nil},
	{"negation", "! false", nil},
	{"backticks", "echo `date`", nil},
	{"command substitution", "echo $(date)", nil},
	{"arithmetic", "echo $((1+2))", nil},
	{"subshell", "(a)", nil},
	{"group", "{ a; }", nil},
	{"if", "if true; then a; fi", nil},
	{"dollar single quotes", "echo $'a'", nil},
	{"unterminated quote", "echo 'a", nil},
	{"empty", "", nil},
	{"blank", "   ", nil},
}

func TestArgv(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, direct := Argv(tc.command)
			want := tc.want
			if want == nil {
				want = []string{"/bin/sh", "-c", tc.command}
			}
			if direct != (tc.want != nil) || !slices.Equal(got, want) {
				t.Errorf("Argv(%q) = %q, %v; want %q, %v", tc.command, got, direct, want, tc.want != nil)
			}
		})
	}
}

// TestArgvMatchesShell asks a real /bin/sh for the words of every direct
// case: printf with the command's words as its arguments prints each
// word as the shell made it.
func TestArgvMatchesShell(t *testing.T) {
	if _, err := os.Stat(Shell); err != nil {
		t.Skipf("no %s: %v", Shell, err)
	}
	for _, tc := range cases {
		argv, direct := Argv(tc.command)
		if !direct {
			continue
		}
		out, err := exec.Command(Shell, "-c", `printf '%s\0' `+tc.command).Output()
		if err != nil {
			t.Errorf("%s: sh: %v", tc.name, err)
			continue
		}
		words := strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
		if !slices.Equal(words, argv) {
			t.Errorf("%s: sh made %q of %q, Argv %q", tc.name, words, tc.command, argv)
		}
	}
}

// quote writes s single-quoted, as sh reads it back unchanged.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// FuzzArgv: Argv never panics; a direct argv is not empty, and quoting
// its words again gives a line that is direct with the same argv (so
// nothing a shell would interpret was left in a word).
func FuzzArgv(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.command)
	}
	f.Fuzz(func(t *testing.T, command string) {
		argv, direct := Argv(command)
		if !direct {
			if len(argv) != 3 || argv[2] != command {
				t.Fatalf("shell argv %q", argv)
			}
			return
		}
		if len(argv) == 0 {
			t.Fatal("empty direct argv")
		}
		if strings.ContainsRune(command, 0) {
			return // sh cannot hold a NUL; the config refuses it
		}
		var q []string
		for _, a := range argv {
			q = append(q, quote(a))
		}
		again, d := Argv(strings.Join(q, " "))
		if !d || !slices.Equal(again, argv) {
			t.Fatalf("%q: %q, requoted %q, %v", command, argv, again, d)
		}
	})
}
