package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// Credentials of the agent's benchmark user: a bcrypt hash in its config,
// as in production (the agent caches a verified password).
const (
	agentUser     = "bench"
	agentPassword = "bench-password"
	agentHostID   = 1
)

// agent is a client of the ocp-agent HTTP API on loopback.
type agent struct {
	base string // http://127.0.0.1:PORT/compute/hosts/1/agent/processes
	http *http.Client
}

func newAgent(addr string, conns int) *agent {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}
	return &agent{
		base: fmt.Sprintf("http://%s/compute/hosts/%d/agent/processes", addr, agentHostID),
		http: &http.Client{Transport: tr, Timeout: 2 * time.Minute},
	}
}

// call sends one request and returns the raw body of a 200; the caller
// times it and decodes it afterwards.
func (a *agent) call(method, path string) ([]byte, error) {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(agentUser, agentPassword)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, body)
	}
	return body, nil
}

func decodeList(body []byte) ([]api.HostAgentProcess, error) {
	var env struct {
		Data api.ProcessList `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	return env.Data.Contents, nil
}

// op is POST .../{id}/{stop,start,restart}.
func (a *agent) op(id int64, what string) error {
	_, err := a.call(http.MethodPost, fmt.Sprintf("/%d/%s", id, what))
	return err
}
