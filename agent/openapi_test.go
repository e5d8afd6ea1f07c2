package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/openapi"
	"github.com/ocp-agent/ocp-agent/config"
)

// openapiAgent runs a real Agent from a config file (so that a reload can
// reread it) and returns its TCP address and its socket's path.
func openapiAgent(t *testing.T) (addr, sock string) {
	t.Helper()
	dir := openTempDir(t)
	sock = filepath.Join(dir, "agent.sock")
	file := filepath.Join(dir, "agent.yaml")
	yml := fmt.Sprintf(`host: {id: 20}
server: {listen: "127.0.0.1:0", socket: %s, name: test-host}
auth:
  users:
    - {name: ocp, password: secret, permissions: [HOST_MANAGER]}
    - {name: viewer, password: secret, permissions: [HOST_VIEWER]}
cgroup: off
state_dir: %s
processes:
  - {alias: p, id: 185, start_command: sleep 1000, start_wait: 100ms, stop_timeout: 5s, autorestart: false, log_file_pattern: /tmp/p.log*,
     health: {tcp: %d}}
  - {alias: failing, id: 186, start_command: "sh -c 'echo boom; exit 3'", start_wait: 2s, autostart: false, autorestart: false}
  - {alias: locked, id: 187, start_command: sleep 1000, operable: false, autostart: false}
  - {alias: stubborn, id: 188, start_command: "trap '' TERM; while :; do sleep 1; done", start_wait: 100ms, stop_timeout: 3s, autostart: false, autorestart: false}
`, sock, filepath.Join(dir, "state"), healthTarget(t))
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	_, addr = serveAgent(t, cfg)
	return addr, sock
}

// apiChecker sends real requests and validates each answer against the
// OpenAPI document the agent serves, with kin-openapi's validator.
type apiChecker struct {
	doc    *openapi3.T
	router routers.Router
	tcp    *http.Client
	unix   *http.Client
	addr   string
	// seen records "operationId status" of every validated answer, to
	// prove that each operation was exercised.
	mu   sync.Mutex
	seen map[string]bool
}

type apiCall struct {
	method, path string
	user         string // "" sends no credentials
	unix         bool   // over the socket, as root
	status       int
	code         int // the envelope's error code, 0 for none or no envelope
}

// answer is one real answer to a call.
type answer struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

// send makes call over real HTTP; it touches no *testing.T, so that it can
// run on another goroutine.
func (c *apiChecker) send(call apiCall) (answer, error) {
	base, client := "http://"+c.addr, c.tcp
	if call.unix {
		base, client = "http://agent", c.unix
	}
	req, err := http.NewRequest(call.method, base+call.path, nil)
	if err != nil {
		return answer{}, err
	}
	if call.user != "" {
		req.SetBasicAuth(call.user, "secret")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", call.method, call.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{req: req, status: resp.StatusCode, header: resp.Header, body: body}, err
}

// check sends call and validates its answer.
func (c *apiChecker) check(t *testing.T, call apiCall) []byte {
	t.Helper()
	a, err := c.send(call)
	if err != nil {
		t.Fatal(err)
	}
	return c.validate(t, call, a)
}

// validate checks a's status and error code against call's, then a against
// the document.
func (c *apiChecker) validate(t *testing.T, call apiCall, a answer) []byte {
	t.Helper()
	req, body := a.req, a.body
	if a.status != call.status {
		t.Fatalf("%s %s: status %d, want %d: %s", call.method, call.path, a.status, call.status, body)
	}
	if call.code != 0 {
		var env api.Envelope
		if err := json.Unmarshal(body, &env); err != nil || env.Error == nil || env.Error.Code != call.code {
			t.Fatalf("%s %s: want error code %d, got %s (%v)", call.method, call.path, call.code, body, err)
		}
	}

	route, params, err := c.router.FindRoute(req)
	switch {
	case err == nil:
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 a.status,
			Header:                 a.header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s: answer %d does not match the document: %v\n%s", call.method, call.path, a.status, err, body)
		}
		c.mu.Lock()
		c.seen[fmt.Sprintf("%s %d", route.Operation.OperationID, a.status)] = true
		c.mu.Unlock()
	case errors.Is(err, routers.ErrPathNotFound), errors.Is(err, routers.ErrMethodNotAllowed):
		// An unknown route or method has no operation to hold its
		// answer: the answer is the document's error envelope.
		if call.status != http.StatusNotFound && call.status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: the document has no route for it: %v", call.method, call.path, err)
		}
		c.visit(t, "ErrorEnvelope", body)
	default:
		t.Fatalf("%s %s: find route: %v", call.method, call.path, err)
	}
	return body
}

