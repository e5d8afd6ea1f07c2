package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// The tests here reproduce attacks on the HTTP layer for real (real
// sockets, concurrent clients, bcrypt at its default cost) and check both
// that the attack fails and that legitimate requests are still served.
// Clients use loopback addresses other than 127.0.0.1 (all of 127/8 is
// local on Linux) to stand for other hosts.

// clientFrom returns an HTTP client whose connections come from ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// getAs sends GET procs to addr as user, from client, and returns the
// status and body; 0 when the request failed.
func getAs(c *http.Client, addr, user, password string) (int, string) {
	req, err := http.NewRequest("GET", "http://"+addr+procs, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.SetBasicAuth(user, password)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// cpuTime is the CPU this process has used, from /proc/self/stat.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// bcryptUsers has one user with a bcrypt hash at the default cost.
func bcryptUsers(t *testing.T, password string) []User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	return []User{{Name: "ocp", Password: string(hash), Permissions: []string{api.PermHostViewer}}}
}

// TestParallelGuessesFromOneAddress sends 300 parallel password guesses,
// the right one among them, from one address: only a few may be checked
// (the others are refused unchecked, before bcrypt), and a client elsewhere,
// or with credentials verified before, is still served.
func TestParallelGuessesFromOneAddress(t *testing.T) {
	const right = "the-right-password"
	s := serveLimited(t, testLimits, func(c *ServerConfig) { c.Users = bcryptUsers(t, right) })
	// A gate wide enough to let all through: the throttle of the address
	// is tested here, the gate by TestManyAddressesShareTheBcryptGate.
	gate := &bcryptGate{slots: make(chan struct{}, 300), maxWaiting: 300}
	s.handler.auth.bcrypt = gate
	attacker := clientFrom("127.0.0.1")

	cpu := cpuTime(t)
	var ok, throttled, other atomic.Int32
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			pw := fmt.Sprintf("guess-%d", i)
			if i == 150 {
				pw = right
			}
			switch status, body := getAs(attacker, s.addr, "ocp", pw); {
			case status == 200:
				ok.Add(1)
			case status == 401 && strings.Contains(body, errThrottled.Error()):
				throttled.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	used := cpuTime(t) - cpu
	runs := gate.runs.Load()
	t.Logf("300 parallel guesses: %d bcrypt comparisons, %d refused unchecked, %d checked and refused, %d accepted; %v of CPU",
		runs, throttled.Load(), other.Load(), ok.Load(), used)
	// Checked: the free failures, the attempts in flight, and the slots
	// of the back-off during the burst; far fewer than 300.
	if limit := int64(throttleFree + 2*throttleInflight + 10); runs > limit {
		t.Errorf("%d bcrypt comparisons for 300 parallel guesses, want at most %d", runs, limit)
	}
	if throttled.Load() < 250 {
		t.Errorf("%d of 300 refused unchecked", throttled.Load())
	}

	// Another address is served, and credentials verified once are then
	// accepted even from the throttled one.
	if status, body := getAs(clientFrom("127.0.0.2"), s.addr, "ocp", right); status != 200 {
		t.Fatalf("right password from another address: %d %s", status, body)
	}
	if status, body := getAs(attacker, s.addr, "ocp", right); status != 200 {
		t.Errorf("verified credentials from the throttled address: %d %s", status, body)
	}
	if status, _ := getAs(attacker, s.addr, "ocp", "yet-another-guess"); status != 401 {
		t.Errorf("a further guess: %d", status)
	}
}

// TestManyAddressesShareTheBcryptGate guesses from 40 addresses at once,
// each within its own throttle: the comparisons running at once stay within
// the gate, and credentials verified before are served meanwhile.
func TestManyAddressesShareTheBcryptGate(t *testing.T) {
	const right = "the-right-password"
	s := serveLimited(t, testLimits, func(c *ServerConfig) { c.Users = bcryptUsers(t, right) })
	gate := s.handler.auth.bcrypt
	if status, _ := getAs(clientFrom("127.0.0.2"), s.addr, "ocp", right); status != 200 {
		t.Fatalf("right password: %d", status)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for a := range 40 {
		c := clientFrom(fmt.Sprintf("127.0.1.%d", a+1))
		for i := range 3 {
			wg.Go(func() {
				for j := 0; j < 5; j++ {
					select {
					case <-stop:
						return
					default:
					}
					getAs(c, s.addr, "ocp", fmt.Sprintf("guess-%d-%d-%d", a, i, j))
				}
			})
		}
	}
	// Meanwhile the OCP server, whose credentials were verified, is served.
	served := 0
	for range 10 {
		if status, _ := getAs(clientFrom("127.0.0.2"), s.addr, "ocp", right); status == 200 {
			served++
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d bcrypt comparisons, at most %d at once (gate %d)", gate.runs.Load(), gate.peak.Load(), cap(gate.slots))
	if p, want := gate.peak.Load(), max(1, runtime.GOMAXPROCS(0)/2); int(p) > want {
		t.Errorf("%d bcrypt comparisons at once, want at most %d (half the CPUs)", p, want)
	}
	if served != 10 {
		t.Errorf("%d of 10 verified requests served during the attack", served)
	}
}

// limiterServer serves the API through a connLimiter, as Agent.Serve
// does, with the agent's default limits unless told otherwise.
func limiterServer(t *testing.T, lim serverLimits, max, perAddr int) (*limitedServer, *connLimiter) {
	t.Helper()
	svc := newFakeService()
	h, err := newHandler(ServerConfig{HostID: testHostID, ServerName: "test-host", Users: testUsers(), Logger: zap.NewNop()}, svc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newConnLimiter(raw, max, perAddr)
	srv := newHTTPServer(h, lim, zap.NewNop())
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &limitedServer{addr: raw.Addr().String(), svc: svc, handler: h.(*server)}, ln
}

// waitFor polls cond every 20 ms until it holds or within passes.
func waitFor(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestDeclaredBodiesThatNeverCome opens connections that declare a body
// (within the limit, and over it) and never send it: the server lets go of
// every one within the body timeout, without acting, and serves others.
func TestDeclaredBodiesThatNeverCome(t *testing.T) {
	old := bodyReadTimeout
	bodyReadTimeout = 300 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = old })
	s, ln := limiterServer(t, defaultServerLimits, 1000, 1000)
	stop := "POST " + procs + "/185/stop HTTP/1.1\r\nHost: x\r\n" + auth(managerCred)
	var conns []net.Conn
	for i := range 200 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		length := []int{100, 16 << 10, 20000, 10 << 20}[i%4] // within, at, over the limit
		if _, err := fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n", stop, length); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if !waitFor(10*time.Second, func() bool { open, _ := ln.counts(); return open == 0 }) {
		open, _ := ln.counts()
		t.Fatalf("%d of 200 connections still open on the server", open)
	}
	for _, c := range conns { // each got its answer, then the close
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !isConnReset(err) {
			t.Errorf("connection not closed: %v", err)
		}
	}
	if n := s.svc.callCount(); n != 0 {
		t.Errorf("%d requests acted without their body", n)
	}
	if status, _, body := s.raw(t, stop+"Content-Length: 2\r\nConnection: close\r\n\r\n{}"); status != 200 {
		t.Errorf("a request with its body: %d %s", status, body)
	}
}

// TestConnectionCaps opens more idle connections from one address than it
// may, then from many: the server holds no more than its caps, and a
// client from another address is served while one address is at its cap.
func TestConnectionCaps(t *testing.T) {
	lim := defaultServerLimits
	lim.readHeaderTimeout = time.Minute // the caps are tested, not the header timeout
	s, ln := limiterServer(t, lim, 40, 10)
	dial := func(ip string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// 100 slow header senders from one address.
	for range 100 {
		io.WriteString(dial("127.0.0.1"), "GET "+procs+" HTTP/1.1\r\nHost: x\r\n")
	}
	if !waitFor(10*time.Second, func() bool { _, refused := ln.counts(); return refused >= 90 }) {
		open, refused := ln.counts()
		t.Fatalf("%d open, %d refused; want 10 open", open, refused)
	}
	if open, _ := ln.counts(); open != 10 {
		t.Errorf("%d connections open from one address, cap 10", open)
	}
	if status, _ := getAs(clientFrom("127.0.0.2"), s.addr, viewerCred.user, viewerCred.password); status != 200 {
		t.Errorf("another address while one is at its cap: %d", status)
	}
	// Three more addresses fill the overall cap.
	for a := 3; a <= 5; a++ {
		for range 10 {
			dial(fmt.Sprintf("127.0.0.%d", a))
		}
	}
	if !waitFor(10*time.Second, func() bool { open, _ := ln.counts(); return open == 40 }) {
		open, _ := ln.counts()
		t.Fatalf("%d open, want 40", open)
	}
	if status, _ := getAs(clientFrom("127.0.0.6"), s.addr, viewerCred.user, viewerCred.password); status != 0 {
		t.Errorf("a connection over the overall cap was served: %d", status)
	}
	if open, _ := ln.counts(); open > 40 {
		t.Errorf("%d connections open, cap 40", open)
	}
}

// TestHeaderLimit checks the agent's default header limit: an OCP-sized
// request passes, 16 KiB of headers do not.
func TestHeaderLimit(t *testing.T) {
	s, _ := limiterServer(t, defaultServerLimits, 100, 100)
	base := "GET " + procs + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth(viewerCred)
	if status, _, body := s.raw(t, base+"X-Pad: "+strings.Repeat("a", 4<<10)+"\r\n\r\n"); status != 200 {
		t.Errorf("4 KiB header: %d %s", status, body)
	}
	if status, _, _ := s.raw(t, base+"X-Pad: "+strings.Repeat("a", 16<<10)+"\r\n\r\n"); status != 431 {
		t.Errorf("16 KiB header: %d, want 431", status)
	}
}

// TestSignatureReplay replays a captured signed stop: the copy is refused,
// the original and fresh requests are not.
func TestSignatureReplay(t *testing.T) {
	ts := newTestServer(t)
	const stop = procs + "/185/stop"
	send := func(req *http.Request) int {
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	orig := signedRequestTo(t, ts, "POST", stop, "both", "both-secret", 0, api.TraceHeader, "trace-1")
	replay := orig.Clone(context.Background())
	if status := send(orig); status != 200 {
		t.Fatalf("signed stop: %d", status)
	}
	calls := ts.svc.callCount()
	if status := send(replay); status != 401 {
		t.Errorf("replayed stop: %d, want 401", status)
	}
	if ts.svc.callCount() != calls {
		t.Error("the replay acted")
	}
	if status := send(signedRequestTo(t, ts, "POST", stop, "both", "both-secret", 0, api.TraceHeader, "trace-2")); status != 200 {
		t.Errorf("a fresh signed stop: %d", status)
	}
	// Wrong signatures are not remembered: they cannot fill the guard.
	before := ts.handler.auth.replays.len()
	send(signedRequestTo(t, ts, "GET", procs, "viewer", "guess", 0))
	if n := ts.handler.auth.replays.len(); n != before {
		t.Errorf("a wrong signature was remembered (%d → %d)", before, n)
	}
}

// TestSignedBurst sends 50 signed requests at once from one address, as
// the OCP server may: none is refused, whatever the host's load.
func TestSignedBurst(t *testing.T) {
	ts := newTestServer(t)
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range 50 {
		req := signedRequestTo(t, ts, "GET", procs, "viewer", viewerPassword, 0, api.TraceHeader, fmt.Sprintf("burst-%d", i))
		wg.Go(func() {
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Errorf("%d of 50 signed requests refused", n)
	}
}

// TestReplayGuardFull checks that a full guard refuses new signatures
// rather than forget one in its window, and takes them again once old ones
// expire.
func TestReplayGuardFull(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 20, 30, 0, time.Local)
	date := now.Format(signatureDateLayout)
	g := newReplayGuard(3)
	sig := func(i byte) []byte { b := make([]byte, 32); b[0] = i; return b }
	for i := range byte(3) {
		if err := g.first(sig(i), date, now); err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
	}
	if err := g.first(sig(0), date, now.Add(59*time.Second)); err != errReplayed {
		t.Errorf("replay within the window: %v", err)
	}
	if err := g.first(sig(9), date, now.Add(time.Second)); err != errReplayGuardFull {
		t.Errorf("new signature, guard full: %v", err)
	}
	later := now.Add(maxClockSkew + time.Second)
	if err := g.first(sig(9), later.Format(signatureDateLayout), later); err != nil {
		t.Errorf("new signature once the others expired: %v", err)
	}
	if n := g.len(); n != 1 {
		t.Errorf("%d remembered, want 1", n)
	}
}

// TestHugeUserNameLogged sends a 45 KB user name with control characters
// to a mutating route: it appears once in the logs, cut and escaped.
func TestHugeUserNameLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	ts := newTestServer(t, func(c *ServerConfig) { c.Logger = zap.New(core) })
	name := "\x1b[31m" + strings.Repeat("A", 45000) + "\nforged line"
	r := ts.do(t, "POST", procs+"/185/stop", cred{user: name, password: "x"})
	if r.status != 401 {
		t.Fatalf("status %d", r.status)
	}
	found, total := 0, 0
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			s, ok := v.(string)
			if !ok {
				continue
			}
			total += len(s)
			if strings.Contains(s, "AAAA") {
				found++
				if strings.ContainsAny(s, "\x1b\n") || len(s) > 2*maxLoggedName {
					t.Errorf("field %s: %q", k, s)
				}
			}
		}
		if strings.Contains(e.Message, "AAAA") {
			t.Errorf("name in the message %q", e.Message)
		}
	}
	if found != 1 {
		t.Errorf("the name is in %d log fields, want 1", found)
	}
	if total > 4096 {
		t.Errorf("%d bytes of log fields for one request", total)
	}
}

func TestLogSafe(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"manager", 64, "manager"},
		{"prénom", 64, "prénom"},
		{"a\nb", 64, `a\x0ab`},
		{"\x1b[31m", 64, `\x1b[31m`},
		{"bad\xffutf8", 64, `bad\xffutf8`},
		{"\u2028", 64, `\u2028`},
		{strings.Repeat("a", 10), 4, "aaaa...(10 bytes)"},
	} {
		if got := logSafe(tt.in, tt.n); got != tt.want {
			t.Errorf("logSafe(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzLogSafe(f *testing.F) {
	for _, s := range []string{"", "manager", "a\nb", "\xff\xfe", "\x1b[2J", strings.Repeat("é", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := logSafe(s, 32)
		if len(got) > 32+10+24 {
			t.Errorf("%d bytes", len(got))
		}
		if strings.IndexFunc(got, func(r rune) bool { return r == '\uFFFD' && !strings.ContainsRune(s, r) || r < 0x20 || r == 0x7f }) >= 0 {
			t.Errorf("unsafe output %q", got)
		}
		if len(s) <= 32 && logSafe(got, 1<<20) != got {
			t.Errorf("output %q is not stable", got)
		}
	})
}

// TestAgentCapsConnectionsPerAddress checks that a real agent's TCP
// listener is capped: an address holding its 64 connections gets no more,
// another address is served meanwhile, and the first is served again once
// it lets go.
func TestAgentCapsConnectionsPerAddress(t *testing.T) {
	_, addr := runAgent(t, fmt.Sprintf(`host: {id: 20}
server: {listen: "127.0.0.1:0", name: test-host}
auth:
  users: [{name: ocp, password: secret, permissions: [HOST_VIEWER]}]
cgroup: off
state_dir: %s
processes: []
`, t.TempDir()))
	healthz := func(ip string) int {
		resp, err := clientFrom(ip).Get("http://" + addr + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var held []net.Conn
	for range defaultMaxConnsPerAddr {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\n") // a header still coming
		held = append(held, c)
	}
	if status := healthz("127.0.0.1"); status != 0 {
		t.Errorf("connection %d from one address served: %d", defaultMaxConnsPerAddr+1, status)
	}
	if status := healthz("127.0.0.2"); status != 200 {
		t.Errorf("another address: %d", status)
	}
	for _, c := range held {
		c.Close()
	}
	if !waitFor(10*time.Second, func() bool { return healthz("127.0.0.1") == 200 }) {
		t.Error("the address is not served once its connections are closed")
	}
}
