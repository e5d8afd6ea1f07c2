package agent

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

func TestNoUsers(t *testing.T) {
	ts := newTestServer(t, func(c *ServerConfig) { c.Users = nil })
	for _, tt := range []struct{ method, path string }{
		{"GET", procs},
		{"GET", procs + "/185"},
		{"POST", api.Prefix + procs + "/185/stop"},
	} {
		for _, c := range []cred{noCred, managerCred} {
			r := ts.do(t, tt.method, tt.path, c)
			if r.status != 401 || r.env.Error == nil || r.env.Error.Code != api.CodeUnauthorized {
				t.Errorf("%s %s as %q: %d %s", tt.method, tt.path, c.user, r.status, r.body)
			}
		}
	}
}

func TestAuthDisabled(t *testing.T) {
	for _, users := range [][]User{nil, testUsers()} {
		t.Run(fmt.Sprintf("%d users", len(users)), func(t *testing.T) {
			ts := newTestServer(t, func(c *ServerConfig) { c.Users, c.AuthDisabled = users, true })
			for _, tt := range []struct {
				method, path string
				cred         cred
				status, code int
			}{
				{"GET", procs, noCred, 200, 0},
				{"POST", procs + "/185/stop", noCred, 200, 0},
				{"POST", api.Prefix + procs + "/185/start", noCred, 200, 0},
				{"POST", procs + "/185/restart", cred{header: "Basic garbage"}, 200, 0},
				// The other checks still apply.
				{"POST", procs + "/0/stop", noCred, 400, api.CodeBadParameter},
				{"GET", "/compute/hosts/21/agent/processes", noCred, 404, api.CodeNoHost},
				{"POST", procs + "/7/stop", noCred, 403, api.CodeNotOperable},
			} {
				r := ts.do(t, tt.method, tt.path, tt.cred)
				if r.status != tt.status || (tt.code != 0 && r.env.Error.Code != tt.code) {
					t.Errorf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
				}
			}
		})
	}
}

// TestBcryptCache checks that a bcrypt user at the usual cost pays the
// comparison once, and a wrong password every time.
func TestBcryptCache(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("slow-secret"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	users := []User{{Name: "ocp", Password: string(hash), Permissions: []string{api.PermHostViewer}}}
	a, err := newAuthenticator(users, false)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	if _, err := a.basic(t.Context(), "127.0.0.1", "ocp", "slow-secret"); err != nil {
		t.Fatalf("first: %v", err)
	}
	slow := time.Since(first)
	again := time.Now()
	for range 20 {
		if _, err := a.basic(t.Context(), "127.0.0.1", "ocp", "slow-secret"); err != nil {
			t.Fatalf("again: %v", err)
		}
	}
	if fast := time.Since(again) / 20; fast*10 > slow {
		t.Errorf("cached verification took %v, the first %v", fast, slow)
	}
	if _, err := a.basic(t.Context(), "127.0.0.1", "ocp", "slow-secreT"); err == nil {
		t.Error("wrong password accepted")
	}
	if n := a.cache.len(); n != 1 {
		t.Errorf("cache holds %d entries, want 1", n)
	}

	// Over HTTP, concurrently, as the OCP server would.
	ts := newTestServer(t, func(c *ServerConfig) { c.Users = users })
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if r := ts.do(t, "GET", procs, cred{user: "ocp", password: "slow-secret"}); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		})
	}
	wg.Wait()
}

func TestVerifiedCacheBound(t *testing.T) {
	c := newVerifiedCache(4)
	var keys [][sha256.Size]byte
	for i := range 10 {
		k := cacheKey("u", fmt.Sprint(i), []byte("h"))
		keys = append(keys, k)
		if c.verify(k, func() error { return nil }) != nil {
			t.Fatal("verify failed")
		}
		if c.len() > 4 {
			t.Fatalf("cache grew to %d", c.len())
		}
	}
	if c.verify(keys[9], func() error { t.Error("newest entry evicted"); return nil }) != nil {
		t.Fatal("verify failed")
	}
	failed := cacheKey("u", "wrong", []byte("h"))
	c.verify(failed, func() error { return errBadCredentials })
	calls := 0
	c.verify(failed, func() error { calls++; return errBadCredentials })
	if calls != 1 {
		t.Error("a failure was remembered")
	}
}

// TestVerifiedCacheShares checks that concurrent verifications of the same
// credentials run one comparison.
func TestVerifiedCacheShares(t *testing.T) {
	c := newVerifiedCache(4)
	k := cacheKey("u", "p", []byte("h"))
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if c.verify(k, func() error { calls.Add(1); <-release; return nil }) != nil {
				t.Error("verify failed")
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let them all reach verify
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d comparisons, want 1", n)
	}
}

func TestCacheKeyUnambiguous(t *testing.T) {
	if cacheKey("ab", "c", []byte("h")) == cacheKey("a", "bc", []byte("h")) {
		t.Error("moving bytes between fields gives the same key")
	}
	if cacheKey("u", "p", []byte("h1")) == cacheKey("u", "p", []byte("h2")) {
		t.Error("changing the hash keeps the key")
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		name           string
		perms          []string
		viewer, manage bool
	}{
		{"none", nil, false, false},
		{"viewer", []string{api.PermHostViewer}, true, false},
		{"manager implies viewer", []string{api.PermHostManager}, true, true},
		{"both", []string{api.PermHostViewer, api.PermHostManager}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePermissions(tt.perms)
			if err != nil {
				t.Fatal(err)
			}
			if p.allows(api.PermHostViewer) != tt.viewer || p.allows(api.PermHostManager) != tt.manage {
				t.Errorf("allows viewer=%v manager=%v", p.allows(api.PermHostViewer), p.allows(api.PermHostManager))
			}
			if p.allows("ROOT") {
				t.Error("allows an unknown permission")
			}
		})
	}
}