// visit validates body against the document's schema name.
func (c *apiChecker) visit(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	if err := c.doc.Components.Schemas[name].Value.VisitJSON(v); err != nil {
		t.Errorf("%s does not match %s: %v", body, name, err)
	}
}

// TestOpenAPIDocumentMatchesAnswers loads the document a real agent serves
// at /api/openapi.json, checks it is valid OpenAPI 3, and validates real
// answers of every route against it: successes with real processes, and
// every error the routes give.
func TestOpenAPIDocumentMatchesAnswers(t *testing.T) {
	addr, sock := openapiAgent(t)
	tcp := &http.Client{Timeout: 90 * time.Second}
	resp, err := tcp.Get("http://" + addr + OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %s, Content-Type %q", OpenAPIPath, resp.Status, resp.Header.Get("Content-Type"))
	}
	want, err := openapi.JSON()
	if err != nil || !bytes.Equal(served, want) {
		t.Fatalf("the served document is not the embedded one (%v)", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(served)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	// Route the test's own addresses: the document names the default one.
	doc.Servers = openapi3.Servers{{URL: "http://" + addr}, {URL: "http://agent"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiChecker{doc: doc, router: router, tcp: tcp, unix: unixClient(sock), addr: addr, seen: map[string]bool{}}
	c.unix.Timeout = 90 * time.Second

	const procs = "/compute/hosts/20/agent/processes"
	for _, prefix := range []string{"", api.Prefix} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			calls := []apiCall{
				{method: "GET", path: prefix + "/healthz", status: 200},
				{method: "GET", path: prefix + "/metrics", status: 200},
				{method: "POST", path: prefix + "/healthz", status: 405, code: api.CodeMethodNotAllowed},
				{method: "GET", path: prefix + procs, status: 401, code: api.CodeUnauthorized},
				{method: "GET", path: prefix + procs, user: "viewer", status: 200},
				{method: "GET", path: prefix + procs + "/185", user: "viewer", status: 200},
				{method: "POST", path: prefix + procs + "/185/stop", user: "viewer", status: 403, code: api.CodeForbidden},
				{method: "GET", path: prefix + "/compute/hosts/21/agent/processes", user: "ocp", status: 404, code: api.CodeNoHost},
				{method: "GET", path: prefix + procs + "/999", user: "ocp", status: 404, code: api.CodeNoProcess},
				{method: "POST", path: prefix + procs + "/999/start", user: "ocp", status: 404, code: api.CodeNoProcess},
				{method: "GET", path: prefix + procs + "/abc", user: "ocp", status: 400, code: api.CodeBadParameter},
				{method: "POST", path: prefix + procs + "/99999999999999999999/stop", user: "ocp", status: 400, code: api.CodeBadParameter},
				{method: "GET", path: prefix + "/compute/hosts/20/agent/nothing", user: "ocp", status: 404, code: api.CodeNoRoute},
				{method: "GET", path: prefix + procs + "/", user: "ocp", status: 404, code: api.CodeNoRoute},
				{method: "DELETE", path: prefix + procs + "/185", user: "ocp", status: 405, code: api.CodeMethodNotAllowed},
				{method: "GET", path: prefix + procs + "/185/stop", user: "ocp", status: 405, code: api.CodeMethodNotAllowed},
				{method: "POST", path: prefix + procs + "/187/stop", user: "ocp", status: 403, code: api.CodeNotOperable},
				{method: "POST", path: prefix + procs + "/185/stop", user: "ocp", status: 200},
				{method: "POST", path: prefix + procs + "/185/stop", user: "ocp", status: 200}, // already stopped
				{method: "GET", path: prefix + procs + "/185", user: "ocp", status: 200},       // STOPPED record
				{method: "POST", path: prefix + procs + "/185/start", user: "ocp", status: 200},
				{method: "POST", path: prefix + procs + "/185/start", user: "ocp", status: 200}, // already running
				{method: "POST", path: prefix + procs + "/185/restart", user: "ocp", status: 200},
				{method: "GET", path: prefix + procs, user: "ocp", status: 200}, // with a running process
				{method: "POST", path: prefix + procs + "/186/start", user: "ocp", status: 500, code: api.CodeStartFailed},
				{method: "POST", path: prefix + procs + "/186/restart", user: "ocp", status: 500, code: api.CodeStartFailed},
			}
			for _, call := range calls {
				c.check(t, call)
			}
			c.checkSuperseded(t, prefix+procs+"/188")
		})
	}
	t.Run("local-admin", func(t *testing.T) {
		c.check(t, apiCall{method: "GET", path: OpenAPIPath, status: 200})
		c.check(t, apiCall{method: "POST", path: ReloadPath, unix: true, status: 200})
		c.check(t, apiCall{method: "GET", path: ReloadPath, unix: true, status: 405, code: api.CodeMethodNotAllowed})
		c.check(t, apiCall{method: "POST", path: ReloadPath, user: "ocp", status: 404, code: api.CodeNoRoute})
		c.check(t, apiCall{method: "GET", path: procs + "/185", unix: true, status: 200})
	})

	// Every operation of the document was answered with its 200, and
	// every route of the code is in the document, with and without the
	// prefix.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !c.seen[op.OperationID+" 200"] {
				t.Errorf("%s %s (%s): no 200 answer was validated", method, path, op.OperationID)
			}
		}
	}
	for _, prefix := range []string{"", api.Prefix} {
		for _, rt := range routes {
			if item := doc.Paths.Value(prefix + rt.path); item == nil || item.GetOperation(rt.method) == nil {
				t.Errorf("the document lacks %s %s", rt.method, prefix+rt.path)
			}
		}
	}
}

