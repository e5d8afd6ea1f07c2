package agent

import (
	"net/http"
	"time"

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
		zap.String("user", op.who.name),
		zap.String("remote", r.RemoteAddr),
		zap.String("trace_id", info.traceID),
		zap.String("host_id", truncate(op.hostID, 32)),
		zap.String("process_id", truncate(op.processID, 32)),
		zap.Duration("duration", d),
	}
	if op.alias != "" {
		fields = append(fields, zap.String("alias", op.alias))
	}
	if p := op.who.peer; p != nil {
		fields = append(fields, zap.Uint32("uid", p.uid), zap.Int32("pid", p.pid))
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		fields = append(fields, zap.String("tls_client", r.TLS.PeerCertificates[0].Subject.String()))
	}
	if e := info.err; e != nil {
		fields = append(fields, zap.String("error", e.message))
	}
	s.auditLog.Info("operation", fields...)
}
