// Package client is a typed Go client for the agent's HTTP API, used by tests,
// the CLI and the OCP server side.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// maxBody bounds how much of a response is read, so that a wrong base URL
// pointing at something that streams cannot exhaust memory. A list of every
// process of a host is a few kilobytes.
const maxBody = 16 << 20

// Client calls one agent. It is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	user     string
	password string
	basic    bool
	traceID  string
}

// Option configures a Client.
type Option func(*Client)

// New returns a client of the agent at baseURL (e.g. "http://127.0.0.1:62888").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithBasicAuth sends HTTP Basic credentials with every request, as the
// agent's TCP listener requires.
func WithBasicAuth(user, password string) Option {
	return func(c *Client) { c.user, c.password, c.basic = user, password, true }
}

// WithHTTPClient replaces http.DefaultClient, e.g. to set timeouts or to dial
// the agent's unix socket.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithTraceID sets X-OCP-Trace-ID on every request, so that a caller's own
// trace id shows up in the agent's logs and responses.
func WithTraceID(id string) Option {
	return func(c *Client) { c.traceID = id }
}

// APIError is an answer of the agent with successful=false. Callers tell the
// cases apart by Code (api.Code*), e.g. api.CodeNoProcess.
type APIError struct {
	HTTPStatus int
	Code       int
	Message    string
	Target     string
	TraceID    string
}

// Error formats the error as the code, the message and the trace id, which is
// what an operator needs to find the request in the agent's log.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Code, e.Message)
	if e.TraceID != "" {
		msg += " (trace " + e.TraceID + ")"
	}
	return msg
}

func processesPath(hostID int64) string {
	return fmt.Sprintf("%s/compute/hosts/%d/agent/processes", api.Prefix, hostID)
}

func processPath(hostID, id int64) string {
	return fmt.Sprintf("%s/%d", processesPath(hostID), id)
}

// List returns every agent process of the host, ordered by id.
func (c *Client) List(ctx context.Context, hostID int64) (*api.ProcessList, error) {
	var out api.ProcessList
	if err := c.call(ctx, http.MethodGet, processesPath(hostID), &out); err != nil {
		return nil, wrap(err, fmt.Sprintf("list agent processes of host %d", hostID))
	}
	return &out, nil
}

// ListInto decodes the data of the list route into out, which may be a
// type with more fields than api.ProcessList: the agent may send extras
// (lastError, nextStartTime, ...) that the shared types do not carry yet.
func (c *Client) ListInto(ctx context.Context, hostID int64, out any) error {
	if err := c.call(ctx, http.MethodGet, processesPath(hostID), out); err != nil {
		return wrap(err, fmt.Sprintf("list agent processes of host %d", hostID))
	}
	return nil
}

// Get returns one agent process.
func (c *Client) Get(ctx context.Context, hostID, id int64) (*api.HostAgentProcess, error) {
	return c.process(ctx, http.MethodGet, processPath(hostID, id), "get", id)
}

// Stop stops an agent process and returns it once it is gone.
func (c *Client) Stop(ctx context.Context, hostID, id int64) (*api.HostAgentProcess, error) {
	return c.process(ctx, http.MethodPost, processPath(hostID, id)+"/stop", "stop", id)
}

// Start starts an agent process and returns it once it counts as started.
func (c *Client) Start(ctx context.Context, hostID, id int64) (*api.HostAgentProcess, error) {
	return c.process(ctx, http.MethodPost, processPath(hostID, id)+"/start", "start", id)
}

// Restart stops and starts an agent process and returns it once started.
func (c *Client) Restart(ctx context.Context, hostID, id int64) (*api.HostAgentProcess, error) {
	return c.process(ctx, http.MethodPost, processPath(hostID, id)+"/restart", "restart", id)
}

func (c *Client) process(ctx context.Context, method, path, op string, id int64) (*api.HostAgentProcess, error) {
	var out api.HostAgentProcess
	if err := c.call(ctx, method, path, &out); err != nil {
		return nil, wrap(err, fmt.Sprintf("%s agent process %d", op, id))
	}
	return &out, nil
}

// wrap adds what was being done to a transport or decoding error. An
// *APIError is returned as it is: its message already names the object, and
// callers can type-assert it.
func wrap(err error, doing string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// Healthz reports whether the agent answers its liveness probe.
func (c *Client) Healthz(ctx context.Context) error {
	resp, body, err := c.send(ctx, http.MethodGet, "/healthz")
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var h struct{ Status string }
	if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
		return fmt.Errorf("healthz: unexpected answer %q", bytes.TrimSpace(body))
	}
	return nil
}

// Do sends a request to path (e.g. "/api/v2/compute/hosts/20/agent/processes")
// and decodes the envelope, whatever its status: an error means no envelope
// came back. The response's body is already read and closed. It is there for
// paths and methods the typed methods do not cover, and for tests.
func (c *Client) Do(ctx context.Context, method, path string) (*api.Envelope, *http.Response, error) {
	resp, body, err := c.send(ctx, method, path)
	if err != nil {
		return nil, resp, err
	}
	var env api.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, resp, fmt.Errorf("%s %s: HTTP %d: decode envelope: %w", method, path, resp.StatusCode, err)
	}
	return &env, resp, nil
}

// call sends a request and decodes a successful envelope's data into out; an
// unsuccessful one becomes an *APIError.
func (c *Client) call(ctx context.Context, method, path string, out any) error {
	env, resp, err := c.Do(ctx, method, path)
	if err != nil {
		return err
	}
	if !env.Successful {
		e := &APIError{HTTPStatus: resp.StatusCode, TraceID: env.TraceID, Message: http.StatusText(resp.StatusCode)}
		if env.Error != nil {
			e.Code, e.Message, e.Target = env.Error.Code, env.Error.Message, env.Error.Target
		}
		return e
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("decode data (trace %s): %w", env.TraceID, err)
	}
	return nil
}

// send does the HTTP exchange and returns the whole body.
func (c *Client) send(ctx context.Context, method, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.basic {
		req.SetBasicAuth(c.user, c.password)
	}
	if c.traceID != "" {
		req.Header.Set(api.TraceHeader, c.traceID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err // already names method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	return resp, body, nil
}
