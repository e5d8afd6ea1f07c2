package procfs

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"syscall"
	"testing"
)

// diagMsg encodes one SOCK_DIAG_BY_FAMILY answer message, as the kernel
// sends it, with extra bytes of attributes after the fixed part.
func diagMsg(seq uint32, state uint8, sport, dport uint16, inode uint32, extra int) []byte {
	n := nlmsgHdrLen + diagMsgLen + extra
	b := make([]byte, (n+3)&^3)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(n))
	ne.PutUint16(b[4:], sockDiagByFam)
	ne.PutUint16(b[6:], 2) // NLM_F_MULTI
	ne.PutUint32(b[8:], seq)
	m := b[nlmsgHdrLen:]
	m[0], m[1] = syscall.AF_INET, state
	binary.BigEndian.PutUint16(m[4:], sport)
	binary.BigEndian.PutUint16(m[6:], dport)
	ne.PutUint32(m[4+diagSockIDLen+16:], inode)
	return b
}

// nlMsg encodes a message of type typ with body.
func nlMsg(seq uint32, typ uint16, body []byte) []byte {
	n := nlmsgHdrLen + len(body)
	b := make([]byte, (n+3)&^3)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(n))
	ne.PutUint16(b[4:], typ)
	ne.PutUint32(b[8:], seq)
	copy(b[nlmsgHdrLen:], body)
	return b
}

func done(seq uint32) []byte { return nlMsg(seq, nlmsgDone, make([]byte, 4)) }

