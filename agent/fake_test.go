package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/procmgr"
)

// fakeService is a processService over a map, whose operations fail per id
// with the errors the real one passes through, so that every code is reached.
type fakeService struct {
	mu    sync.Mutex
	procs map[int64]api.HostAgentProcess
	fail  map[int64]error // returned by Stop, Start and Restart of that id
	calls int
	// gate, when set, holds every Stop until it is closed; waiting
	// counts the stops it holds.
	gate    chan struct{}
	waiting atomic.Int32
}

var _ processService = (*fakeService)(nil)

const testHostID = 20

// Ids of the fake's processes.
const (
	idRunning      = 185 // operable, STARTED
	idAgent        = 7   // ocp_agentd, not operable
	idStopped      = 12  // operable, STOPPED, nil pointers
	idSurvivesKill = 31
	idStartFails   = 32
	idBroken       = 33 // fails with an unexpected error
	idPanics       = 34 // not in the map: its stop panics
	idSuperseded   = 35 // its restart is superseded by a stop
)

func strp(s string) *string { return &s }

func newFakeService() *fakeService {
	proc := func(id int64, alias string, operable bool, status string) api.HostAgentProcess {
		p := api.HostAgentProcess{ID: id, HostID: testHostID, Alias: alias, Status: status, Operable: operable,
			CreateTime: "2021-08-03T15:02:44+08:00", UpdateTime: "2021-08-03T15:03:27+08:00"}
		if status == api.StatusStarted {
			p.PID, p.User, p.StartCommand, p.Ports = 4242, strp("admin"), strp("/bin/obstat2 -p 8089"), strp("8089")
			p.ElapsedTime, p.LastActiveTime = 60, strp("2021-09-03T13:01:28+08:00")
		}
		return p
	}
	f := &fakeService{procs: map[int64]api.HostAgentProcess{}, fail: map[int64]error{
		idSurvivesKill: fmt.Errorf("stop stubborn: %w", procmgr.ErrSurvivedKill),
		idStartFails:   fmt.Errorf("start crashy: %w", &procmgr.StartError{Alias: "crashy", ExitStatus: 127, Output: "sh: crashy: not found"}),
		idBroken:       errors.New("state db: disk on fire"),
		idSuperseded:   &procmgr.SupersededError{Op: "restart", Alias: "obstat2", By: "stop"},
	}}
	for _, p := range []api.HostAgentProcess{
		proc(idRunning, "obstat2", true, api.StatusStarted),
		proc(idAgent, "ocp_agentd", false, api.StatusStarted),
		proc(idStopped, "idle", true, api.StatusStopped),
		proc(idSurvivesKill, "stubborn", true, api.StatusStarted),
		proc(idStartFails, "crashy", true, api.StatusStopped),
		proc(idBroken, "broken", true, api.StatusStarted),
		proc(idSuperseded, "obstat2", true, api.StatusStarted),
	} {
		f.procs[p.ID] = p
	}
	return f
}

// List returns the processes in descending id order, so that the server's
// sorting is what the tests see.
func (f *fakeService) List(context.Context) ([]api.HostAgentProcess, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var out []api.HostAgentProcess
	for _, p := range f.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func (f *fakeService) Get(_ context.Context, id int64) (api.HostAgentProcess, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	p, ok := f.procs[id]
	if !ok {
		return p, fmt.Errorf("get %d: %w", id, ErrNoProcess)
	}
	return p, nil
}

func (f *fakeService) operate(id int64, op, status string) (api.HostAgentProcess, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	p, ok := f.procs[id]
	if !ok {
		return p, fmt.Errorf("%s %d: %w", op, id, ErrNoProcess)
	}
	if !p.Operable {
		return api.HostAgentProcess{}, fmt.Errorf("%s %s: %w", op, p.Alias, ErrNotOperable)
	}
	if err := f.fail[id]; err != nil {
		return api.HostAgentProcess{}, err
	}
	p.Status = status
	if status == api.StatusStopped {
		p.PID, p.User, p.StartCommand, p.Ports, p.ElapsedTime = 0, nil, nil, nil, 0
	}
	f.procs[id] = p
	return p, nil
}

func (f *fakeService) Stop(_ context.Context, id int64) (api.HostAgentProcess, error) {
	if id == idPanics {
		panic("fake stop panicked")
	}
	if f.gate != nil {
		f.waiting.Add(1)
		<-f.gate
		f.waiting.Add(-1)
	}
	return f.operate(id, "stop", api.StatusStopped)
}

func (f *fakeService) Start(_ context.Context, id int64) (api.HostAgentProcess, error) {
	return f.operate(id, "start", api.StatusStarted)
}

func (f *fakeService) Restart(_ context.Context, id int64) (api.HostAgentProcess, error) {
	return f.operate(id, "restart", api.StatusStarted)
}

// Test users: a bcrypt one (at the minimum cost, to keep tests fast), plain
// ones, and one without any permission.
const (
	managerPassword = "manager-secret"
	viewerPassword  = "viewer-secret"
)

var managerHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(managerPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

func testUsers() []User {
	return []User{
		{Name: "manager", Password: managerHash, Permissions: []string{api.PermHostManager}},
		{Name: "viewer", Password: viewerPassword, Permissions: []string{api.PermHostViewer}},
		{Name: "both", Password: "both-secret", Permissions: []string{api.PermHostViewer, api.PermHostManager}},
		{Name: "nobody", Password: "nobody-secret"},
	}
}

// testServer is the handler behind a real listener.
type testServer struct {
	*httptest.Server
	svc     *fakeService
	reg     *prometheus.Registry
	handler *server
}

func newTestServer(t *testing.T, edit ...func(*ServerConfig)) *testServer {
	t.Helper()
	ts := &testServer{svc: newFakeService(), reg: prometheus.NewRegistry()}
	cfg := ServerConfig{HostID: testHostID, ServerName: "test-host", Users: testUsers(), Registry: ts.reg,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))}
	for _, e := range edit {
		e(&cfg)
	}
	h, err := newHandler(cfg, ts.svc)
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	ts.handler = h.(*server)
	ts.Server = httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// cred is how a test request authenticates.
type cred struct{ user, password, header string }

var (
	noCred      = cred{}
	managerCred = cred{user: "manager", password: managerPassword}
	viewerCred  = cred{user: "viewer", password: viewerPassword}
)

// response is an answer as the tests look at it: the envelope and its raw keys.
type response struct {
	status int
	header http.Header
	body   []byte
	env    api.Envelope
	keys   map[string]json.RawMessage
}

func (ts *testServer) do(t *testing.T, method, path string, c cred, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	switch {
	case c.header != "":
		req.Header.Set("Authorization", c.header)
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: body}
	plain := strings.HasSuffix(path, "/healthz") && resp.StatusCode == http.StatusOK
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !plain {
		if err := json.Unmarshal(body, &r.env); err != nil {
			t.Fatalf("%s %s: decode envelope %q: %v", method, path, body, err)
		}
		if err := json.Unmarshal(body, &r.keys); err != nil {
			t.Fatalf("decode keys: %v", err)
		}
	}
	return r
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
