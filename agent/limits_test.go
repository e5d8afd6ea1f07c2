package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// limitedServer is the API behind newHTTPServer, with the given limits, on
// a real listener.
type limitedServer struct {
	addr    string
	svc     *fakeService
	handler *server
}

func serveLimited(t *testing.T, lim serverLimits, edit ...func(*ServerConfig)) *limitedServer {
	t.Helper()
	svc := newFakeService()
	cfg := ServerConfig{HostID: testHostID, ServerName: "test-host", Users: testUsers(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))}
	for _, e := range edit {
		e(&cfg)
	}
	h, err := newHandler(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h, lim, zap.NewNop())
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &limitedServer{addr: ln.Addr().String(), svc: svc, handler: h.(*server)}
}

var testLimits = serverLimits{readHeaderTimeout: time.Second, idleTimeout: 500 * time.Millisecond, maxHeaderBytes: 8 << 10}

// raw sends a request as written, over a connection of its own, and
// returns the status and the envelope (zero when the answer is not one).
func (s *limitedServer) raw(t *testing.T, request string) (int, api.Envelope, string) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer to %.80q: %v", request, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env api.Envelope
	_ = json.Unmarshal(body, &env)
	return resp.StatusCode, env, string(body)
}

func auth(c cred) string {
	return "Authorization: " + basicHeader(c.user, c.password) + "\r\n"
}

// TestIdleClientsDoNotBlock opens connections that send nothing or dribble
// a header, and checks that another client is served at once and that the
// server lets go of them.
func TestIdleClientsDoNotBlock(t *testing.T) {
	s := serveLimited(t, testLimits)
	var idle []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	slow, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET "+procs+" HTTP/1.1\r\nHost: x\r\n")
	stopDribble := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stopDribble:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := io.WriteString(slow, "X-A: b\r\n"); err != nil {
					return
				}
			}
		}
	})
	defer func() { close(stopDribble); wg.Wait() }()

	start := time.Now()
	status, _, _ := s.raw(t, "GET "+procs+" HTTP/1.1\r\nHost: x\r\n"+auth(viewerCred)+"Connection: close\r\n\r\n")
	if d := time.Since(start); status != 200 || d > 500*time.Millisecond {
		t.Fatalf("request beside 51 idle clients: %d after %v", status, d)
	}
	// The server drops them once their header has not come in time.
	for _, c := range append(idle, slow) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 512))
		if err == nil && n > 0 {
			// The dribbler may get a 408 before the close.
			_, err = c.Read(make([]byte, 512))
		}
		if err != io.EOF && !isConnReset(err) {
			t.Fatalf("idle connection still open after the header timeout: %v", err)
		}
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestKeepAliveIdleTimeout checks that a keep-alive connection left idle is
// closed after the idle timeout.
func TestKeepAliveIdleTimeout(t *testing.T) {
	s := serveLimited(t, testLimits)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection: %v, want EOF", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("closed after %v, idle timeout 500ms", d)
	}
}

func TestRequestSizeLimits(t *testing.T) {
	s := serveLimited(t, testLimits, func(c *ServerConfig) { c.MaxBodyBytes = 1024 })
	stop := "POST " + procs + "/185/stop HTTP/1.1\r\nHost: x\r\n" + auth(managerCred) + "Connection: close\r\n"
	chunked := func(sizes ...int) string {
		var b strings.Builder
		for _, n := range sizes {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, strings.Repeat("a", n))
		}
		return b.String() + "0\r\n\r\n"
	}
	tests := []struct {
		name    string
		request string
		status  int
		code    int
		target  string
		acts    bool
	}{
		{"no body", stop + "\r\n", 200, 0, "", true},
		{"small body", stop + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 200, 0, "", true},
		{"body at the limit", stop + "Content-Length: 1024\r\n\r\n" + strings.Repeat("a", 1024), 200, 0, "", true},
		{"body over the limit", stop + "Content-Length: 1025\r\n\r\n" + strings.Repeat("a", 1025), 413, api.CodeBadParameter, "body", false},
		{"huge declared body, not sent", stop + "Content-Length: 10000000000\r\n\r\n", 413, api.CodeBadParameter, "body", false},
		{"huge body before the route", "POST /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5000\r\n\r\n", 413, api.CodeBadParameter, "body", false},
		{"small chunked body", stop + "Transfer-Encoding: chunked\r\n\r\n" + chunked(10, 10), 200, 0, "", true},
		{"chunked body over the limit", stop + "Transfer-Encoding: chunked\r\n\r\n" + chunked(1000, 1000), 413, api.CodeBadParameter, "body", false},
		{"malformed chunked body", stop + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, api.CodeBadParameter, "body", false},
		{"headers over the limit", "GET " + procs + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", 431, 0, "", false},
		{"path over the header limit", "GET /" + strings.Repeat("1", 16<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.svc.calls
			status, env, body := s.raw(t, tt.request)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != 0 && (env.Error == nil || env.Error.Code != tt.code || env.Error.Target != tt.target) {
				t.Errorf("error %+v, want code %d target %q", env.Error, tt.code, tt.target)
			}
			s.svc.mu.Lock()
			acted := s.svc.calls != before
			s.svc.mu.Unlock()
			if acted != tt.acts {
				t.Errorf("service called: %v, want %v", acted, tt.acts)
			}
		})
	}
}

