package agent

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

const procs = "/compute/hosts/20/agent/processes"

// TestRoutes drives every route, error code and the order of the checks, with
// and without api.Prefix, and checks the envelope of every answer.
func TestRoutes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		cred       cred
		wantStatus int
		wantCode   int    // 0: success
		wantTarget string // error target
		wantInMsg  string // substring of the error message
	}{
		// Successes.
		{"list as viewer", "GET", procs, viewerCred, 200, 0, "", ""},
		{"list as manager", "GET", procs, managerCred, 200, 0, "", ""},
		{"get", "GET", fmt.Sprintf("%s/%d", procs, idRunning), viewerCred, 200, 0, "", ""},
		{"get not operable", "GET", fmt.Sprintf("%s/%d", procs, idAgent), viewerCred, 200, 0, "", ""},
		{"hostId with leading zeros", "GET", "/compute/hosts/00020/agent/processes/185", viewerCred, 200, 0, "", ""},
		{"agentProcessId with leading zeros", "GET", procs + "/000185", viewerCred, 200, 0, "", ""},
		{"stop", "POST", fmt.Sprintf("%s/%d/stop", procs, idRunning), managerCred, 200, 0, "", ""},
		{"start", "POST", fmt.Sprintf("%s/%d/start", procs, idStopped), managerCred, 200, 0, "", ""},
		{"restart", "POST", fmt.Sprintf("%s/%d/restart", procs, idRunning), managerCred, 200, 0, "", ""},
		{"stop by plain user with both permissions", "POST", fmt.Sprintf("%s/%d/stop", procs, idRunning), cred{user: "both", password: "both-secret"}, 200, 0, "", ""},
		{"query string ignored", "GET", procs + "?page=2", viewerCred, 200, 0, "", ""},

		// Route (10002, 10003) comes before credentials.
		{"unknown route without credentials", "GET", "/nope", noCred, 404, api.CodeNoRoute, "", "no such route"},
		{"unknown action", "POST", procs + "/185/kill", managerCred, 404, api.CodeNoRoute, "", ""},
		{"trailing slash on list", "GET", procs + "/", viewerCred, 404, api.CodeNoRoute, "", ""},
		{"trailing slash on get", "GET", procs + "/185/", viewerCred, 404, api.CodeNoRoute, "", ""},
		{"trailing slash on stop", "POST", procs + "/185/stop/", managerCred, 404, api.CodeNoRoute, "", ""},
		{"double slash", "GET", "/compute//hosts/20/agent/processes", viewerCred, 404, api.CodeNoRoute, "", ""},
		{"dot segment", "GET", "/compute/hosts/20/agent/processes/../processes", viewerCred, 404, api.CodeNoRoute, "", ""},
		{"escaped slash in parameter", "GET", procs + "/1%2F2", viewerCred, 404, api.CodeNoRoute, "", ""},
		{"wrong method without credentials", "POST", procs, noCred, 405, api.CodeMethodNotAllowed, "", "not allowed"},
		{"GET on stop", "GET", procs + "/185/stop", managerCred, 405, api.CodeMethodNotAllowed, "", ""},
		{"DELETE on get", "DELETE", procs + "/185", managerCred, 405, api.CodeMethodNotAllowed, "", ""},
		{"POST on healthz", "POST", "/healthz", noCred, 405, api.CodeMethodNotAllowed, "", ""},

		// Credentials (30001) before permission and parameters.
		{"no credentials", "GET", procs, noCred, 401, api.CodeUnauthorized, "", ""},
		{"wrong bcrypt password", "GET", procs, cred{user: "manager", password: "nope"}, 401, api.CodeUnauthorized, "", ""},
		{"wrong plain password", "GET", procs, cred{user: "viewer", password: "viewer-secreT"}, 401, api.CodeUnauthorized, "", ""},
		{"plain password prefix", "GET", procs, cred{user: "viewer", password: "viewer"}, 401, api.CodeUnauthorized, "", ""},
		{"unknown user", "GET", procs, cred{user: "mallory", password: viewerPassword}, 401, api.CodeUnauthorized, "", ""},
		{"hash as password", "GET", procs, cred{user: "manager", password: managerHash}, 401, api.CodeUnauthorized, "", ""},
		{"malformed basic", "GET", procs, cred{header: "Basic !!!not-base64"}, 401, api.CodeUnauthorized, "", ""},
		{"basic without colon", "GET", procs, cred{header: "Basic bWFuYWdlcg=="}, 401, api.CodeUnauthorized, "", ""},
		{"bare basic", "GET", procs, cred{header: "Basic"}, 401, api.CodeUnauthorized, "", ""},
		{"other scheme", "GET", procs, cred{header: "Bearer abc"}, 401, api.CodeUnauthorized, "", ""},
		{"unsigned hmac scheme", "GET", procs, cred{header: "OCP-HMACSHA256 manager:c2ln"}, 401, api.CodeUnauthorized, "", ""},
		{"bad parameter without credentials", "GET", "/compute/hosts/abc/agent/processes", noCred, 401, api.CodeUnauthorized, "", ""},
		{"wrong host without credentials", "POST", "/compute/hosts/21/agent/processes/185/stop", noCred, 401, api.CodeUnauthorized, "", ""},

		// Permission (30014) before parameters.
		{"viewer stops", "POST", procs + "/185/stop", viewerCred, 403, api.CodeForbidden, "", api.PermHostManager},
		{"viewer starts", "POST", procs + "/185/start", viewerCred, 403, api.CodeForbidden, "", ""},
		{"viewer restarts", "POST", procs + "/185/restart", viewerCred, 403, api.CodeForbidden, "", ""},
		{"viewer stops with a bad id", "POST", procs + "/0/stop", viewerCred, 403, api.CodeForbidden, "", ""},
		{"user without permissions lists", "GET", procs, cred{user: "nobody", password: "nobody-secret"}, 403, api.CodeForbidden, "", api.PermHostViewer},

		// Path parameters (10001) before host.
		{"hostId letters", "GET", "/compute/hosts/abc/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", `hostId "abc"`},
		{"hostId zero", "GET", "/compute/hosts/0/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", `"0"`},
		{"hostId negative", "GET", "/compute/hosts/-1/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", `"-1"`},
		{"hostId exponent", "GET", "/compute/hosts/1e3/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", ""},
		{"hostId overflow", "GET", "/compute/hosts/9223372036854775808/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", "9223372036854775808"},
		{"hostId leading space", "GET", "/compute/hosts/%201/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", `" 1"`},
		{"hostId plus", "GET", "/compute/hosts/+20/agent/processes", viewerCred, 400, api.CodeBadParameter, "hostId", ""},
		{"agentProcessId zero", "GET", procs + "/0", viewerCred, 400, api.CodeBadParameter, "agentProcessId", `agentProcessId "0"`},
		{"agentProcessId negative on stop", "POST", procs + "/-1/stop", managerCred, 400, api.CodeBadParameter, "agentProcessId", ""},
		{"agentProcessId overflow", "POST", procs + "/9223372036854775808/start", managerCred, 400, api.CodeBadParameter, "agentProcessId", ""},
		{"agentProcessId space", "POST", procs + "/%201/restart", managerCred, 400, api.CodeBadParameter, "agentProcessId", ""},
		{"both bad names hostId", "GET", "/compute/hosts/x/agent/processes/y", viewerCred, 400, api.CodeBadParameter, "hostId", ""},
		{"bad id on wrong host", "GET", "/compute/hosts/21/agent/processes/abc", viewerCred, 400, api.CodeBadParameter, "agentProcessId", ""},

		// Host (40010) before the process.
		{"wrong host list", "GET", "/compute/hosts/21/agent/processes", viewerCred, 404, api.CodeNoHost, "hostId", "21"},
		{"wrong host with unknown process", "POST", "/compute/hosts/21/agent/processes/99/stop", managerCred, 404, api.CodeNoHost, "hostId", ""},
		{"max int64 host", "GET", "/compute/hosts/9223372036854775807/agent/processes", viewerCred, 404, api.CodeNoHost, "hostId", ""},

		// The service's errors.
		{"unknown process get", "GET", procs + "/99", viewerCred, 404, api.CodeNoProcess, "agentProcessId", "agent process 99 not found"},
		{"unknown process stop", "POST", procs + "/99/stop", managerCred, 404, api.CodeNoProcess, "agentProcessId", ""},
		{"not operable stop", "POST", fmt.Sprintf("%s/%d/stop", procs, idAgent), managerCred, 403, api.CodeNotOperable, "agentProcessId", "not operable"},
		{"not operable start", "POST", fmt.Sprintf("%s/%d/start", procs, idAgent), managerCred, 403, api.CodeNotOperable, "agentProcessId", ""},
		{"not operable restart", "POST", fmt.Sprintf("%s/%d/restart", procs, idAgent), managerCred, 403, api.CodeNotOperable, "agentProcessId", ""},
		{"survived SIGKILL", "POST", fmt.Sprintf("%s/%d/stop", procs, idSurvivesKill), managerCred, 500, api.CodeSurvivedKill, "", "survived SIGKILL"},
		{"start failed", "POST", fmt.Sprintf("%s/%d/start", procs, idStartFails), managerCred, 500, api.CodeStartFailed, "", "start crashy: exited during start-up with status 127; last output:\nsh: crashy: not found"},
		{"restart failed", "POST", fmt.Sprintf("%s/%d/restart", procs, idStartFails), managerCred, 500, api.CodeStartFailed, "", "status 127"},
		{"restart superseded", "POST", fmt.Sprintf("%s/%d/restart", procs, idSuperseded), managerCred, 409, api.CodeSuperseded, "", "restart of obstat2 was superseded by a stop request"},
		{"service panics", "POST", fmt.Sprintf("%s/%d/stop", procs, idPanics), managerCred, 500, api.CodeUnexpected, "", "panic: fake stop panicked"},
		{"unexpected error", "POST", fmt.Sprintf("%s/%d/stop", procs, idBroken), managerCred, 500, api.CodeUnexpected, "", "disk on fire"},
	}
	for _, prefix := range []string{"", api.Prefix} {
		for _, tt := range tests {
			t.Run(strings.TrimPrefix(prefix+" "+tt.name, " "), func(t *testing.T) {
				ts := newTestServer(t)
				r := ts.do(t, tt.method, prefix+tt.path, tt.cred)
				if r.status != tt.wantStatus {
					t.Fatalf("HTTP status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
				}
				checkEnvelope(t, r, "test-host")
				if tt.wantCode == 0 {
					if r.env.Error != nil {
						t.Fatalf("error = %+v, want none", r.env.Error)
					}
					return
				}
				e := r.env.Error
				if e == nil {
					t.Fatalf("no error object in %s", r.body)
				}
				if e.Code != tt.wantCode || e.Target != tt.wantTarget {
					t.Errorf("error = %d target %q, want %d target %q (message %q)", e.Code, e.Target, tt.wantCode, tt.wantTarget, e.Message)
				}
				if !strings.Contains(e.Message, tt.wantInMsg) {
					t.Errorf("message %q does not contain %q", e.Message, tt.wantInMsg)
				}
				if tt.wantStatus == 405 && r.header.Get("Allow") == "" {
					t.Errorf("405 without Allow header")
				}
				if got := r.header.Get("WWW-Authenticate"); (r.status == 401) != (got == `Basic realm="ocp-agent"`) {
					t.Errorf("WWW-Authenticate = %q on a %d", got, r.status)
				}
			})
		}
	}
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

// checkEnvelope checks the fields every enveloped answer has.
func checkEnvelope(t *testing.T, r response, server string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, k := range []string{"successful", "timestamp", "duration", "status", "traceId", "server"} {
		if _, ok := r.keys[k]; !ok {
			t.Errorf("envelope lacks %q: %s", k, r.body)
		}
	}
	ok := r.status >= 200 && r.status < 300
	if r.env.Successful != ok || r.env.Status != r.status {
		t.Errorf("successful = %v, status = %d for HTTP %d", r.env.Successful, r.env.Status, r.status)
	}
	if _, has := r.keys["data"]; has != ok {
		t.Errorf("data present = %v on HTTP %d", has, r.status)
	}
	if _, has := r.keys["error"]; has == ok {
		t.Errorf("error present = %v on HTTP %d", has, r.status)
	}
	ts, err := time.Parse(api.TimestampLayout, r.env.Timestamp)
	if err != nil {
		t.Errorf("timestamp %q: %v", r.env.Timestamp, err)
	} else {
		_, wantOff := time.Now().Zone()
		if _, off := ts.Zone(); off != wantOff {
			t.Errorf("timestamp %q has offset %d, host has %d", r.env.Timestamp, off, wantOff)
		}
		if d := time.Since(ts); d < -time.Second || d > time.Minute {
			t.Errorf("timestamp %q is %v away from now", r.env.Timestamp, d)
		}
	}
	if r.env.Duration < 0 {
		t.Errorf("duration = %d", r.env.Duration)
	}
	if r.env.Server != server {
		t.Errorf("server = %q, want %q", r.env.Server, server)
	}
	if h := r.header.Get(api.TraceHeader); h == "" || h != r.env.TraceID {
		t.Errorf("trace header %q, body traceId %q", h, r.env.TraceID)
	}
}

func TestServerNameDefault(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	ts := newTestServer(t, func(c *ServerConfig) { c.ServerName = "" })
	if r := ts.do(t, "GET", procs, viewerCred); r.env.Server != host {
		t.Errorf("server = %q, want %q", r.env.Server, host)
	}
}

func TestNewHandlerErrors(t *testing.T) {
	svc := newFakeService()
	shared := prometheus.NewRegistry()
	if _, err := newHandler(ServerConfig{HostID: 1, Registry: shared}, svc); err != nil {
		t.Fatalf("first handler: %v", err)
	}
	tests := []struct {
		name string
		cfg  ServerConfig
		svc  processService
		want string
	}{
		{"metrics registered twice", ServerConfig{HostID: 1, Registry: shared}, svc, "register http metrics"},
		{"no service", ServerConfig{HostID: 1}, nil, "no process service"},
		{"duplicate user", ServerConfig{Users: []User{{Name: "a", Password: "x"}, {Name: "a", Password: "y"}}}, svc, `"a" configured twice`},
		{"empty user name", ServerConfig{Users: []User{{Password: "x"}}}, svc, "empty name"},
		{"unknown permission", ServerConfig{Users: []User{{Name: "a", Password: "x", Permissions: []string{"ROOT"}}}}, svc, `unknown permission "ROOT"`},
		{"truncated bcrypt hash", ServerConfig{Users: []User{{Name: "a", Password: managerHash[:20]}}}, svc, "bad bcrypt hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newHandler(tt.cfg, tt.svc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
