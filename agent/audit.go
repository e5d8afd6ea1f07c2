package agent

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
)

// operation is what the audit log records of a request to a mutating
// route, filled in as the request passes the checks.
type operation struct {
	action    string // stop, start, restart
	hostID    string // the path parameters as sent
	processID string
	alias     string // known once the service has answered
	who       principal
}

// audit writes the one audit line of a mutating request, whatever its
// outcome: refused ones are what an investigation looks for first. It goes
// to the logger named "audit", at info level, so that it can be routed and
// kept apart from the agent's other lines.
func (s *server) audit(r *http.Request, info *requestInfo, status int, d time.Duration) {
	op := info.op
	code, outcome := 0, "ok"
	if e := info.err; e != nil {
		code, outcome = e.code, "refused"
		if status >= 500 && status != http.StatusServiceUnavailable { // 503: over the cap, nothing tried
			outcome = "failed"
		}
	}
	fields := []zap.Field{
		zap.String("action", op.action),
		zap.String("outcome", outcome),
		zap.Int("status", status),
		zap.Int("code", code),
		zap.String("user", logSafe(op.who.name, maxLoggedName)),
		zap.String("remote", r.RemoteAddr),
		zap.String("trace_id", info.traceID),
		zap.String("host_id", logSafe(op.hostID, maxLoggedID)),
		zap.String("process_id", logSafe(op.processID, maxLoggedID)),
		zap.Duration("duration", d),
	}
	if op.alias != "" {
		fields = append(fields, zap.String("alias", op.alias))
	}
	if p := op.who.peer; p != nil {
		fields = append(fields, zap.Uint32("uid", p.uid), zap.Int32("pid", p.pid))
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		fields = append(fields, zap.String("tls_client", logSafe(r.TLS.PeerCertificates[0].Subject.String(), maxLoggedPath)))
	}
	if e := info.err; e != nil {
		fields = append(fields, zap.String("error", logSafe(e.message, 2*maxLoggedPath)))
	}
	s.auditLog.Info("operation", fields...)
}

// Bounds of what a log or audit line repeats of a request: a user name or
// an id is short in any honest request, a path at most a few hundred
// bytes.
const (
	maxLoggedName = 64
	maxLoggedID   = 32
	maxLoggedPath = 256
)

// logSafe returns an untrusted string (a user name, a path, a header) as
// it may go in a log line: at most about n bytes, cut on a character
// boundary and marked, with control characters, invalid UTF-8 and other
// unprintable characters escaped, so that a client can neither blow up a
// line nor forge one in a terminal or a plain-text log.
func logSafe(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= n {
			fmt.Fprintf(&b, "...(%d bytes)", len(s))
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}
