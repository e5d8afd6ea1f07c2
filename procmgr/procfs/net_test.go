package procfs

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The net fixtures were copied from /proc/net on Linux 6.18 while a python3
// process held: TCP listeners on 127.0.0.1:8089 (inode 10316), 0.0.0.0:8090
// (10317), [::1]:8091 (10320), [::]:8092 (10321); an established connection
// to each of 8089 and 8091 (both ends); a TIME_WAIT connection to 8090; UDP
// sockets bound to 127.0.0.1:9001 (10324), 0.0.0.0:9002 (10325),
// 127.0.0.1:9004 (10329) and [::1]:9003 (10327); and UDP sockets connected
// to 9001 (10326) and [::1]:9003 (10328). Another process listened on
// 0.0.0.0:2024 (1460).

const (
	udpLine      = "16239: 0100007F:2329 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 10324 2 00000000d7ea83f4 0\n"
	tcpListen    = "   1: 0100007F:1F99 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 10316 1 0000000025f138a9 100 0 0 10 0\n"
	tcpHeader    = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	udpHeader    = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	restOfTCPRow = " 00000000:00000000 00:00000000 00000000     0        0 "
)

func TestParseNet(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte, SocketTable) error
		in    string
		want  SocketTable
	}{
		{"tcp fixture: listeners only, not established nor TIME_WAIT", ParseNetTCP,
			string(readFixture(t, "net/tcp")), SocketTable{10316: 8089, 10317: 8090, 1460: 2024}},
		{"tcp6 fixture", ParseNetTCP,
			string(readFixture(t, "net/tcp6")), SocketTable{10320: 8091, 10321: 8092}},
		{"udp fixture: bound, not connected", ParseNetUDP,
			string(readFixture(t, "net/udp")), SocketTable{10324: 9001, 10325: 9002, 10329: 9004}},
		{"udp6 fixture", ParseNetUDP,
			string(readFixture(t, "net/udp6")), SocketTable{10327: 9003}},
		{"udp table read as tcp: no listeners", ParseNetTCP,
			string(readFixture(t, "net/udp")), SocketTable{}},
		{"tcp table read as udp: nothing in state 07", ParseNetUDP,
			string(readFixture(t, "net/tcp")), SocketTable{}},
		{"empty", ParseNetTCP, "", SocketTable{}},
		{"header only", ParseNetUDP, udpHeader, SocketTable{}},
		{"no header, no final newline", ParseNetTCP, strings.TrimSuffix(tcpListen, "\n"), SocketTable{10316: 8089}},
		{"blank lines", ParseNetTCP, "\n" + tcpHeader + "\n   \n" + tcpListen + "\n", SocketTable{10316: 8089}},
		{"lower-case hex", ParseNetTCP, tcpHeader + "   0: 0100007f:1f99 00000000:0000 0a" + restOfTCPRow + "7 1 0\n", SocketTable{7: 0x1f99}},
		{"tcp listener with inode 0 is skipped", ParseNetTCP, tcpHeader + "   0: 0100007F:1F99 00000000:0000 0A" + restOfTCPRow + "0 1 0\n", SocketTable{}},
		{"udp in state 07 with local port 0 (unbound)", ParseNetUDP,
			udpHeader + "   1: 00000000:0000 00000000:0000 07" + restOfTCPRow + "8 2 0 0\n", SocketTable{}},
		{"udp in state 07 with a remote port", ParseNetUDP,
			udpHeader + "   1: 0100007F:2329 0100007F:1F99 07" + restOfTCPRow + "8 2 0 0\n", SocketTable{}},
		{"udp connected (state 01)", ParseNetUDP,
			udpHeader + "   1: 0100007F:2329 0100007F:1F99 01" + restOfTCPRow + "8 2 0 0\n", SocketTable{}},
		{"tcp6 listener on 2001:db8::1 (digits beyond 64 bits)", ParseNetTCP,
			"   0: B80D0120000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A" + restOfTCPRow + "9 1 0\n", SocketTable{9: 8080}},
		{"largest port and inode", ParseNetTCP,
			"   0: 0100007F:FFFF 00000000:0000 0A" + restOfTCPRow + "18446744073709551615 1 0\n", SocketTable{18446744073709551615: 65535}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SocketTable{}
			if err := tt.parse([]byte(tt.in), got); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseNetKeepsExistingEntries(t *testing.T) {
	tab := SocketTable{1: 22}
	if err := ParseNetUDP([]byte(udpLine), tab); err != nil {
		t.Fatal(err)
	}
	if want := (SocketTable{1: 22, 10324: 9001}); !maps.Equal(tab, want) {
		t.Errorf("got %v, want %v", tab, want)
	}
}

func TestParseNetErrors(t *testing.T) {
	row := func(local, remote, st, inode string) string {
		return tcpHeader + tcpListen + "   9: " + local + " " + remote + " " + st + restOfTCPRow + inode + " 1 0\n"
	}
	tests := []struct {
		name, in, wantErr string
	}{
		{"too few fields", tcpHeader + "   0: 0100007F:1F99 00000000:0000 0A 00000000:00000000\n", "line 2: 5 fields, want at least 10"},
		{"slot without colon", tcpHeader + strings.Replace(tcpListen, "1:", "1", 1), `line 2: invalid slot "1"`},
		{"local address without port", row("0100007F", "00000000:0000", "0A", "5"), `line 3: invalid local address "0100007F"`},
		{"local address of 7 digits", row("100007F:1F99", "00000000:0000", "0A", "5"), "invalid local address"},
		{"local address of 16 digits", row("000000000100007F:1F99", "00000000:0000", "0A", "5"), "invalid local address"},
		{"ipv6 address not hex", row("0000000000000000000000000100000G:1F99", "00000000:0000", "0A", "5"), "invalid local address"},
		{"port of 5 digits", row("0100007F:01F99", "00000000:0000", "0A", "5"), "invalid local address"},
		{"port not hex", row("0100007F:1FZ9", "00000000:0000", "0A", "5"), "invalid local address"},
		{"remote address garbled", row("0100007F:1F99", "0000:0000:0000", "0A", "5"), `invalid remote address "0000:0000:0000"`},
		{"state not hex", row("0100007F:1F99", "00000000:0000", "LI", "5"), `invalid state "LI"`},
		{"state above a byte", row("0100007F:1F99", "00000000:0000", "10A", "5"), `invalid state "10A"`},
		{"inode negative", row("0100007F:1F99", "00000000:0000", "0A", "-5"), `invalid inode "-5"`},
		{"inode overflows", row("0100007F:1F99", "00000000:0000", "0A", "18446744073709551616"), "invalid inode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, parse := range []func([]byte, SocketTable) error{ParseNetTCP, ParseNetUDP} {
				err := parse([]byte(tt.in), SocketTable{})
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
			}
		})
	}
}

