package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback port that nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestTCPListensLate(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := TCP{Addr: addr}
	err := Run(context.Background(), c, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "tcp "+addr+": connection refused") {
		t.Fatalf("before listening: %v, want connection refused", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{})
	go func() {
		if conn, err := l.Accept(); err == nil {
			conn.Close()
			close(accepted)
		}
	}()
	if err := Run(context.Background(), c, 5*time.Second); err != nil {
		t.Fatalf("listening: %v", err)
	}
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener accepted no connection")
	}
}

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "fine") })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "\n  database unreachable  \nsecond line\n")
	})
	mux.HandleFunc("/empty503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/broken", http.StatusFound) })
	mux.HandleFunc("/missing", http.NotFound)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := fmt.Sprintf("http://127.0.0.1:%d/health", freePort(t))

	tests := []struct {
		name, url, want string // want "" = passes
	}{
		{"2xx passes", srv.URL + "/ok", ""},
		{"3xx passes, not followed", srv.URL + "/moved", ""},
		{"500 fails with its first line", srv.URL + "/broken", "http GET " + srv.URL + "/broken: status 500 Internal Server Error: database unreachable"},
		{"503 without a body", srv.URL + "/empty503", "status 503 Service Unavailable"},
		{"404 fails", srv.URL + "/missing", "status 404 Not Found: 404 page not found"},
		{"nothing listens", closed, "http GET " + closed + ": connection refused"},
		{"not a URL", "http://[::1", "missing ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), HTTP{URL: tt.url}, 5*time.Second)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v, want a pass", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "second line"):
				t.Fatalf("err = %v: more than one line", err)
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	begin := time.Now()
	err := Run(context.Background(), HTTP{URL: srv.URL}, 200*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 200ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Fatalf("the probe took %s despite its 200ms timeout", took)
	}
}

// A probe whose caller gives up (a stop) is no verdict: its error is the
// context's, not ErrTimeout.
func TestRunCancelledIsNotATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := Run(ctx, HTTP{URL: srv.URL}, time.Minute)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFirstAndLastLine(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name, in, first, last string
	}{
		{"empty", "", "", ""},
		{"blank lines", "\n \n\t\n", "", ""},
		{"several", "\n one \ntwo\n\n", "one", "two"},
		{"cut on a rune", long, long[:200] + "...", long[:200] + "..."},
		{"invalid utf-8", "a\xffb", "a?b", "a?b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firstLine([]byte(tt.in)); got != tt.first {
				t.Errorf("firstLine = %q, want %q", got, tt.first)
			}
			if got := lastLine([]byte(tt.in)); got != tt.last {
				t.Errorf("lastLine = %q, want %q", got, tt.last)
			}
		})
	}
}

// serveConns accepts connections on l and closes each at once, until l
// is closed.
func serveConns(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
