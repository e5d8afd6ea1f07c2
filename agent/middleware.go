package agent

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// ServeHTTP gives every request its trace id and start time, lets the router
// answer it, then logs and counts it once. It wraps the router rather than
// being a mux middleware because mux runs middlewares on matched routes only,
// and 404s and 405s must carry a trace id and be counted too. Before the
// router, it refuses what no route may see: a body over the limit, and a
// path in an odd encoding.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := &requestInfo{start: time.Now(), traceID: traceID(r.Header.Get(api.TraceHeader)), route: routeUnknown}
	info.log = s.log.With(zap.String("trace_id", info.traceID))
	w.Header().Set(api.TraceHeader, info.traceID)
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(withRequestInfo(r.Context(), info))

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // net/http's way to abort a response; it expects it back
				panic(v)
			}
			info.log.Error("handler panicked", zap.Any("panic", v), zap.Stack("stack"))
			if !sw.wroteHeader {
				s.writeError(sw, r, errUnexpected(fmt.Errorf("panic: %v", v)))
			}
		}
		s.finish(r, info, sw.status())
	}()
	if err := checkBody(sw, r, s.cfg.MaxBodyBytes); err != nil {
		s.writeError(sw, r, errBody(err))
		return
	}
	if oddlyEncoded(r) {
		s.writeError(sw, r, errNoRoute(r))
		return
	}
	s.router.ServeHTTP(sw, r)
}

// finish writes the request's log line and its metrics, and the audit line
// of a mutating route. The level says how much it matters: debug for reads,
// info for POSTs, which change what runs on the host, warn for refused
// credentials or permissions (someone may be probing), error for failures
// of the agent itself.
func (s *server) finish(r *http.Request, info *requestInfo, status int) {
	d := time.Since(info.start)
	s.metrics.observe(info.route, r.Method, status, d)
	if info.op != nil {
		s.audit(r, info, status, d)
	}
	code, level := 0, zapcore.DebugLevel
	if r.Method == http.MethodPost {
		level = zapcore.InfoLevel
	}
	if e := info.err; e != nil {
		code = e.code
		switch {
		case status >= 500:
			level = zapcore.ErrorLevel
		case code == api.CodeUnauthorized || code == api.CodeForbidden:
			level = zapcore.WarnLevel
		}
	}
	ce := info.log.Check(level, "request")
	if ce == nil {
		return
	}
	fields := []zap.Field{
		zap.String("method", logSafe(r.Method, maxLoggedName)),
		zap.String("path", logSafe(r.URL.Path, maxLoggedPath)),
		zap.String("route", info.route),
		zap.Int("status", status),
		zap.Int("code", code),
		zap.Duration("duration", d),
		zap.String("remote", r.RemoteAddr),
	}
	// A user name whose credentials were refused is the client's say-so:
	// it is logged once, on the audit line when there is one (same trace
	// id). A name that was verified is a configured one.
	if info.op == nil || info.err == nil || info.err.code != api.CodeUnauthorized {
		fields = append(fields, zap.String("user", logSafe(info.user, maxLoggedName)))
	}
	if e := info.err; e != nil {
		fields = append(fields, zap.String("error", logSafe(e.message, 2*maxLoggedPath)))
		if e.cause != nil {
			fields = append(fields, zap.String("cause", logSafe(e.cause.Error(), 2*maxLoggedPath)))
		}
	}
	ce.Write(fields...)
}

// statusWriter remembers the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets promhttp and future streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.code, w.wroteHeader = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}