func TestListeningSocketsFixture(t *testing.T) {
	// testdata/proc/net has tcp and udp but no tcp6 or udp6, as on a host
	// with IPv6 disabled.
	got, err := fixtureFS.ListeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	want := SocketTable{10316: 8089, 10317: 8090, 1460: 2024, 10324: 9001, 10325: 9002, 10329: 9004}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// netTree writes the named fixtures of testdata/net under a new root/net.
func netTree(t *testing.T, files map[string]string) FS {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, "net", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return FS{Root: root}
}

func TestListeningSocketsAllFour(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"tcp", "tcp6", "udp", "udp6"} {
		files[n] = string(readFixture(t, "net/"+n))
	}
	got, err := netTree(t, files).ListeningSockets()
	if err != nil {
		t.Fatal(err)
	}
	want := SocketTable{10316: 8089, 10317: 8090, 1460: 2024, 10320: 8091, 10321: 8092,
		10324: 9001, 10325: 9002, 10329: 9004, 10327: 9003}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestListeningSocketsErrors(t *testing.T) {
	tcp, udp := string(readFixture(t, "net/tcp")), string(readFixture(t, "net/udp"))
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
		notExit bool
	}{
		{"tcp missing", map[string]string{"udp": udp}, "net/tcp", true},
		{"udp missing", map[string]string{"tcp": tcp}, "net/udp", true},
		{"tcp6 garbled", map[string]string{"tcp": tcp, "udp": udp, "tcp6": tcpHeader + "x\n"}, "parse ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := netTree(t, tt.files).ListeningSockets()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExit {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = %v", err, got)
			}
		})
	}
}
