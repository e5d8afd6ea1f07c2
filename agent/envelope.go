package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// maxTraceIDLen bounds a caller's trace id, so that a header cannot blow up
// every log line of the request.
const maxTraceIDLen = 64

// requestInfo is what the handlers learn about a request and the wrapper
// around the router logs and counts once the response is written. Handlers
// run on the request's goroutine, so it needs no lock.
type requestInfo struct {
	start   time.Time
	traceID string
	log     *zap.Logger // carries the trace id

	route string // mux path template, "unknown" when no route matched
	user  string
	err   *apiError  // the refusal sent, if any
	op    *operation // set on mutating routes: what the audit line says
}

type requestInfoKey struct{}

// withRequestInfo returns ctx carrying info.
func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// requestInfoFrom returns the request's info; a request that did not pass the
// wrapper (only in tests) gets a fresh one, so handlers need no nil checks.
func requestInfoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{start: time.Now(), log: zap.NewNop(), route: routeUnknown}
}

// traceID returns the caller's trace id when it is safe to echo (1–64 of
// [A-Za-z0-9_-]), else a new one, so that every response can be found in the
// logs by the id it carries.
func traceID(header string) string {
	if validTraceID(header) {
		return header
	}
	return newTraceID()
}

func validTraceID(s string) bool {
	if len(s) == 0 || len(s) > maxTraceIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// newTraceID returns 16 random lower-case hex digits, the form OCP uses.
func newTraceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// writeData answers a request with status 200 and data in the envelope.
// The body is made in one pooled buffer: data encoded after the
// envelope's opening, the rest of the envelope after it.
func (s *server) writeData(w http.ResponseWriter, r *http.Request, data any) {
	buf := encodeBufs.Get().(*bytes.Buffer)
	defer putEncodeBuf(buf)
	buf.Reset()
	buf.WriteString(dataOpening)
	if _, err := marshalInto(buf, data); err != nil {
		s.writeError(w, r, errUnexpected(fmt.Errorf("encode response data: %w", err)))
		return
	}
	s.writeEnvelope(w, r, http.StatusOK, buf, nil)
}

// writeError answers a request with e, and adds the Basic challenge to a 401
// so that curl and browsers know to send credentials. The request's log line
// carries e.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	requestInfoFrom(r.Context()).err = e
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ocp-agent"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	s.writeEnvelope(w, r, e.status, nil, e.wire())
}

// body is nil, or holds dataOpening and the data (writeData).
func (s *server) writeEnvelope(w http.ResponseWriter, r *http.Request, status int, body *bytes.Buffer, e *api.Error) {
	info := requestInfoFrom(r.Context())
	env := api.Envelope{
		Successful: status >= 200 && status < 300,
		Timestamp:  time.Now().Format(api.TimestampLayout),
		Duration:   time.Since(info.start).Milliseconds(),
		Status:     status,
		TraceID:    info.traceID,
		Server:     s.cfg.ServerName,
		Error:      e,
	}
	if body == nil {
		body = new(bytes.Buffer)
	}
	if err := closeEnvelope(body, env); err != nil {
		// Only strings, numbers and already valid JSON are in it.
		info.log.Error("encode envelope", zap.Error(err))
		http.Error(w, "encode envelope", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(body.Bytes()); err != nil {
		info.log.Debug("write response", zap.Error(err))
	}
}

// dataOpening opens an envelope whose data follows (Data is its first
// field).
const dataOpening = `{"data":`

// closeEnvelope completes body, empty or dataOpening and the data, with
// the other fields of env.
func closeEnvelope(body *bytes.Buffer, env api.Envelope) error {
	env.Data = nil
	rest, err := marshal(env)
	if err != nil {
		return err
	}
	if body.Len() == 0 {
		body.Write(rest)
		return nil
	}
	if len(rest) > len("{}") {
		body.WriteByte(',')
	}
	body.Write(rest[1:])
	return nil
}

// marshal encodes v without HTML escaping: start-up output quoted in error
// messages is easier to read with its < > & intact.
func marshal(v any) ([]byte, error) {
	return marshalInto(new(bytes.Buffer), v)
}

// marshalInto is marshal appending to buf; it returns the encoding, in
// buf's storage.
func marshalInto(buf *bytes.Buffer, v any) ([]byte, error) {
	start := buf.Len()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return buf.Bytes()[start:], nil
}

// encodeBufs are writeData's encoding buffers: a list's data is tens of
// KiB, which a fresh buffer reached by doubling, leaving twice that as
// garbage at every list.
var encodeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putEncodeBuf returns buf to the pool, unless it grew too large to keep
// (a list of thousands of processes).
func putEncodeBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		encodeBufs.Put(buf)
	}
}
