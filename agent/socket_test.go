package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/internal/testdir"
)

// openTempDir returns a new directory that every user can reach, for
// sockets that processes of other users connect to (t.TempDir's parent is
// private to root).
func openTempDir(t *testing.T) string { return testdir.Shared(t) }

// socketServer is the API served on a real unix socket.
type socketServer struct {
	path string
	svc  *fakeService
	srv  *http.Server
}

func serveSocket(t *testing.T, spec socketSpec, edit ...func(*ServerConfig)) *socketServer {
	t.Helper()
	svc := newFakeService()
	cfg := ServerConfig{HostID: testHostID, ServerName: "test-host", Users: testUsers(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))}
	for _, e := range edit {
		e(&cfg)
	}
	h, err := newHandler(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listenSocket(spec)
	if err != nil {
		t.Fatalf("listenSocket: %v", err)
	}
	srv := newHTTPServer(h, defaultServerLimits, zap.NewNop())
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &socketServer{path: spec.path, svc: svc, srv: srv}
}

// unixClient is an HTTP client that reaches the API over the socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// socketDo makes one request over the socket as this process (root in
// `make test`), returning the status and the decoded envelope.
func socketDo(t *testing.T, path, method, target string, header ...string) (int, api.Envelope) {
	t.Helper()
	req, err := http.NewRequest(method, "http://agent"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := unixClient(path).Do(req)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", method, target, path, err)
	}
	defer resp.Body.Close()
	var env api.Envelope
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return resp.StatusCode, env
}

func TestSocketFileMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving the socket to another group needs root")
	}
	tests := []struct {
		name string
		spec socketSpec
		mode os.FileMode
		gid  uint32
	}{
		{"owner only", socketSpec{}, 0o600, uint32(os.Getegid())},
		{"with a group", socketSpec{group: 65534, hasGroup: true}, 0o660, 65534},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.path = filepath.Join(openTempDir(t), "sub", "dir", "agent.sock")
			s := serveSocket(t, tt.spec)
			fi, err := os.Lstat(s.path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != tt.mode || st.Gid != tt.gid || st.Uid != uint32(os.Geteuid()) {
				t.Errorf("socket %v uid %d gid %d, want %v gid %d", fi.Mode(), st.Uid, st.Gid, tt.mode, tt.gid)
			}
			if status, _ := socketDo(t, s.path, "GET", procs); status != 200 {
				t.Errorf("list over the socket: %d", status)
			}
		})
	}
}

// staleSocket leaves a socket file at path with nothing listening on it, as
// an agent killed with SIGKILL does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestSocketReplacesOnlyStaleSockets(t *testing.T) {
	dir := openTempDir(t)
	t.Run("stale socket is replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		staleSocket(t, path)
		s := serveSocket(t, socketSpec{path: path})
		if status, _ := socketDo(t, s.path, "GET", procs); status != 200 {
			t.Errorf("list: %d", status)
		}
	})
	t.Run("live socket is another agent", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		first := serveSocket(t, socketSpec{path: path})
		_, err := listenSocket(socketSpec{path: path})
		if !errors.Is(err, ErrSocketInUse) || !strings.Contains(err.Error(), fmt.Sprintf("served by pid %d", os.Getpid())) {
			t.Fatalf("err = %v, want ErrSocketInUse naming pid %d", err, os.Getpid())
		}
		if status, _ := socketDo(t, first.path, "GET", procs); status != 200 {
			t.Errorf("the first server lost its socket: %d", status)
		}
	})
	for _, tt := range []struct {
		name   string
		create func(path string) error
		want   string
	}{
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o600) }, "is not a socket"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is not a socket"},
		{"symlink to a stale socket", func(p string) error {
			target := p + ".target"
			staleSocket(t, target)
			return os.Symlink(target, p)
		}, "is not a socket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := tt.create(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			if _, err := listenSocket(socketSpec{path: path}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			after, err := os.Lstat(path)
			if err != nil || after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("%s was touched: %v, %v", path, after, err)
			}
		})
	}
}

func TestSocketRemovedOnShutdown(t *testing.T) {
	path := filepath.Join(openTempDir(t), "agent.sock")
	s := serveSocket(t, socketSpec{path: path})
	if status, _ := socketDo(t, path, "GET", procs); status != 200 {
		t.Fatalf("list: %d", status)
	}
	if err := s.srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after shutdown: %v", err)
	}
}

