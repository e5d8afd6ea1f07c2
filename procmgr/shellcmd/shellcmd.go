// Package shellcmd decides how a start_command runs: directly, when it is
// one simple POSIX shell command that a shell would pass on unchanged, so
// that the process the agent watches is the program itself; else under
// /bin/sh -c, where the shell is the process.
//
// It parses with mvdan.cc/sh/v3/syntax, a complete POSIX shell parser, so
// that quoting is undone exactly as sh does and anything sh would
// interpret is recognised, rather than guessed from a list of characters.
package shellcmd

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Shell is the interpreter of command lines that are not direct.
const Shell = "/bin/sh"

// Argv returns the argv that runs command, and whether it is executed
// directly. It is direct when command is one simple command (no
// operators, pipes, lists, background, negation, redirections, here-docs,
// assignments, reserved words) whose words hold no expansion (parameter,
// command or arithmetic substitution, an unquoted glob character *, ? or
// [, a ~ at the start of a word); quotes and backslashes are removed as sh
// removes them, and quotes, '=', '%', '{', '}' and a '~' inside a word are
// plain characters, as in sh. Anything else, including a line sh could
// not parse, is ["/bin/sh", "-c", command] (sh reports its own errors).
func Argv(command string) (argv []string, direct bool) {
	if a, ok := directArgv(command); ok {
		return a, true
	}
	return []string{Shell, "-c", command}, false
}

func directArgv(command string) ([]string, bool) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(command), "")
	if err != nil || len(f.Stmts) != 1 {
		return nil, false
	}
	st := f.Stmts[0]
	if st.Negated || st.Background || st.Coprocess || st.Disown || len(st.Redirs) > 0 {
		return nil, false
	}
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) > 0 || len(call.Args) == 0 {
		return nil, false
	}
	argv := make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		s, ok := literal(w)
		if !ok {
			return nil, false
		}
		argv = append(argv, s)
	}
	return argv, true
}

// literal is the value of a word without expansions, quotes removed.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for i, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			// A bare '$' is literal to POSIX sh, but not to every
			// /bin/sh ($'...' in bash): the shell decides.
			if strings.ContainsAny(p.Value, "*?[$") || i == 0 && strings.HasPrefix(p.Value, "~") {
				return "", false
			}
			unescape(&b, p.Value, "")
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar {
				return "", false
			}
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok || strings.Contains(l.Value, "$") {
					return "", false
				}
				unescape(&b, l.Value, "$`\"\\\n")
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescape writes s with its backslashes removed as sh removes them: every
// backslash outside quotes (special == ""), only those before a character
// of special inside double quotes. A backslash-newline goes with its
// newline.
func unescape(b *strings.Builder, s, special string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (special == "" || strings.IndexByte(special, s[i+1]) >= 0) {
			i++
			if s[i] != '\n' {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
}
