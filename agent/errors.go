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
// counterpart in the code.
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
}

// apiError is a refused request: what the envelope's error object says and
// the HTTP status it goes with. cause, when set, is logged but not sent.
type apiError struct {
	status  int
	code    int
	message string
	target  string
	cause   error
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

func errNoRoute(r *http.Request) *apiError {
	return newAPIError(api.CodeNoRoute, "", nil, "no such route: %s %s", r.Method, r.URL.Path)
}

func errMethodNotAllowed(r *http.Request) *apiError {
	return newAPIError(api.CodeMethodNotAllowed, "", nil, "method %s is not allowed on %s", r.Method, r.URL.Path)
}

func errUnauthorized(cause error) *apiError {
	return newAPIError(api.CodeUnauthorized, "", cause, "no valid credentials")
}

func errForbidden(user, perm string) *apiError {
	return newAPIError(api.CodeForbidden, "", nil, "user %q lacks the permission %s", user, perm)
}

func errBadParameter(name, value string, cause error) *apiError {
	return newAPIError(api.CodeBadParameter, name, cause,
		"path parameter %s %q is not a positive 64-bit integer: %v", name, value, cause)
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
	case errors.As(err, &startErr):
		return newAPIError(api.CodeStartFailed, "", err, "%s", startErr.Error())
	default:
		return errUnexpected(err)
	}
}
