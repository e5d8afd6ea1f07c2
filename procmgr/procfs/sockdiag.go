package procfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"
)

// The socket tables through the kernel's sock_diag netlink interface
// (inet_diag; see sock_diag(7)): the kernel sends only the sockets asked
// for, in binary, where /proc/net/tcp prints every socket of the host,
// established and TIME_WAIT ones included, and walks the whole
// established hash table to find them. Here a dump asks for listening TCP
// sockets only, which the kernel finds in its listening hash alone. The
// parsing is kept apart (pure, fuzzed); the I/O is in sockdiag_linux.go.

// Layouts of linux/netlink.h, linux/sock_diag.h and linux/inet_diag.h.
const (
	nlmsgHdrLen   = 16 // struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32
	nlmsgDone     = 3  // NLMSG_DONE
	nlmsgError    = 2  // NLMSG_ERROR: an nlmsgerr, its error a negative errno
	nlmFRequest   = 0x1
	nlmFDump      = 0x300 // NLM_F_ROOT | NLM_F_MATCH
	sockDiagByFam = 20    // SOCK_DIAG_BY_FAMILY
	// struct inet_diag_req_v2: family u8, protocol u8, ext u8, pad u8,
	// states u32, then a struct inet_diag_sockid (48 bytes).
	diagReqLen = 8 + diagSockIDLen
	// struct inet_diag_sockid: sport be16, dport be16, src [4]be32,
	// dst [4]be32, if u32, cookie [2]u32.
	diagSockIDLen = 48
	// struct inet_diag_msg: family u8, state u8, timer u8, retrans u8,
	// id (inet_diag_sockid), expires u32, rqueue u32, wqueue u32, uid u32,
	// inode u32. Attributes (struct rtattr: len u16, type u16, payload,
	// padded to 4 bytes) follow.
	diagMsgLen = 4 + diagSockIDLen + 5*4
	// diagAttrCgroupID is INET_DIAG_CGROUP_ID: the u64 cgroup v2 id of
	// the socket (the inode of the cgroup of the process that created
	// it). Linux 5.9 sends it with every socket, unasked.
	diagAttrCgroupID = 21
)

// diagSocket is what is used of one inet_diag_msg.
type diagSocket struct {
	state                 uint8
	localPort, remotePort uint16
	inode                 uint64
	cgroup                uint64 // 0: not sent (before Linux 5.9, no cgroup2)
}

// diagRequest returns the SOCK_DIAG_BY_FAMILY dump request for the
// sockets of family (AF_INET, AF_INET6) and protocol (IPPROTO_TCP,
// IPPROTO_UDP) in any of states (a bit mask: 1<<state).
func diagRequest(seq uint32, family, protocol uint8, states uint32) []byte {
	b := make([]byte, nlmsgHdrLen+diagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagByFam)
	ne.PutUint16(b[6:], nlmFRequest|nlmFDump)
	ne.PutUint32(b[8:], seq)
	// pid 0: from the kernel's point of view, the sender's port is filled in.
	r := b[nlmsgHdrLen:]
	r[0], r[1] = family, protocol
	ne.PutUint32(r[4:], states)
	// The socket id stays zero: no filter on addresses, ports or cookie.
	return b
}

// errDiagTruncated says a netlink message is shorter than it must be.
var errDiagTruncated = errors.New("truncated sock_diag message")

// parseDiag adds to t the sockets of the netlink messages in b (one
// datagram of a dump's answer to request seq) for which keep is true, and
// reports whether the dump is done. Messages of another sequence number
// are skipped. An NLMSG_ERROR is returned as a syscall.Errno. It never
// panics. On error t may already hold some of b's sockets.
func parseDiag(b []byte, seq uint32, t SocketTable, keep func(diagSocket) bool) (done bool, err error) {
	return parseDiagCgroups(b, seq, t, nil, keep)
}

// parseDiagCgroups is parseDiag that also adds each kept socket's port to
// byCgroup under its cgroup id, when byCgroup is not nil (unsorted, with
// repeats: see CgroupPorts.add).
func parseDiagCgroups(b []byte, seq uint32, t SocketTable, byCgroup CgroupPorts, keep func(diagSocket) bool) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, errDiagTruncated
		}
		n := ne.Uint32(b[0:])
		typ := ne.Uint16(b[4:])
		mseq := ne.Uint32(b[8:])
		if n < nlmsgHdrLen || uint64(n) > uint64(len(b)) {
			return false, fmt.Errorf("%w: length %d of %d bytes", errDiagTruncated, n, len(b))
		}
		body := b[nlmsgHdrLen:n]
		// Messages are padded to 4 bytes (NLMSG_ALIGN); the last may not be.
		next := min(uint64(len(b)), (uint64(n)+3)&^3)
		b = b[next:]
		if mseq != seq {
			continue
		}
		switch typ {
		case nlmsgDone:
			return true, nil
		case nlmsgError:
			if len(body) < 4 {
				return false, errDiagTruncated
			}
			code := int32(ne.Uint32(body))
			if code == 0 {
				continue // an acknowledgement
			}
			if code < 0 {
				code = -code
			}
			return false, syscall.Errno(code)
		case sockDiagByFam:
			s, err := parseDiagMsg(body)
			if err != nil {
				return false, err
			}
			if s.inode != 0 && keep(s) {
				t[s.inode] = s.localPort
				if byCgroup != nil && s.cgroup != 0 {
					byCgroup[s.cgroup] = append(byCgroup[s.cgroup], s.localPort)
				}
			}
		}
	}
	return false, nil
}

// parseDiagMsg parses an inet_diag_msg and its cgroup id attribute.
func parseDiagMsg(b []byte) (diagSocket, error) {
	if len(b) < diagMsgLen {
		return diagSocket{}, fmt.Errorf("%w: inet_diag_msg of %d bytes", errDiagTruncated, len(b))
	}
	id := b[4:]
	var cgroup uint64
	// A malformed attribute ends the walk: the fixed part stands alone.
	for a := b[diagMsgLen:]; len(a) >= 4; {
		n := int(binary.NativeEndian.Uint16(a[0:]))
		if n < 4 || n > len(a) {
			break
		}
		if binary.NativeEndian.Uint16(a[2:])&0x3fff == diagAttrCgroupID && n >= 12 {
			cgroup = binary.NativeEndian.Uint64(a[4:])
		}
		a = a[min(len(a), (n+3)&^3):]
	}
	return diagSocket{
		cgroup: cgroup,
		state:  b[1],
		// Ports are in network byte order.
		localPort:  binary.BigEndian.Uint16(id[0:]),
		remotePort: binary.BigEndian.Uint16(id[2:]),
		inode:      uint64(binary.NativeEndian.Uint32(b[4+diagSockIDLen+16:])),
	}, nil
}

// The sockets that count as ports, as ListeningSockets keeps them from
// /proc/net.
func keepTCP(s diagSocket) bool { return s.state == stateListen }

func keepUDP(s diagSocket) bool {
	return s.state == stateClose && s.remotePort == 0 && s.localPort != 0
}

// CgroupPorts maps a cgroup v2 id to the ports of the sockets created in
// that cgroup, ascending, each once. One map for every cgroup costs one
// dump of the host's listeners, however many cgroups there are; a process
// then finds its ports with one lookup of its cgroup's id.
type CgroupPorts map[uint64][]uint16

// sortUnique sorts each cgroup's ports and drops repeats.
func (c CgroupPorts) sortUnique() {
	for id, ps := range c {
		slices.Sort(ps)
		c[id] = slices.Compact(ps)
	}
}
