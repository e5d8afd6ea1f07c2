//go:build linux

package procfs

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
)

// inodeOf returns the inode of a socket, as /proc/net and the fd links
// name it.
func inodeOf(t *testing.T, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return st.Ino
}

func closeAtEnd(t *testing.T, c interface{ Close() error }) {
	t.Cleanup(func() { c.Close() })
}

func TestLiveListeningSockets(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ln)
	bound, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, bound)
	// A connected UDP socket has a local port too, but is not a service.
	connected, err := net.Dial("udp4", bound.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, connected)
	// Both ends of an established TCP connection, one sharing the
	// listener's port.
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, client)
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, server)

	type sock struct {
		name   string
		conn   syscall.Conn
		port   int
		isPort bool
	}
	socks := []sock{
		{"tcp listener", ln.(*net.TCPListener), ln.Addr().(*net.TCPAddr).Port, true},
		{"bound udp", bound.(*net.UDPConn), bound.LocalAddr().(*net.UDPAddr).Port, true},
		{"connected udp", connected.(*net.UDPConn), 0, false},
		{"tcp client", client.(*net.TCPConn), 0, false},
		{"accepted tcp", server.(*net.TCPConn), 0, false},
	}
	if ln6, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Logf("no IPv6 (%v): tcp6 not checked", err)
	} else {
		closeAtEnd(t, ln6)
		socks = append(socks, sock{"tcp6 listener", ln6.(*net.TCPListener), ln6.Addr().(*net.TCPAddr).Port, true})
	}
	if u6, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Logf("no IPv6 (%v): udp6 not checked", err)
	} else {
		closeAtEnd(t, u6)
		socks = append(socks, sock{"bound udp6", u6.(*net.UDPConn), u6.LocalAddr().(*net.UDPAddr).Port, true})
	}

	table, err := Default.ListeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	inodes, err := Default.SocketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		ino := inodeOf(t, s.conn)
		if !slices.Contains(inodes, ino) {
			t.Errorf("%s: inode %d not in SocketInodes(self) %v", s.name, ino, inodes)
		}
		port, ok := table[ino]
		switch {
		case s.isPort && (!ok || int(port) != s.port):
			t.Errorf("%s: table has %d, %v; want port %d", s.name, port, ok, s.port)
		case !s.isPort && ok:
			t.Errorf("%s: reported as port %d", s.name, port)
		}
	}
	if !slices.IsSorted(inodes) {
		t.Errorf("SocketInodes not sorted: %v", inodes)
	}
}

func TestLiveSocketInodesOfExitedProcess(t *testing.T) {
	cmd := startChild(t, nil, "true")
	cmd.Wait()
	if _, err := Default.SocketInodes(cmd.Process.Pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
	}
}