// TestSlowChunkedBody checks that a body that never ends is given up on,
// and that the request does not act.
func TestSlowChunkedBody(t *testing.T) {
	old := bodyReadTimeout
	bodyReadTimeout = 300 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = old })
	s := serveLimited(t, testLimits)
	start := time.Now()
	status, env, body := s.raw(t, "POST "+procs+"/185/stop HTTP/1.1\r\nHost: x\r\n"+auth(managerCred)+"Transfer-Encoding: chunked\r\n\r\n5\r\nab")
	if status != 400 || env.Error == nil || env.Error.Target != "body" {
		t.Errorf("%d %s", status, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("answered after %v", d)
	}
	if s.svc.calls != 0 {
		t.Error("the request acted")
	}
}

// TestInflightCap holds operations in the service and checks that one over
// the cap is refused at once with 503, that reads still work, and that the
// cap frees up.
func TestInflightCap(t *testing.T) {
	s := serveLimited(t, testLimits, func(c *ServerConfig) { c.MaxInflight = 2 })
	gate := make(chan struct{})
	s.svc.gate = gate
	c := &http.Client{Timeout: 10 * time.Second}
	stop := func() (*http.Response, api.Envelope) {
		req, _ := http.NewRequest("POST", "http://"+s.addr+procs+"/185/stop", nil)
		req.SetBasicAuth(managerCred.user, managerCred.password)
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return nil, api.Envelope{}
		}
		defer resp.Body.Close()
		var env api.Envelope
		json.NewDecoder(resp.Body).Decode(&env)
		return resp, env
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if resp, _ := stop(); resp != nil && resp.StatusCode != 200 {
				t.Errorf("held stop: %d", resp.StatusCode)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.svc.waiting.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the stops did not reach the service")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	resp, env := stop()
	if resp == nil || resp.StatusCode != 503 || env.Error == nil || env.Error.Code != api.CodeUnexpected ||
		!strings.Contains(env.Error.Message, "too many operations in progress (at most 2)") || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("stop over the cap: %+v %+v", resp, env.Error)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v", d)
	}
	// Reads are not operations.
	req, _ := http.NewRequest("GET", "http://"+s.addr+procs, nil)
	req.SetBasicAuth(viewerCred.user, viewerCred.password)
	if r, err := c.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf("list while the cap is reached: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	close(gate)
	wg.Wait()
	if resp, _ := stop(); resp == nil || resp.StatusCode != 200 {
		t.Errorf("stop after the others finished: %+v", resp)
	}
}

// TestHugeHeaderDoesNotCrash sends the largest header the limit allows, in
// many fields, and checks the answer is a normal one.
func TestHugeHeaderDoesNotCrash(t *testing.T) {
	s := serveLimited(t, serverLimits{readHeaderTimeout: 5 * time.Second, idleTimeout: time.Second, maxHeaderBytes: 64 << 10})
	var b bytes.Buffer
	b.WriteString("GET " + procs + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth(viewerCred))
	for i := 0; b.Len() < 60<<10; i++ {
		fmt.Fprintf(&b, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 100))
	}
	b.WriteString("X-OCP-Trace-ID: " + strings.Repeat("t", 1000) + "\r\n\r\n")
	status, env, body := s.raw(t, b.String())
	if status != 200 || len(env.TraceID) != 16 {
		t.Errorf("%d, trace id %q: %.200s", status, env.TraceID, body)
	}
}