// checkSuperseded makes a start wait behind a slow stop (the process
// ignores SIGTERM, so the stop lasts its stop_timeout), then stops it
// again: the waiting start is superseded, 409 (40015). Each request is sent
// once the previous one is recorded (desiredStatus), so the order is sure.
func (c *apiChecker) checkSuperseded(t *testing.T, path string) {
	t.Helper()
	c.check(t, apiCall{method: "POST", path: path + "/start", user: "ocp", status: 200})
	stopCall := apiCall{method: "POST", path: path + "/stop", user: "ocp", status: 200}
	startCall := apiCall{method: "POST", path: path + "/start", user: "ocp", status: 409, code: api.CodeSuperseded}
	type result struct {
		a   answer
		err error
	}
	// In the background, since each waits for the stop; send touches no
	// *testing.T, and validate runs here.
	background := func(call apiCall) chan result {
		ch := make(chan result, 1)
		go func() {
			a, err := c.send(call)
			ch <- result{a, err}
		}()
		return ch
	}
	waitDesired := func(want string) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var env struct{ Data api.HostAgentProcess }
			body := c.check(t, apiCall{method: "GET", path: path, user: "ocp", status: 200})
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if env.Data.DesiredStatus == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("desiredStatus never became %s: %s", want, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	firstStop := background(stopCall)
	waitDesired(api.StatusStopped)
	start := background(startCall)
	waitDesired(api.StatusStarted)
	c.check(t, stopCall)
	for _, call := range []struct {
		call apiCall
		ch   chan result
	}{{stopCall, firstStop}, {startCall, start}} {
		r := <-call.ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		c.validate(t, call.call, r.a)
	}
}
