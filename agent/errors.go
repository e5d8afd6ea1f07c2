package agent

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// httpStatus is the HTTP status each API error code is sent with. It is the
// only place that pairs them, so that the table in SPEC.md has exactly one
// counterpart in the code; errOverloaded and errBody, beyond SPEC.md's
// table, are the documented exceptions.
var httpStatus = map[int]int{
	api.CodeBadParameter:     http.StatusBadRequest,
	api.CodeNoRoute:          http.StatusNotFound,
	api.CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	api.CodeUnexpected:       http.StatusInternalServerError,
	api.CodeUnauthorized:     http.StatusUnauthorized,
	api.CodeForbidden:        http.StatusForbidden,
	api.CodeNoHost:           http.StatusNotFound,
	api.CodeNoProcess:        http.StatusNotFound,
	api.CodeNotOperable:      http.StatusForbidden,
	api.CodeSurvivedKill:     http.StatusInternalServerError,
	api.CodeStartFailed:      http.StatusInternalServerError,
	api.CodeSuperseded:       http.StatusConflict,
}

// apiError is a refused request: what the envelope's error object says and
// the HTTP status it goes with. cause, when set, is logged but not sent.
type apiError struct {
	status  int
	code    int
	message string
	target  string
	cause   error
	// retryAfter, when > 0, is sent as the Retry-After header (seconds).
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.message) }

func (e *apiError) Unwrap() error { return e.cause }

// wire is the envelope's error object.
func (e *apiError) wire() *api.Error {
	return &api.Error{Code: e.code, Message: e.message, Target: e.target}
}

// newAPIError builds an apiError whose HTTP status comes from httpStatus.
func newAPIError(code int, target string, cause error, format string, args ...any) *apiError {
	status, ok := httpStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...), target: target, cause: cause}
}

// maxEcho bounds what a refusal repeats of the request (a path may be tens
// of KiB), so that answers and log lines stay small.
const maxEcho = 256

func errNoRoute(r *http.Request) *apiError {
	return newAPIError(api.CodeNoRoute, "", nil, "no such route: %s %s", truncate(r.Method, maxEcho), truncate(r.URL.Path, maxEcho))
}

func errMethodNotAllowed(r *http.Request) *apiError {
	return newAPIError(api.CodeMethodNotAllowed, "", nil, "method %s is not allowed on %s", truncate(r.Method, maxEcho), truncate(r.URL.Path, maxEcho))
}

// errUnauthorized's message is the same for every reason but a throttled
// address, so that a caller learns nothing of which part was wrong.
func errUnauthorized(cause error) *apiError {
	if errors.Is(cause, errThrottled) {
		return newAPIError(api.CodeUnauthorized, "", cause, "%v", errThrottled)
	}
	return newAPIError(api.CodeUnauthorized, "", cause, "no valid credentials")
}

// errOverloaded refuses an operation over the in-flight cap. It is the one
// 10010 sent with 503 rather than 500: nothing went wrong, the caller may
// retry (Retry-After says when), and nothing was done.
func errOverloaded(limit int) *apiError {
	e := newAPIError(api.CodeUnexpected, "", nil, "too many operations in progress (at most %d); nothing was done, retry later", limit)
	e.status = http.StatusServiceUnavailable
	e.retryAfter = 1
	return e
}

// errBody refuses a request body: 413 when it is too large, 400 when it
// cannot be read, with code 10001 (a bad request) and target "body". It is
// checked before the route, like the header size limit net/http enforces
// (431), since it is about the request as a whole.
func errBody(cause error) *apiError {
	e := newAPIError(api.CodeBadParameter, "body", cause, "%v: no route takes a request body", cause)
	if errors.Is(cause, errBodyTooLarge) {
		e.status = http.StatusRequestEntityTooLarge
	}
	return e
}

// errForbidden refuses who a permission, in who's own refusal when it has
// one (a peer of the unix socket is told who may use it).
func errForbidden(who principal, perm string) *apiError {
	if who.refusal != "" {
		return newAPIError(api.CodeForbidden, "", nil, "%s", who.refusal)
	}
	return newAPIError(api.CodeForbidden, "", nil, "user %q lacks the permission %s", who.name, perm)
}

func errBadParameter(name, value string, cause error) *apiError {
	return newAPIError(api.CodeBadParameter, name, cause,
		"path parameter %s %q is not a positive 64-bit integer: %v", name, truncate(value, maxEcho), cause)
}

func errNoHost(got, own int64) *apiError {
	return newAPIError(api.CodeNoHost, paramHostID, nil, "host %d not found: this agent serves host %d", got, own)
}

func errUnexpected(cause error) *apiError {
	return newAPIError(api.CodeUnexpected, "", cause, "unexpected error: %v", cause)
}

// serviceError maps an error of the process service to the API's error for
// the process id the request named (0 on the list route).
func serviceError(err error, id int64) *apiError {
	var startErr *procmgr.StartError
	var superseded *procmgr.SupersededError
	var refused *apiError
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.Is(err, ErrNoProcess):
		return newAPIError(api.CodeNoProcess, paramProcessID, err, "agent process %d not found", id)
	case errors.Is(err, ErrNotOperable):
		return newAPIError(api.CodeNotOperable, paramProcessID, err, "agent process %d is not operable", id)
	case errors.Is(err, procmgr.ErrSurvivedKill):
		return newAPIError(api.CodeSurvivedKill, "", err, "agent process %d: %v", id, err)
	case errors.As(err, &superseded):
		// Not unexpected: the caller (or another) asked for a stop since.
		return newAPIError(api.CodeSuperseded, "", err, "%s", superseded.Error())
	case errors.As(err, &startErr):
		return newAPIError(api.CodeStartFailed, "", err, "%s", startErr.Error())
	default:
		return errUnexpected(err)
	}
}
