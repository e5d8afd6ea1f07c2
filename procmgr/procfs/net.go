package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// SocketTable maps a socket's inode to its local port, for the sockets that
// count as a process's ports: listening TCP sockets and bound, unconnected
// UDP sockets. A process owns a socket when one of its fds links to
// "socket:[inode]" (see SocketInodes).
type SocketTable map[uint64]uint16

// Socket states as printed in the st column of /proc/net/{tcp,udp}
// (include/net/tcp_states.h); UDP reuses the TCP numbering.
const (
	stateClose  = 0x07 // an unconnected UDP socket
	stateListen = 0x0A
)

// netFields is how many columns of a /proc/net/{tcp,udp}{,6} line are used:
// sl, local_address, rem_address, st, tx_queue:rx_queue, tr:tm->when,
// retrnsmt, uid, timeout, inode. The columns after inode differ between
// TCP and UDP and are ignored.
const netFields = 10

// netSocket is one line of a /proc/net socket table.
type netSocket struct {
	localPort, remotePort uint16
	state                 uint8
	inode                 uint64
}

// ParseNetTCP adds to t the listening sockets (state 0A) of the contents of
// /proc/net/tcp or /proc/net/tcp6; the two differ only in the length of the
// addresses. It never panics. On error t may already hold the sockets of
// the lines before the bad one.
func ParseNetTCP(b []byte, t SocketTable) error {
	return parseNet(b, t, func(s netSocket) bool {
		return s.state == stateListen
	})
}

// ParseNetUDP adds to t the bound, unconnected sockets of the contents of
// /proc/net/udp or /proc/net/udp6: state 07 with remote port 0 and a
// non-zero local port. A connected UDP socket (state 01) talks to one peer
// and is not a service port. It never panics. On error t may already hold
// the sockets of the lines before the bad one.
func ParseNetUDP(b []byte, t SocketTable) error {
	return parseNet(b, t, func(s netSocket) bool {
		return s.state == stateClose && s.remotePort == 0 && s.localPort != 0
	})
}

// parseNet adds the sockets of b for which keep is true to t. Sockets with
// inode 0 (TIME_WAIT, orphans) are skipped: no fd links to them.
func parseNet(b []byte, t SocketTable, keep func(netSocket) bool) error {
	for lineNo := 1; len(b) > 0; lineNo++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		var f [netFields][]byte
		n := splitFields(line, f[:])
		if n == 0 || string(f[0]) == "sl" { // blank line or header
			continue
		}
		s, err := parseNetLine(f[:n])
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		if s.inode != 0 && keep(s) {
			t[s.inode] = s.localPort
		}
	}
	return nil
}

// parseNetLine parses the fields of one socket line.
func parseNetLine(f [][]byte) (netSocket, error) {
	var s netSocket
	if len(f) < netFields {
		return s, fmt.Errorf("%d fields, want at least %d", len(f), netFields)
	}
	if _, ok := bytes.CutSuffix(f[0], []byte(":")); !ok {
		return s, fmt.Errorf("invalid slot %q", f[0])
	}
	var ok bool
	if s.localPort, ok = parseAddrPort(f[1]); !ok {
		return s, fmt.Errorf("invalid local address %q", f[1])
	}
	if s.remotePort, ok = parseAddrPort(f[2]); !ok {
		return s, fmt.Errorf("invalid remote address %q", f[2])
	}
	st, ok := parseHex(f[3])
	if !ok || st > 0xFF {
		return s, fmt.Errorf("invalid state %q", f[3])
	}
	s.state = uint8(st)
	if s.inode, ok = parseDec(f[9]); !ok {
		return s, fmt.Errorf("invalid inode %q", f[9])
	}
	return s, nil
}

// parseAddrPort returns the port of an "ADDR:PORT" column: ADDR is 8 hex
// digits (IPv4) or 32 (IPv6) in the kernel's byte order, PORT 4 hex digits.
func parseAddrPort(b []byte) (uint16, bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return 0, false
	}
	addr, port := b[:i], b[i+1:]
	if len(addr) != 8 && len(addr) != 32 || len(port) != 4 {
		return 0, false
	}
	// The address is only checked: 32 hex digits do not fit in a uint64.
	for _, c := range addr {
		if _, ok := hexDigit(c); !ok {
			return 0, false
		}
	}
	p, ok := parseHex(port)
	return uint16(p), ok
}

// ListeningSockets reads Root/net/tcp, tcp6, udp and udp6 once and returns
// the sockets that count as ports (see SocketTable). A missing tcp6 or udp6,
// as when IPv6 is disabled, is not an error.
//
// The tables are those of the reader's network namespace: processes in
// another namespace (containers) do not find their sockets here.
func (fs FS) ListeningSockets() (SocketTable, error) {
	t := make(SocketTable)
	// Start large: each read(2) of a /proc/net table resumes the kernel's
	// walk of its hash table, so small reads multiply the cost (measured:
	// tens of ms with 512-byte reads against a few with 64 KiB).
	buf := make([]byte, 0, 64<<10)
	for _, tab := range []struct {
		name     string
		optional bool
		parse    func([]byte, SocketTable) error
	}{
		{"tcp", false, ParseNetTCP},
		{"tcp6", true, ParseNetTCP},
		{"udp", false, ParseNetUDP},
		{"udp6", true, ParseNetUDP},
	} {
		path := fs.path("net", tab.name)
		b, err := readInto(path, buf)
		if tab.optional && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := tab.parse(b, t); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		buf = b
	}
	return t, nil
}
