//go:build linux

package procfs

import (
	"net"
	"syscall"
	"testing"
)

// TestLiveSocketsMatchProcNet compares the sock_diag tables with those of
// /proc/net on real sockets of every kind that does or does not count as
// a port: each of this test's sockets must be in both tables or in
// neither, with the same port. (Other sockets of the host may come and go
// between the two reads, so only this test's own are compared.)
func TestLiveSocketsMatchProcNet(t *testing.T) {
	type sock struct {
		name   string
		conn   syscall.Conn
		port   int
		isPort bool
	}
	var socks []sock
	listenTCP := func(network, addr string) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s %s: %v (not checked)", network, addr, err)
			return
		}
		closeAtEnd(t, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		socks = append(socks, sock{network + " listener " + addr, ln.(*net.TCPListener), port, true})
		// Both ends of an established connection: not ports, though the
		// accepted one shares the listener's port.
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, c)
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, s)
		socks = append(socks, sock{network + " client", c.(*net.TCPConn), 0, false},
			sock{network + " accepted", s.(*net.TCPConn), 0, false})
	}
	bindUDP := func(network, addr string) {
		u, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Logf("%s %s: %v (not checked)", network, addr, err)
			return
		}
		closeAtEnd(t, u)
		socks = append(socks, sock{network + " bound " + addr, u.(*net.UDPConn), u.LocalAddr().(*net.UDPAddr).Port, true})
		c, err := net.Dial(network, u.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, c)
		socks = append(socks, sock{network + " connected", c.(*net.UDPConn), 0, false})
	}
	listenTCP("tcp4", "127.0.0.1:0")
	listenTCP("tcp6", "[::1]:0")
	listenTCP("tcp", ":0") // dual-stack: an AF_INET6 socket that takes IPv4 too
	bindUDP("udp4", "127.0.0.1:0")
	bindUDP("udp6", "[::1]:0")
	bindUDP("udp", ":0")
	// A TCP socket that is bound but does not listen is no port either.
	if fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0); err == nil {
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		f := fdConn{fd}
		t.Cleanup(func() { syscall.Close(fd) })
		socks = append(socks, sock{"tcp4 bound, not listening", f, 0, false})
	}

	diag, err := Default.Sockets()
	if err != nil {
		t.Fatal(err)
	}
	procNet, err := Default.ListeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		ino := inodeOf(t, s.conn)
		dp, inDiag := diag[ino]
		pp, inProc := procNet[ino]
		if inDiag != inProc || dp != pp {
			t.Errorf("%s: sock_diag says %d, %v; /proc/net says %d, %v", s.name, dp, inDiag, pp, inProc)
		}
		if inDiag != s.isPort || (s.isPort && int(dp) != s.port) {
			t.Errorf("%s: sock_diag says %d, %v; want port %d, %v", s.name, dp, inDiag, s.port, s.isPort)
		}
	}
}

// TestDiagDumpDirect checks that the dumps themselves work on this kernel,
// since Sockets would quietly fall back to /proc/net if they did not.
func TestDiagDumpDirect(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ln)
	fd, err := diagSocketOpen()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	defer syscall.Close(fd)
	tab := make(SocketTable)
	buf := make([]byte, diagBufSize)
	if err := diagDump(fd, 7, syscall.AF_INET, syscall.IPPROTO_TCP, 1<<stateListen, buf, tab, nil, keepTCP); err != nil {
		t.Skipf("no inet_diag for TCP here: %v", err)
	}
	if port, ok := tab[inodeOf(t, ln.(*net.TCPListener))]; !ok || int(port) != ln.Addr().(*net.TCPAddr).Port {
		t.Errorf("listener: %d, %v; want %d", port, ok, ln.Addr().(*net.TCPAddr).Port)
	}
}

// fdConn is a raw socket fd as a syscall.Conn, for inodeOf.
type fdConn struct{ fd int }

func (c fdConn) SyscallConn() (syscall.RawConn, error) { return rawFD(c), nil }

type rawFD fdConn

func (r rawFD) Control(f func(uintptr)) error    { f(uintptr(r.fd)); return nil }
func (r rawFD) Read(f func(uintptr) bool) error  { f(uintptr(r.fd)); return nil }
func (r rawFD) Write(f func(uintptr) bool) error { f(uintptr(r.fd)); return nil }
