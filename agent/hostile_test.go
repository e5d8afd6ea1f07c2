package agent

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// callCount is how often the service was called.
func (f *fakeService) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// rawAnswer sends request as written and reads one answer; status 0 when
// the server closed the connection without one.
func rawAnswer(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, request)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestHostileRequests sends what no client should, and checks that each
// is answered (or dropped) without acting, and that the agent still serves
// afterwards.
func TestHostileRequests(t *testing.T) {
	old := bodyReadTimeout
	bodyReadTimeout = 500 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = old })
	s := serveLimited(t, serverLimits{readHeaderTimeout: time.Second, idleTimeout: time.Second, maxHeaderBytes: 64 << 10})
	s.handler.auth.throttle.free = 1 << 30 // the many refusals here are not what is tested
	manager := "Authorization: " + basicHeader(managerCred.user, managerCred.password) + "\r\n"
	req := func(method, target string, headers ...string) string {
		return method + " " + target + " HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
	}
	stop := procs + "/185/stop"
	long := strings.Repeat("9", 20000)
	tests := []struct {
		name    string
		request string
		status  []int // any of these; 0 = closed without an answer
		code    int   // the envelope's code, when one is expected
	}{
		// Odd path encodings.
		{"escaped slash before the action", req("POST", procs+"/185%2Fstop", manager), []int{404}, api.CodeNoRoute},
		{"escaped slash, lower case", req("POST", procs+"/185%2fstop", manager), []int{404}, api.CodeNoRoute},
		{"escaped slash in the host", req("POST", "/compute/hosts/20%2Fagent/processes/185/stop", manager), []int{404}, api.CodeNoRoute},
		{"escaped letters", req("POST", "/compute/hosts/20/agent/processes/185/%73top", manager), []int{404}, api.CodeNoRoute},
		{"NUL in the id", req("POST", procs+"/%00/stop", manager), []int{400}, api.CodeBadParameter},
		{"NUL after the action", req("POST", stop+"%00", manager), []int{404}, api.CodeNoRoute},
		{"raw NUL", req("POST", procs+"/1\x00/stop", manager), []int{400}, 0},
		{"invalid escape", req("POST", procs+"/%zz/stop", manager), []int{400}, 0},
		{"invalid UTF-8", req("POST", procs+"/%FF%FE/stop", manager), []int{400}, api.CodeBadParameter},
		{"lower-case escapes", req("POST", procs+"/%ff%fe/stop", manager), []int{404}, api.CodeNoRoute},
		{"double slash", req("POST", "/compute//hosts/20/agent/processes/185/stop", manager), []int{404}, api.CodeNoRoute},
		{"leading double slash", req("POST", "//compute/hosts/20/agent/processes/185/stop", manager), []int{404, 400}, 0},
		{"dot segment", req("POST", procs+"/186/../185/stop", manager), []int{404}, api.CodeNoRoute},
		{"escaped dot segment", req("POST", procs+"/186/%2e%2e/185/stop", manager), []int{404}, api.CodeNoRoute},
		{"prefix dot segment", req("POST", api.Prefix+"/../compute/hosts/20/agent/processes/185/stop", manager), []int{404}, api.CodeNoRoute},
		{"backslash", req("POST", procs+"\\185\\stop", manager), []int{404}, api.CodeNoRoute},
		{"very long id", req("POST", procs+"/"+long+"/stop", manager), []int{400}, api.CodeBadParameter},
		{"very long host id", req("GET", "/compute/hosts/"+long+"/agent/processes", manager), []int{400}, api.CodeBadParameter},
		{"very long unknown path", req("GET", "/"+strings.Repeat("a/", 20000), manager), []int{404}, api.CodeNoRoute},
		{"fragment", req("POST", stop+"#x", manager), []int{400, 404}, 0},
		// Methods.
		{"unknown method", req("FROB", stop, manager), []int{405}, api.CodeMethodNotAllowed},
		{"lower-case post", req("post", stop, manager), []int{405}, api.CodeMethodNotAllowed},
		{"TRACE", req("TRACE", stop, manager), []int{405}, api.CodeMethodNotAllowed},
		{"DELETE", req("DELETE", procs+"/185", manager), []int{405}, api.CodeMethodNotAllowed},
		{"CONNECT", req("CONNECT", "agent:62888", manager), []int{404, 400}, 0},
		{"OPTIONS star", req("OPTIONS", "*", manager), []int{200}, 0}, // net/http's own empty answer
		{"very long method", req(strings.Repeat("P", 5000), stop, manager), []int{405, 400}, 0},
		// Authorization headers.
		{"two Authorization headers", req("POST", stop, manager, manager), []int{401}, api.CodeUnauthorized},
		{"valid then invalid", req("POST", stop, manager, "Authorization: Basic x\r\n"), []int{401}, api.CodeUnauthorized},
		{"Basic with a huge token", req("POST", stop, "Authorization: Basic "+strings.Repeat("QUFB", 10000)+"\r\n"), []int{401}, api.CodeUnauthorized},
		{"Basic with NUL", req("POST", stop, "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("manager\x00:"+managerPassword))+"\r\n"), []int{401}, api.CodeUnauthorized},
		{"Basic password with NUL", req("POST", stop, "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("manager:"+managerPassword+"\x00"))+"\r\n"), []int{401}, api.CodeUnauthorized},
		{"signature without Date", req("POST", stop, "Authorization: OCP-HMACSHA256 both:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\r\n"), []int{401}, api.CodeUnauthorized},
		{"signature with a bad Date", req("POST", stop, "Date: 1970/01/01 00:00:00\r\n", "Authorization: OCP-HMACSHA256 both:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\r\n"), []int{401}, api.CodeUnauthorized},
		{"signature with two colons", req("POST", stop, "Authorization: OCP-HMACSHA256 both::\r\n"), []int{401}, api.CodeUnauthorized},
		{"scheme only", req("POST", stop, "Authorization: OCP-HMACSHA256\r\n"), []int{401}, api.CodeUnauthorized},
		{"control character", req("POST", stop, "Authorization: Basic \x01\x02\r\n"), []int{400, 401}, 0},
		// Framing.
		{"negative length", req("POST", stop, manager, "Content-Length: -1\r\n"), []int{400}, 0},
		{"length and chunked", req("POST", stop, manager, "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"), []int{400}, 0}, // the body never comes
		{"two lengths", req("POST", stop, manager, "Content-Length: 1\r\nContent-Length: 2\r\n"), []int{400}, 0},
		{"no version", "POST " + stop + "\r\n\r\n", []int{0, 400}, 0},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []int{0, 400, 404, 505}, 0},
		{"binary garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\xff", 100), []int{0, 400}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.svc.callCount()
			status, body := rawAnswer(t, s.addr, tt.request)
			ok := false
			for _, want := range tt.status {
				ok = ok || status == want
			}
			if !ok {
				t.Fatalf("status %d, want one of %v: %.300s", status, tt.status, body)
			}
			if tt.code != 0 {
				var env api.Envelope
				if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error == nil || env.Error.Code != tt.code {
					t.Errorf("answer %.300s, want code %d", body, tt.code)
				}
			}
			if len(body) > 4096 {
				t.Errorf("answer of %d bytes echoes the request", len(body))
			}
			if s.svc.callCount() != before {
				t.Error("the service was called")
			}
		})
	}
	if p, _ := s.svc.Get(t.Context(), idRunning); p.Status != api.StatusStarted {
		t.Errorf("process 185 is %s after the hostile requests", p.Status)
	}
	if status, body := rawAnswer(t, s.addr, req("GET", "/healthz")); status != 200 {
		t.Errorf("healthz after the hostile requests: %d %s", status, body)
	}
}