// TestSocketIgnoresHeaders checks that over the socket only the peer's
// credentials count: no header adds or removes anything, and no configured
// user is needed.
func TestSocketIgnoresHeaders(t *testing.T) {
	path := filepath.Join(openTempDir(t), "agent.sock")
	s := serveSocket(t, socketSpec{path: path}, func(c *ServerConfig) { c.Users = nil })
	for _, h := range [][]string{
		nil,
		{"Authorization", basicHeader("viewer", "wrong")},
		{"Authorization", "Bearer x"},
		{"X-Forwarded-For", "203.0.113.9"},
	} {
		status, env := socketDo(t, s.path, "POST", procs+"/185/stop", h...)
		if status != 200 || !env.Successful {
			t.Errorf("root's stop with headers %q: %d %+v", h, status, env.Error)
		}
	}
}

// The socket client helper: the test binary, run as another user, makes
// requests over a socket and prints their outcomes, one line each. It must
// be a process of that user: the kernel records the peer's credentials at
// connect.
const (
	helperSocketEnv   = "OCP_AGENT_TEST_SOCKET"
	helperRequestsEnv = "OCP_AGENT_TEST_REQUESTS" // "METHOD PATH;METHOD PATH..."
)

// TestSocketClientHelper is not a test: see socketRequestsAs.
func TestSocketClientHelper(t *testing.T) {
	sock := os.Getenv(helperSocketEnv)
	if sock == "" {
		t.Skip("the socket client helper of TestSocketPeerCredentials")
	}
	for _, r := range strings.Split(os.Getenv(helperRequestsEnv), ";") {
		method, target, _ := strings.Cut(r, " ")
		req, _ := http.NewRequest(method, "http://agent"+target, nil)
		resp, err := unixClient(sock).Do(req)
		if err != nil {
			fmt.Printf("error: %v\n", err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s\n", resp.StatusCode, body) // the envelope is one line
	}
}

var (
	helperOnce sync.Once
	helperBin  string
	helperErr  error
)

// helperBinary is a copy of the test binary where every user may run it
// (the original lives in a directory private to root).
func helperBinary(t *testing.T) string {
	t.Helper()
	helperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ocp-agent-helper-")
		if err != nil {
			helperErr = err
			return
		}
		os.Chmod(dir, 0o755)
		helperBin = filepath.Join(dir, "agent.test")
		src, err := os.Open(os.Args[0])
		if err != nil {
			helperErr = err
			return
		}
		defer src.Close()
		dst, err := os.OpenFile(helperBin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			helperErr = err
			return
		}
		_, helperErr = io.Copy(dst, src)
		if err := dst.Close(); helperErr == nil {
			helperErr = err
		}
	})
	if helperErr != nil {
		t.Fatalf("copy the test binary: %v", helperErr)
	}
	return helperBin
}

// helperCleanup removes the helper copy after the package's tests; it is
// registered by the first test to use it.
func cleanupHelperBinary(t *testing.T) {
	t.Cleanup(func() {
		if helperBin != "" {
			os.RemoveAll(filepath.Dir(helperBin))
			helperOnce, helperBin = sync.Once{}, ""
		}
	})
}

// socketOutcome is what the helper saw.
type socketOutcome struct {
	dialErr string // set when the request could not be made
	status  int
	env     api.Envelope
}

// socketRequestsAs makes requests ("METHOD PATH") over the socket at path,
// in order, from one process running with cred.
func socketRequestsAs(t *testing.T, cred *syscall.Credential, path string, requests ...string) []socketOutcome {
	t.Helper()
	cmd := exec.Command(helperBinary(t), "-test.run=^TestSocketClientHelper$", "-test.count=1")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), helperSocketEnv+"="+path, helperRequestsEnv+"="+strings.Join(requests, ";"),
		"GORACE=atexit_sleep_ms=0") // a race-built binary otherwise lingers 1s at exit
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", cred.Uid, err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	var outcomes []socketOutcome
	for range requests {
		if !sc.Scan() {
			t.Fatalf("helper output %q", out)
		}
		line := sc.Text()
		if msg, ok := strings.CutPrefix(line, "error: "); ok {
			outcomes = append(outcomes, socketOutcome{dialErr: msg})
			continue
		}
		var o socketOutcome
		status, body, _ := strings.Cut(line, " ")
		if o.status, err = strconv.Atoi(status); err != nil {
			t.Fatalf("helper output %q", out)
		}
		if err := json.Unmarshal([]byte(body), &o.env); err != nil {
			t.Fatalf("helper body %q: %v", body, err)
		}
		outcomes = append(outcomes, o)
	}
	return outcomes
}

