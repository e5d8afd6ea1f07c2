package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fullListener listens on loopback with an accept queue that is full and
// never drained: the kernel drops the SYNs of further connects, which then
// wait in the poller (connect's slow path) until their context ends.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// Fill the queue (backlog 0 holds one) with connections kept open;
	// a dial that does not complete at once shows the queue is full.
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return ""
}

func TestTCPHandshakeThatNeverEnds(t *testing.T) {
	addr := fullListener(t)
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		err := Run(context.Background(), TCP{Addr: addr}, 300*time.Millisecond)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the timeout of 300ms took %s", took)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		err := Run(ctx, TCP{Addr: addr}, time.Minute)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestTCPAddressForms(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"}[network]
		l, err := net.Listen(network, host+":0")
		if err != nil && network == "tcp6" {
			t.Logf("no IPv6 loopback here: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		go serveConns(l)
		addrs := []string{l.Addr().String()}
		if network == "tcp4" {
			// A host name takes the net package's way.
			addrs = append(addrs, fmt.Sprintf("[::ffff:127.0.0.1]:%d", port), fmt.Sprintf("localhost:%d", port))
		}
		for _, addr := range addrs {
			if err := Run(context.Background(), TCP{Addr: addr}, 5*time.Second); err != nil {
				t.Errorf("%s: %v", addr, err)
			}
		}
		l.Close()
		if err := Run(context.Background(), TCP{Addr: l.Addr().String()}, 5*time.Second); err == nil || !errors.Is(err, unix.ECONNREFUSED) {
			t.Errorf("%s closed: %v, want connection refused", l.Addr(), err)
		}
	}
}

// TestTCPLeavesNoTimeWait: a passing check closes with a reset, so that
// checks every few seconds leave no sockets in TIME_WAIT on the host,
// whichever side the server closes from.
func TestTCPLeavesNoTimeWait(t *testing.T) {
	for _, tc := range []struct {
		host         string // "": the listener's address as numbers
		serverCloses bool
	}{{"", false}, {"", true}, {"localhost", false}} {
		serverCloses := tc.serverCloses
		t.Run(fmt.Sprintf("host %q server closes %v", tc.host, serverCloses), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					if serverCloses {
						c.Close()
						continue
					}
					// Wait for the client's close, as a server reading
					// a request would.
					go func() {
						c.Read(make([]byte, 1))
						c.Close()
					}()
				}
			}()
			port := l.Addr().(*net.TCPAddr).Port
			addr := l.Addr().String()
			if tc.host != "" { // dialled by the net package
				addr = net.JoinHostPort(tc.host, strconv.Itoa(port))
			}
			for i := 0; i < 20; i++ {
				if err := Run(context.Background(), TCP{Addr: addr}, 2*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond) // the server's closes
			if n := timeWaits(t, port); n > 0 {
				t.Errorf("%d sockets of port %d in TIME_WAIT after 20 checks", n, port)
			}
		})
	}
}

// timeWaits counts the IPv4 sockets in TIME_WAIT with port at either end.
func timeWaits(t *testing.T, port int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	hex := fmt.Sprintf(":%04X", port)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[3] == "06" && (strings.HasSuffix(f[1], hex) || strings.HasSuffix(f[2], hex)) {
			n++
		}
	}
	return n
}
