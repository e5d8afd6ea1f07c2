package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// stub answers every request with status and body, recording the last request.
func stub(t *testing.T, status int, body string) (*httptest.Server, *http.Request) {
	t.Helper()
	var last http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = *r.Clone(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func TestRequestShape(t *testing.T) {
	srv, last := stub(t, 200, `{"successful":true,"status":200,"traceId":"t1","data":{"id":185,"hostId":20,"alias":"obstat2","status":"STARTED"}}`)
	c := New(srv.URL+"/", WithBasicAuth("ocp", "pw"), WithTraceID("t1"))
	tests := []struct {
		name, method, path string
		call               func() error
	}{
		{"get", "GET", "/api/v2/compute/hosts/20/agent/processes/185", func() error { _, err := c.Get(t.Context(), 20, 185); return err }},
		{"stop", "POST", "/api/v2/compute/hosts/20/agent/processes/185/stop", func() error { _, err := c.Stop(t.Context(), 20, 185); return err }},
		{"start", "POST", "/api/v2/compute/hosts/20/agent/processes/185/start", func() error { _, err := c.Start(t.Context(), 20, 185); return err }},
		{"restart", "POST", "/api/v2/compute/hosts/20/agent/processes/185/restart", func() error { _, err := c.Restart(t.Context(), 20, 185); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			user, pw, ok := last.BasicAuth()
			if last.Method != tt.method || last.URL.Path != tt.path || !ok || user != "ocp" || pw != "pw" || last.Header.Get(api.TraceHeader) != "t1" {
				t.Errorf("sent %s %s auth %q/%q/%v trace %q", last.Method, last.URL.Path, user, pw, ok, last.Header.Get(api.TraceHeader))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"api error", 404, `{"successful":false,"status":404,"traceId":"abc","error":{"code":40011,"message":"agent process 12 not found","target":"agentProcessId"}}`,
			func(t *testing.T, err error) {
				var e *APIError
				if !errors.As(err, &e) || e.HTTPStatus != 404 || e.Code != 40011 || e.Target != "agentProcessId" || e.TraceID != "abc" {
					t.Fatalf("error %#v", err)
				}
				if err.Error() != "40011 agent process 12 not found (trace abc)" {
					t.Errorf("Error() = %q", err.Error())
				}
			}},
		{"unsuccessful without error object", 502, `{"successful":false,"status":502}`,
			func(t *testing.T, err error) {
				var e *APIError
				if !errors.As(err, &e) || e.HTTPStatus != 502 || e.Code != 0 || e.Message != "Bad Gateway" {
					t.Fatalf("error %#v", err)
				}
				if err.Error() != "0 Bad Gateway" {
					t.Errorf("Error() = %q", err.Error())
				}
			}},
		{"not an envelope", 502, `<html>bad gateway</html>`,
			func(t *testing.T, err error) {
				var e *APIError
				if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "decode envelope") || !strings.Contains(err.Error(), "HTTP 502") {
					t.Fatalf("error %v", err)
				}
			}},
		{"bad data", 200, `{"successful":true,"status":200,"traceId":"x","data":[1]}`,
			func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "decode data (trace x)") {
					t.Fatalf("error %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := stub(t, tt.status, tt.body)
			_, err := New(srv.URL).Get(t.Context(), 20, 12)
			tt.check(t, err)
		})
	}
}

func TestDoKeepsAPIErrors(t *testing.T) {
	srv, _ := stub(t, 405, `{"successful":false,"status":405,"traceId":"t","error":{"code":10003,"message":"no"}}`)
	env, resp, err := New(srv.URL).Do(t.Context(), "DELETE", "/x")
	if err != nil || resp.StatusCode != 405 || env.Error.Code != 10003 || env.Successful {
		t.Fatalf("Do = %+v, %v, %v", env, resp, err)
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"ok", 200, `{"status":"ok"}`, true},
		{"down", 503, `{"status":"down"}`, false},
		{"wrong body", 200, `hello`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, last := stub(t, tt.status, tt.body)
			err := New(srv.URL).Healthz(t.Context())
			if (err == nil) != tt.ok {
				t.Fatalf("Healthz = %v", err)
			}
			if last.URL.Path != "/healthz" {
				t.Errorf("path %q", last.URL.Path)
			}
		})
	}
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	srv, _ := stub(t, 200, `{"status":"ok"}`)
	tr := &countingTransport{}
	if err := New(srv.URL, WithHTTPClient(&http.Client{Transport: tr})).Healthz(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() != 1 {
		t.Errorf("transport used %d times", tr.n.Load())
	}
}

func TestTransportError(t *testing.T) {
	srv, _ := stub(t, 200, "")
	srv.Close()
	_, err := New(srv.URL).List(t.Context(), 20)
	var e *APIError
	if err == nil || errors.As(err, &e) || !strings.HasPrefix(err.Error(), "list agent processes of host 20: ") {
		t.Fatalf("error %v", err)
	}
}
