package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
)

// TestHealthThroughTheAgent runs the built agent with two health-checked
// demo programs: one whose HTTP health passes, one whose check never can
// (it listens elsewhere). The first is HEALTHY in the API and the
// metrics; starting the second fails with 40014 and the check's error,
// and leaves it stopped.
func TestHealthThroughTheAgent(t *testing.T) {
	webPort, deafPort, nobodyPort := freePort(t), freePort(t), freePort(t)
	web := demo("web", 185, webPort, fmt.Sprintf("    health: {http: \"http://%s:%d/health\", interval: 500ms}\n", testIP, webPort))
	deaf := demo("deaf", 186, deafPort, fmt.Sprintf(
		"    autostart: false\n    autorestart: false\n    health: {tcp: \"%s:%d\", interval: 300ms, failures: 2}\n", testIP, nobodyPort))
	e := newEnv(t, web+deaf)
	a := e.start()
	a.waitStarted(185)
	// The autostart goes on until the first check passes: STARTED, and
	// UNKNOWN until then.
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := a.c.Get(ctxT(t), 20, 185)
		if err == nil && str(p.Health) == "HEALTHY" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web never HEALTHY: %+v, %v\n%s", p, err, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	_, err := a.c.Start(ctxT(t), 20, 186)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != api.CodeStartFailed || apiErr.HTTPStatus != 500 {
		t.Fatalf("start deaf: %v, want 500 (40014)", err)
	}
	want := fmt.Sprintf("start deaf: not healthy within 600ms after start_wait: tcp %s:%d: connection refused", testIP, nobodyPort)
	if !strings.Contains(apiErr.Message, want) {
		t.Errorf("message %q lacks %q", apiErr.Message, want)
	}
	q, err := a.c.Get(ctxT(t), 20, 186)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != api.StatusStopped || q.PID != 0 || str(q.Health) != "UNKNOWN" || !strings.Contains(str(q.LastHealthError), "connection refused") {
		t.Errorf("deaf after the failed start: status %s, pid %d, health %s, last error %s", q.Status, q.PID, str(q.Health), str(q.LastHealthError))
	}
	if !strings.HasPrefix(str(q.LastError), "not healthy within 600ms") {
		t.Errorf("deaf: lastError %s, want why its start failed", str(q.LastError))
	}

	list, err := a.c.List(ctxT(t), 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Contents {
		if p.Alias == "ocp_agentd" && p.Health != nil {
			t.Errorf("the agent's own health = %q, want null (no check configured)", *p.Health)
		}
	}

	resp, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`ocp_agent_process_healthy{alias="web",id="185"} 1`,
		`ocp_agent_process_health_check_failures_total{alias="web",id="185"} `,
		`ocp_agent_process_health_check_failures_total{alias="deaf",id="186"} `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), `ocp_agent_process_healthy{alias="deaf"`) {
		t.Error("/metrics has a health gauge for a stopped process, whose health is unknown")
	}
}

func str(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
