package agent

import (
	"errors"
	"net/http"
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
)

// TestClient drives the agent through its Go client over a real listener.
func TestClient(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	c := client.New(ts.URL+"/", client.WithBasicAuth("manager", managerPassword),
		client.WithHTTPClient(ts.Client()), client.WithTraceID("client-trace-1"))

	list, err := c.List(ctx, testHostID)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list.Contents) != len(ts.svc.procs) || list.Page.Size != len(list.Contents) || list.Contents[0].ID != idAgent {
		t.Errorf("List = %+v", list)
	}

	p, err := c.Get(ctx, testHostID, idRunning)
	if err != nil || p.ID != idRunning || p.Alias != "obstat2" || p.User == nil || *p.User != "admin" {
		t.Fatalf("Get = %+v, %v", p, err)
	}
	p, err = c.Stop(ctx, testHostID, idRunning)
	if err != nil || p.Status != api.StatusStopped || p.PID != 0 || p.User != nil {
		t.Fatalf("Stop = %+v, %v", p, err)
	}
	p, err = c.Start(ctx, testHostID, idRunning)
	if err != nil || p.Status != api.StatusStarted {
		t.Fatalf("Start = %+v, %v", p, err)
	}
	p, err = c.Restart(ctx, testHostID, idRunning)
	if err != nil || p.Status != api.StatusStarted {
		t.Fatalf("Restart = %+v, %v", p, err)
	}
	if err := c.Healthz(ctx); err != nil {
		t.Fatalf("Healthz: %v", err)
	}

	env, resp, err := c.Do(ctx, http.MethodGet, "/compute/hosts/20/agent/processes/")
	if err != nil || resp.StatusCode != 404 || env.Error == nil || env.Error.Code != api.CodeNoRoute || env.TraceID != "client-trace-1" {
		t.Fatalf("Do trailing slash = %+v, %v, %v", env, resp, err)
	}
}

func TestClientErrors(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	manager := client.New(ts.URL, client.WithBasicAuth("manager", managerPassword), client.WithTraceID("abc"))
	viewer := client.New(ts.URL, client.WithBasicAuth("viewer", viewerPassword))
	anonymous := client.New(ts.URL)

	tests := []struct {
		name   string
		call   func() error
		want   client.APIError // TraceID "" means any
		errMsg string
	}{
		{"no process", func() error { _, err := manager.Get(ctx, testHostID, 12345); return err },
			client.APIError{HTTPStatus: 404, Code: api.CodeNoProcess, Message: "agent process 12345 not found", Target: "agentProcessId", TraceID: "abc"},
			"40011 agent process 12345 not found (trace abc)"},
		{"no host", func() error { _, err := manager.List(ctx, 21); return err },
			client.APIError{HTTPStatus: 404, Code: api.CodeNoHost, Target: "hostId", TraceID: "abc"}, ""},
		{"bad id", func() error { _, err := manager.Stop(ctx, testHostID, -5); return err },
			client.APIError{HTTPStatus: 400, Code: api.CodeBadParameter, Target: "agentProcessId", TraceID: "abc"}, ""},
		{"not operable", func() error { _, err := manager.Restart(ctx, testHostID, idAgent); return err },
			client.APIError{HTTPStatus: 403, Code: api.CodeNotOperable, Target: "agentProcessId", TraceID: "abc"}, ""},
		{"survived kill", func() error { _, err := manager.Stop(ctx, testHostID, idSurvivesKill); return err },
			client.APIError{HTTPStatus: 500, Code: api.CodeSurvivedKill, TraceID: "abc"}, ""},
		{"start failed", func() error { _, err := manager.Start(ctx, testHostID, idStartFails); return err },
			client.APIError{HTTPStatus: 500, Code: api.CodeStartFailed, TraceID: "abc"}, ""},
		{"viewer stops", func() error { _, err := viewer.Stop(ctx, testHostID, idRunning); return err },
			client.APIError{HTTPStatus: 403, Code: api.CodeForbidden}, ""},
		{"anonymous", func() error { _, err := anonymous.Get(ctx, testHostID, idRunning); return err },
			client.APIError{HTTPStatus: 401, Code: api.CodeUnauthorized, Message: "no valid credentials"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var got *client.APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T), want *client.APIError", err, err)
			}
			if got.HTTPStatus != tt.want.HTTPStatus || got.Code != tt.want.Code || got.Target != tt.want.Target ||
				(tt.want.Message != "" && got.Message != tt.want.Message) || got.Message == "" ||
				(tt.want.TraceID != "" && got.TraceID != tt.want.TraceID) || got.TraceID == "" {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
			if tt.errMsg != "" && err.Error() != tt.errMsg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.errMsg)
			}
		})
	}
}