func nlErr(seq uint32, errno int32) []byte {
	body := make([]byte, 4+nlmsgHdrLen)
	binary.NativeEndian.PutUint32(body, uint32(errno))
	return nlMsg(seq, nlmsgError, body)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestParseDiag(t *testing.T) {
	const seq = 5
	for _, tc := range []struct {
		name     string
		in       []byte
		keep     func(diagSocket) bool
		want     SocketTable
		wantDone bool
		wantErr  error
	}{
		{"listening tcp", cat(diagMsg(seq, stateListen, 8089, 0, 100, 0), diagMsg(seq, 1, 8089, 5555, 101, 0)), keepTCP,
			SocketTable{100: 8089}, false, nil},
		{"with attributes and done", cat(diagMsg(seq, stateListen, 22, 0, 7, 13), diagMsg(seq, stateListen, 80, 0, 8, 0), done(seq)), keepTCP,
			SocketTable{7: 22, 8: 80}, true, nil},
		{"udp: bound, connected, unbound", cat(diagMsg(seq, stateClose, 53, 0, 1, 0), diagMsg(seq, 1, 40000, 53, 2, 0),
			diagMsg(seq, stateClose, 0, 0, 3, 0)), keepUDP, SocketTable{1: 53}, false, nil},
		{"inode 0 skipped", diagMsg(seq, stateListen, 443, 0, 0, 0), keepTCP, SocketTable{}, false, nil},
		{"other sequence skipped", cat(diagMsg(seq+1, stateListen, 443, 0, 9, 0), done(seq+1), diagMsg(seq, stateListen, 444, 0, 10, 0)), keepTCP,
			SocketTable{10: 444}, false, nil},
		{"error", cat(diagMsg(seq, stateListen, 1, 0, 1, 0), nlErr(seq, -int32(syscall.ENOENT))), keepTCP,
			SocketTable{1: 1}, false, syscall.ENOENT},
		{"acknowledgement", cat(nlErr(seq, 0), done(seq)), keepTCP, SocketTable{}, true, nil},
		{"unaligned last message", diagMsg(seq, stateListen, 1, 0, 1, 1)[:nlmsgHdrLen+diagMsgLen+1], keepTCP,
			SocketTable{1: 1}, false, nil},
		{"empty", nil, keepTCP, SocketTable{}, false, nil},
		{"short header", make([]byte, 10), keepTCP, SocketTable{}, false, errDiagTruncated},
		{"length past the end", diagMsg(seq, stateListen, 1, 0, 1, 0)[:40], keepTCP, SocketTable{}, false, errDiagTruncated},
		{"short inet_diag_msg", nlMsg(seq, sockDiagByFam, make([]byte, 20)), keepTCP, SocketTable{}, false, errDiagTruncated},
		{"short error", nlMsg(seq, nlmsgError, nil), keepTCP, SocketTable{}, false, errDiagTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SocketTable{}
			d, err := parseDiag(tc.in, seq, got, tc.keep)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if d != tc.wantDone {
				t.Errorf("done = %v, want %v", d, tc.wantDone)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("table = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDiagRequest(t *testing.T) {
	b := diagRequest(9, syscall.AF_INET6, syscall.IPPROTO_UDP, 1<<stateClose)
	ne := binary.NativeEndian
	if len(b) != 72 || ne.Uint32(b) != 72 || ne.Uint16(b[4:]) != 20 || ne.Uint16(b[6:]) != 0x301 || ne.Uint32(b[8:]) != 9 {
		t.Fatalf("header: % x", b[:16])
	}
	if b[16] != syscall.AF_INET6 || b[17] != syscall.IPPROTO_UDP || ne.Uint32(b[20:]) != 1<<7 {
		t.Errorf("request: % x", b[16:24])
	}
}

// FuzzParseDiag feeds arbitrary datagrams: parseDiag must not panic, and
// whatever it keeps must pass keep.
func FuzzParseDiag(f *testing.F) {
	f.Add(cat(diagMsg(1, stateListen, 8089, 0, 100, 0), diagMsg(1, stateClose, 53, 0, 3, 7), done(1)))
	f.Add(cat(diagMsg(1, 1, 1, 2, 3, 0), nlErr(1, -2)))
	f.Add(diagMsg(1, stateListen, 1, 0, 1, 1)[:nlmsgHdrLen+diagMsgLen+1])
	f.Fuzz(func(t *testing.T, b []byte) {
		seen := map[uint64]diagSocket{}
		got := SocketTable{}
		_, _ = parseDiag(b, 1, got, func(s diagSocket) bool {
			seen[s.inode] = s
			return keepTCP(s) || keepUDP(s)
		})
		for ino, port := range got {
			s, ok := seen[ino]
			if !ok || s.localPort != port || ino == 0 || !(keepTCP(s) || keepUDP(s)) {
				t.Fatalf("kept %d: %d, from %+v (%v)", ino, port, s, ok)
			}
		}
	})
}

// FuzzDiagRoundTrip encodes messages from fuzzed fields, as the kernel
// would, and checks that parseDiag finds them again exactly.
func FuzzDiagRoundTrip(f *testing.F) {
	f.Add(uint8(stateListen), uint16(8089), uint16(0), uint32(100), uint8(0), uint8(0), uint64(0))
	f.Add(uint8(stateClose), uint16(53), uint16(0), uint32(7), uint8(9), uint8(3), uint64(4026531835))
	f.Fuzz(func(t *testing.T, state uint8, sport, dport uint16, inode uint32, extra, copies uint8, cg uint64) {
		var b []byte
		n := int(copies%4) + 1
		for i := range n {
			if cg != 0 {
				b = append(b, diagMsgCgroup(3, state, sport, inode+uint32(i), cg)...)
			} else {
				b = append(b, diagMsg(3, state, sport, dport, inode+uint32(i), int(extra%64))...)
			}
		}
		b = append(b, done(3)...)
		got, byCgroup := SocketTable{}, CgroupPorts{}
		d, err := parseDiagCgroups(b, 3, got, byCgroup, func(diagSocket) bool { return true })
		if err != nil || !d {
			t.Fatalf("done %v, err %v", d, err)
		}
		want := SocketTable{}
		for i := range n {
			if ino := inode + uint32(i); ino != 0 {
				want[uint64(ino)] = sport
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		byCgroup.sortUnique()
		if wantCg := (CgroupPorts{cg: {sport}}); cg != 0 && len(want) > 0 && !maps.EqualFunc(byCgroup, wantCg, slices.Equal) {
			t.Fatalf("by cgroup %v, want %v", byCgroup, wantCg)
		}
	})
}

// diagMsgCgroup is diagMsg with attributes as the kernel sends them: an
// INET_DIAG_PAD-like attribute of another type, then INET_DIAG_CGROUP_ID.
func diagMsgCgroup(seq uint32, state uint8, sport uint16, inode uint32, cgroup uint64) []byte {
	b := diagMsg(seq, state, sport, 0, inode, 8+12)
	ne := binary.NativeEndian
	a := b[nlmsgHdrLen+diagMsgLen:]
	ne.PutUint16(a[0:], 8) // another attribute, skipped
	ne.PutUint16(a[2:], 20)
	ne.PutUint16(a[8:], 12)
	ne.PutUint16(a[10:], diagAttrCgroupID)
	ne.PutUint64(a[12:], cgroup)
	return b
}

func TestParseDiagCgroups(t *testing.T) {
	const seq = 3
	bad := diagMsgCgroup(seq, stateListen, 9, 9, 77)
	binary.NativeEndian.PutUint16(bad[nlmsgHdrLen+diagMsgLen:], 200) // attribute longer than the message
	for _, tc := range []struct {
		name string
		in   []byte
		want CgroupPorts
	}{
		{"grouped", cat(diagMsgCgroup(seq, stateListen, 80, 1, 500), diagMsgCgroup(seq, stateListen, 22, 2, 500),
			diagMsgCgroup(seq, stateListen, 8089, 3, 600), diagMsgCgroup(seq, 1, 8090, 4, 600)),
			CgroupPorts{500: {22, 80}, 600: {8089}}},
		{"same port twice", cat(diagMsgCgroup(seq, stateListen, 80, 1, 5), diagMsgCgroup(seq, stateListen, 80, 2, 5)), CgroupPorts{5: {80}}},
		{"no attribute", diagMsg(seq, stateListen, 80, 0, 1, 0), CgroupPorts{}},
		{"malformed attribute", bad, CgroupPorts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, got := SocketTable{}, CgroupPorts{}
			if _, err := parseDiagCgroups(tc.in, seq, tab, got, keepTCP); err != nil {
				t.Fatal(err)
			}
			got.sortUnique()
			if !maps.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseDiagCgroups: every port grouped under a cgroup is a kept
// socket's port.
func FuzzParseDiagCgroups(f *testing.F) {
	f.Add(cat(diagMsgCgroup(1, stateListen, 80, 1, 500), diagMsgCgroup(1, stateClose, 53, 2, 7), done(1)))
	f.Add(diagMsgCgroup(1, stateListen, 1, 1, 1)[:nlmsgHdrLen+diagMsgLen+6])
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, byCgroup := SocketTable{}, CgroupPorts{}
		ports := map[uint16]bool{} // of kept sockets (tab keeps the last of an inode)
		_, _ = parseDiagCgroups(b, 1, tab, byCgroup, func(s diagSocket) bool {
			k := keepTCP(s) || keepUDP(s)
			ports[s.localPort] = ports[s.localPort] || k
			return k
		})
		for id, ps := range byCgroup {
			for _, p := range ps {
				if id == 0 || !ports[p] {
					t.Fatalf("cgroup %d port %d not a kept socket's", id, p)
				}
			}
		}
	})
}
