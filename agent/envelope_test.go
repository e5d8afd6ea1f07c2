package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

func TestTraceID(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	tests := []struct {
		name   string
		header string
		echo   bool
	}{
		{"ocp style", "51b0faa7203d42db", true},
		{"all classes", "Abc-DEF_123", true},
		{"one char", "x", true},
		{"64 chars", long64, true},
		{"65 chars", long64 + "b", false},
		{"space", "a b", false},
		{"empty", "", false},
		{"dot", "a.b", false},
		{"non-ascii", "trace-é", false},
		{"newline injection", "abc\r\nX-Evil: 1", false},
	}
	for _, path := range []string{procs, "/nope", "/healthz", api.Prefix + "/healthz"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				ts := newTestServer(t)
				var r response
				if tt.header == "" || strings.ContainsAny(tt.header, "\r\n") {
					// net/http refuses to send a header with a newline; an absent
					// header is what the agent would see of it.
					r = ts.do(t, "GET", path, viewerCred)
				} else {
					r = ts.do(t, "GET", path, viewerCred, api.TraceHeader, tt.header)
				}
				got := r.header.Get(api.TraceHeader)
				if tt.echo && got != tt.header {
					t.Fatalf("trace header = %q, want echo of %q", got, tt.header)
				}
				if !tt.echo && !hex16.MatchString(got) {
					t.Fatalf("trace header = %q, want 16 new hex digits", got)
				}
				if !strings.HasSuffix(path, "/healthz") && r.env.TraceID != got {
					t.Fatalf("body traceId %q, header %q", r.env.TraceID, got)
				}
			})
		}
	}
}

func TestNewTraceIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newTraceID()
		if !hex16.MatchString(id) || seen[id] {
			t.Fatalf("trace id %q repeated or malformed", id)
		}
		seen[id] = true
	}
}

// TestHostAgentProcessJSON checks that a stopped process's absent values are
// explicit nulls, as in the seed's sample response, and that the envelope
// carries exactly the seed's keys.
func TestHostAgentProcessJSON(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(t, "GET", procs+"/12", viewerCred)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(r.keys["data"], &data); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user", "startCommand", "ports", "lastActiveTime", "logFilePattern"} {
		if v, ok := data[k]; !ok || string(v) != "null" {
			t.Errorf("%s = %s (present %v), want null", k, v, ok)
		}
	}
	for _, k := range []string{"id", "hostId", "alias", "pid", "elapsedTime", "status", "operable", "createTime", "updateTime"} {
		if _, ok := data[k]; !ok {
			t.Errorf("data lacks %q", k)
		}
	}
	for k := range r.keys {
		switch k {
		case "data", "successful", "timestamp", "duration", "status", "traceId", "server":
		default:
			t.Errorf("unexpected envelope key %q", k)
		}
	}
}

func TestListPage(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(t, "GET", api.Prefix+procs, viewerCred)
	var list api.ProcessList
	if err := json.Unmarshal(r.env.Data, &list); err != nil {
		t.Fatalf("decode list %s: %v", r.env.Data, err)
	}
	n := len(ts.svc.procs)
	if want := (api.Page{TotalElements: n, TotalPages: 1, Number: 1, Size: n}); list.Page != want {
		t.Errorf("page = %+v, want %+v", list.Page, want)
	}
	if len(list.Contents) != n {
		t.Fatalf("%d contents, want %d", len(list.Contents), n)
	}
	for i := 1; i < n; i++ {
		if list.Contents[i-1].ID >= list.Contents[i].ID {
			t.Errorf("contents not ordered by id: %d before %d", list.Contents[i-1].ID, list.Contents[i].ID)
		}
	}
}

func TestListEmpty(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.mu.Lock()
	ts.svc.procs = nil
	ts.svc.mu.Unlock()
	r := ts.do(t, "GET", procs, viewerCred)
	var data map[string]json.RawMessage
	if err := json.Unmarshal(r.env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if string(data["contents"]) != "[]" || string(data["page"]) != `{"totalElements":0,"totalPages":1,"number":1,"size":0}` {
		t.Errorf("empty list data = %s", r.env.Data)
	}
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, func(c *ServerConfig) { c.Users = nil })
	for _, path := range []string{"/healthz", api.Prefix + "/healthz"} {
		r := ts.do(t, "GET", path, noCred)
		if r.status != 200 || string(r.body) != `{"status":"ok"}` {
			t.Errorf("%s: %d %q", path, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
}

// TestRequestLog checks the one log line per request: its level, its fields,
// and that no password reaches it.
func TestRequestLog(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ts := newTestServer(t, func(c *ServerConfig) { c.Logger = zap.New(core) })
	tests := []struct {
		name   string
		method string
		path   string
		cred   cred
		level  zapcore.Level
		code   int
	}{
		{"read", "GET", procs, viewerCred, zapcore.DebugLevel, 0},
		{"change", "POST", procs + "/185/stop", managerCred, zapcore.InfoLevel, 0},
		{"bad password", "GET", procs, cred{user: "viewer", password: "guess-" + viewerPassword}, zapcore.WarnLevel, api.CodeUnauthorized},
		{"forbidden", "POST", procs + "/185/stop", viewerCred, zapcore.WarnLevel, api.CodeForbidden},
		{"failure", "POST", procs + "/33/stop", managerCred, zapcore.ErrorLevel, api.CodeUnexpected},
		{"unknown route", "GET", "/nope", noCred, zapcore.DebugLevel, api.CodeNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.TakeAll()
			r := ts.do(t, tt.method, tt.path, tt.cred, api.TraceHeader, "trace-"+strings.ReplaceAll(tt.name, " ", "-"))
			entries := logs.Filter(func(e observer.LoggedEntry) bool { return e.LoggerName != "audit" }).TakeAll()
			logs.TakeAll()
			if len(entries) != 1 {
				t.Fatalf("%d log entries, want 1: %+v", len(entries), entries)
			}
			e := entries[0]
			if e.Level != tt.level {
				t.Errorf("level %v, want %v", e.Level, tt.level)
			}
			f := e.ContextMap()
			if f["trace_id"] != r.env.TraceID || f["method"] != tt.method || f["path"] != tt.path ||
				f["status"] != int64(r.status) || f["code"] != int64(tt.code) || f["user"] != tt.cred.user {
				t.Errorf("fields %v", f)
			}
			if _, ok := f["duration"]; !ok {
				t.Errorf("no duration in %v", f)
			}
			for _, v := range f {
				if s, ok := v.(string); ok && tt.cred.password != "" && strings.Contains(s, tt.cred.password) {
					t.Errorf("password in log field %q", s)
				}
			}
		})
	}
}