// TestSocketPeerCredentials connects as other users, through processes of
// theirs, and checks what the socket's file mode and the agent's peer
// check let each do. Refused peers get 403 (30014): their credentials are
// known for certain, they lack the permission.
func TestSocketPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("connecting as other users needs root (make test runs as root)")
	}
	cleanupHelperBinary(t)
	const nobody, nogroup, stranger = 65534, 65534, 54321
	type want struct {
		dialErr string // substring, when the socket's mode refuses
		list    int    // status of a list
		stop    int    // status of a stop
		inMsg   string // in the stop's refusal
	}
	tests := []struct {
		name     string
		spec     socketSpec
		agentUID uint32
		widen    bool // chmod 0666 after creation: only the peer check stands
		cred     syscall.Credential
		want     want
	}{
		{"nobody on an owner-only socket", socketSpec{}, 0, false,
			syscall.Credential{Uid: nobody, Gid: nogroup}, want{dialErr: "permission denied"}},
		{"nobody on a socket opened to all", socketSpec{}, 0, true,
			syscall.Credential{Uid: nobody, Gid: nogroup}, want{list: 403, stop: 403, inMsg: "uid 65534 may not use the agent's socket: only root and uid 0 (the agent's) may"}},
		{"the agent's own uid", socketSpec{}, nobody, true,
			syscall.Credential{Uid: nobody, Gid: nogroup}, want{list: 200, stop: 200}},
		{"primary group member", socketSpec{group: nogroup, hasGroup: true}, 0, false,
			syscall.Credential{Uid: stranger, Gid: nogroup}, want{list: 200, stop: 403, inMsg: "uid 54321 may only read over the agent's socket (as a member of group nogroup)"}},
		{"supplementary group member", socketSpec{group: nogroup, hasGroup: true}, 0, false,
			syscall.Credential{Uid: stranger, Gid: stranger, Groups: []uint32{nogroup}}, want{list: 200, stop: 403, inMsg: "may only read"}},
		{"not in the group", socketSpec{group: nogroup, hasGroup: true}, 0, false,
			syscall.Credential{Uid: stranger, Gid: stranger}, want{dialErr: "permission denied"}},
		{"not in the group, socket opened to all", socketSpec{group: nogroup, hasGroup: true}, 0, true,
			syscall.Credential{Uid: stranger, Gid: stranger}, want{list: 403, stop: 403, inMsg: "and members of group nogroup may read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.path = filepath.Join(openTempDir(t), "agent.sock")
			s := serveSocket(t, tt.spec, func(c *ServerConfig) {
				c.AgentUID = tt.agentUID
				if tt.spec.hasGroup {
					c.SocketGroup, c.SocketGID = "nogroup", tt.spec.group
				}
			})
			if tt.widen {
				if err := os.Chmod(s.path, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			got := socketRequestsAs(t, &tt.cred, s.path, "GET "+procs, "POST "+procs+"/185/stop")
			list, stop := got[0], got[1]
			if tt.want.dialErr != "" {
				if !strings.Contains(list.dialErr, tt.want.dialErr) {
					t.Fatalf("list: %+v, want the connection refused with %q", list, tt.want.dialErr)
				}
				return
			}
			if list.status != tt.want.list {
				t.Errorf("list: %d %+v, want %d", list.status, list.env.Error, tt.want.list)
			}
			if stop.status != tt.want.stop {
				t.Fatalf("stop: %d %+v, want %d", stop.status, stop.env.Error, tt.want.stop)
			}
			if tt.want.stop == 403 {
				if e := stop.env.Error; e == nil || e.Code != api.CodeForbidden || !strings.Contains(e.Message, tt.want.inMsg) {
					t.Errorf("stop refusal %+v, want 30014 with %q", e, tt.want.inMsg)
				}
				if s.svc.procs[idRunning].Status != api.StatusStarted {
					t.Error("the refused stop acted")
				}
			}
			// Root is always HOST_MANAGER.
			if status, _ := socketDo(t, s.path, "GET", procs); status != 200 {
				t.Errorf("root's list: %d", status)
			}
		})
	}
}

// TestSocketPeerUnknown checks that a connection whose peer cannot be read
// gets nothing: it is refused as unauthenticated.
func TestSocketPeerUnknown(t *testing.T) {
	a, err := newAuthenticator(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), peerKey{}, &peerConn{err: errors.New("EBADF")}))
	if who, err := a.authenticate(r); !errors.Is(err, errPeerUnknown) || who.perms != 0 {
		t.Errorf("authenticate = %+v, %v; want errPeerUnknown even with auth disabled", who, err)
	}
}

// TestShutdownWithSilentPeers checks that clients that connected and said
// nothing, over the socket or TCP, do not hold the agent's shutdown (net/http
// alone would wait 5 s for them).
func TestShutdownWithSilentPeers(t *testing.T) {
	path := filepath.Join(openTempDir(t), "agent.sock")
	s := serveSocket(t, socketSpec{path: path})
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.srv.Serve(tcp)
	for _, addr := range []struct{ network, address string }{{"unix", path}, {"tcp", tcp.Addr().String()}} {
		c, err := net.Dial(addr.network, addr.address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(50 * time.Millisecond) // accepted
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with silent peers: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %v", d)
	}
}
