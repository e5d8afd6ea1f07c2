package procfs

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// diagTables are the four dumps of Sockets, each with the /proc/net table
// that says the same, read instead when the dump fails.
var diagTables = []struct {
	family, protocol uint8
	states           uint32
	keep             func(diagSocket) bool
	file             string
	optional         bool // the file is missing when IPv6 is disabled
	parse            func([]byte, SocketTable) error
}{
	{unix.AF_INET, unix.IPPROTO_TCP, 1 << stateListen, keepTCP, "tcp", false, ParseNetTCP},
	{unix.AF_INET6, unix.IPPROTO_TCP, 1 << stateListen, keepTCP, "tcp6", true, ParseNetTCP},
	{unix.AF_INET, unix.IPPROTO_UDP, 1 << stateClose, keepUDP, "udp", false, ParseNetUDP},
	{unix.AF_INET6, unix.IPPROTO_UDP, 1 << stateClose, keepUDP, "udp6", true, ParseNetUDP},
}

// diagBufSize holds any datagram of a dump: the kernel makes them at most
// 32 KiB (netlink_recvmsg caps max_recvmsg_len there).
const diagBufSize = 32 << 10

var diagBufs = sync.Pool{New: func() any { b := make([]byte, diagBufSize); return &b }}

// Sockets returns the sockets that count as ports (see SocketTable), the
// same as ListeningSockets, in a fraction of its time: through sock_diag
// netlink dumps of listening TCP and unconnected UDP sockets. A table
// whose dump fails (a kernel without inet_diag or udp_diag, a seccomp
// filter) is read from /proc/net instead. For a procfs other than the
// host's (a test fixture) it is ListeningSockets.
//
// Like /proc/net, the dumps are of the caller's network namespace.
func (fs FS) Sockets() (SocketTable, error) {
	t, _, err := fs.sockets(false)
	return t, err
}

// SocketsByCgroup is Sockets that also groups the ports by the cgroup v2
// id of the socket (the cgroup of the process that created it), from the
// same dumps. The CgroupPorts is nil where the ids are not to be had (a
// dump failed and /proc/net served, a kernel before 5.9, another procfs):
// the caller then finds ports through each process's fds, as it must
// anyway for sockets created before a process was moved into its cgroup.
func (fs FS) SocketsByCgroup() (SocketTable, CgroupPorts, error) {
	return fs.sockets(true)
}

func (fs FS) sockets(withCgroups bool) (SocketTable, CgroupPorts, error) {
	if fs.root() != "/proc" {
		t, err := fs.ListeningSockets()
		return t, nil, err
	}
	fd, err := diagSocketOpen()
	if err != nil {
		t, err := fs.ListeningSockets()
		return t, nil, err
	}
	defer unix.Close(fd)
	bufp := diagBufs.Get().(*[]byte)
	defer diagBufs.Put(bufp)
	t := make(SocketTable)
	var byCgroup CgroupPorts
	if withCgroups {
		byCgroup = make(CgroupPorts)
	}
	var fileBuf []byte
	for i, tab := range diagTables {
		err := diagDump(fd, uint32(i+1), tab.family, tab.protocol, tab.states, *bufp, t, byCgroup, tab.keep)
		if err == nil {
			continue
		}
		byCgroup = nil // some sockets would be missing from it
		path := fs.path("net", tab.file)
		b, ferr := readInto(path, fileBuf)
		if tab.optional && errors.Is(ferr, os.ErrNotExist) {
			continue
		}
		if ferr != nil {
			return nil, nil, fmt.Errorf("sock_diag: %v; %w", err, ferr)
		}
		if perr := tab.parse(b, t); perr != nil {
			return nil, nil, fmt.Errorf("parse %s: %w", path, perr)
		}
		fileBuf = b
	}
	if byCgroup != nil && len(t) > 0 && len(byCgroup) == 0 {
		byCgroup = nil // no ids at all: a kernel that does not send them
	}
	byCgroup.sortUnique()
	return t, byCgroup, nil
}

// diagSocketOpen opens a NETLINK_SOCK_DIAG socket whose reads give up
// after a few seconds, so that a kernel that never answers cannot hang a
// listing.
func diagSocketOpen() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("netlink socket: %w", err)
	}
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("netlink socket: %w", err)
	}
	return fd, nil
}

// diagDump sends one dump request and adds the sockets of its answer to t.
// Only datagrams from the kernel (port 0) are read.
func diagDump(fd int, seq uint32, family, protocol uint8, states uint32, buf []byte, t SocketTable, byCgroup CgroupPorts, keep func(diagSocket) bool) error {
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Sendto(fd, diagRequest(seq, family, protocol, states), 0, kernel); err != nil {
		return fmt.Errorf("sock_diag request: %w", err)
	}
	for {
		n, _, flags, from, err := unix.Recvmsg(fd, buf, nil, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sock_diag answer: %w", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			return fmt.Errorf("sock_diag answer: datagram larger than %d bytes", len(buf))
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		done, err := parseDiagCgroups(buf[:n], seq, t, byCgroup, keep)
		if err != nil {
			return fmt.Errorf("sock_diag answer: %w", err)
		}
		if done {
			return nil
		}
	}
}
