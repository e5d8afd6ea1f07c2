package agent

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// TestAuditLog checks the one audit line of every request to a mutating
// route, whatever its outcome, and that reads have none.
func TestAuditLog(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ts := newTestServer(t, func(c *ServerConfig) { c.Logger = zap.New(core) })
	tests := []struct {
		name      string
		method    string
		path      string
		cred      cred
		action    string // "": no audit line
		outcome   string
		code      int
		user      string
		processID string
		alias     string
	}{
		{"stop", "POST", procs + "/185/stop", managerCred, "stop", "ok", 0, "manager", "185", "obstat2"},
		{"start under the prefix", "POST", api.Prefix + procs + "/12/start", managerCred, "start", "ok", 0, "manager", "12", "idle"},
		{"restart without credentials", "POST", procs + "/185/restart", noCred, "restart", "refused", api.CodeUnauthorized, "", "185", ""},
		{"wrong password", "POST", procs + "/185/stop", cred{user: "manager", password: "guess"}, "stop", "refused", api.CodeUnauthorized, "manager", "185", ""},
		{"viewer stops", "POST", procs + "/185/stop", viewerCred, "stop", "refused", api.CodeForbidden, "viewer", "185", ""},
		{"bad id", "POST", procs + "/abc/stop", managerCred, "stop", "refused", api.CodeBadParameter, "manager", "abc", ""},
		{"unknown process", "POST", procs + "/99/stop", managerCred, "stop", "refused", api.CodeNoProcess, "manager", "99", ""},
		{"not operable", "POST", procs + "/7/stop", managerCred, "stop", "refused", api.CodeNotOperable, "manager", "7", ""},
		{"survived SIGKILL", "POST", procs + "/31/stop", managerCred, "stop", "failed", api.CodeSurvivedKill, "manager", "31", ""},
		{"list", "GET", procs, viewerCred, "", "", 0, "", "", ""},
		{"get", "GET", procs + "/185", viewerCred, "", "", 0, "", "", ""},
		{"unknown action", "POST", procs + "/185/kill", managerCred, "", "", 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.TakeAll()
			trace := "audit-" + strings.ReplaceAll(tt.name, " ", "-")
			r := ts.do(t, tt.method, tt.path, tt.cred, api.TraceHeader, trace)
			lines := logs.FilterLoggerName("audit").TakeAll()
			if tt.action == "" {
				if len(lines) != 0 {
					t.Fatalf("audit lines for a read or no route: %+v", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("%d audit lines, want 1", len(lines))
			}
			e := lines[0]
			f := e.ContextMap()
			if e.Level != zapcore.InfoLevel || e.Message != "operation" {
				t.Errorf("level %v message %q", e.Level, e.Message)
			}
			want := map[string]any{"action": tt.action, "outcome": tt.outcome, "code": int64(tt.code), "status": int64(r.status),
				"user": tt.user, "trace_id": trace, "host_id": "20", "process_id": tt.processID}
			for k, v := range want {
				if f[k] != v {
					t.Errorf("%s = %v, want %v", k, f[k], v)
				}
			}
			if a, _ := f["alias"].(string); a != tt.alias {
				t.Errorf("alias = %q, want %q", a, tt.alias)
			}
			if remote, _ := f["remote"].(string); !strings.HasPrefix(remote, "127.0.0.1:") {
				t.Errorf("remote = %q", remote)
			}
			if d, ok := f["duration"].(time.Duration); !ok || d < 0 {
				t.Errorf("duration = %v", f["duration"])
			}
			if _, ok := f["error"]; ok != (tt.code != 0) {
				t.Errorf("error field present %v for code %d", ok, tt.code)
			}
			for _, v := range f {
				if s, ok := v.(string); ok && tt.cred.password != "" && strings.Contains(s, tt.cred.password) {
					t.Errorf("password in audit field %q", s)
				}
			}
		})
	}
}

// TestAuditSocketPeer checks that an operation over the unix socket is
// audited with the peer's uid and pid.
func TestAuditSocketPeer(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	path := filepath.Join(openTempDir(t), "agent.sock")
	s := serveSocket(t, socketSpec{path: path}, func(c *ServerConfig) { c.Logger = zap.New(core) })
	if status, _ := socketDo(t, s.path, http.MethodPost, procs+"/185/stop"); status != 200 {
		t.Fatalf("stop: %d", status)
	}
	lines := logs.FilterLoggerName("audit").TakeAll()
	if len(lines) != 1 {
		t.Fatalf("%d audit lines", len(lines))
	}
	f := lines[0].ContextMap()
	if f["user"] != fmt.Sprintf("uid:%d", os.Getuid()) || f["uid"] != uint32(os.Getuid()) || f["pid"] != int32(os.Getpid()) || f["outcome"] != "ok" {
		t.Errorf("audit fields %v", f)
	}
}
