package procfs

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets check that the parsers never panic and that they agree
// with straightforward reference parsers built on strings and strconv.

// addSeeds adds every file of testdata/<dir> to the corpus.
func addSeeds(f *testing.F, dir string) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func isSep(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }

func refID(s string) (int, bool) {
	v, err := strconv.ParseUint(s, 10, 64)
	return int(v), err == nil && v <= math.MaxInt
}

func refParseStat(s string) (Stat, bool) {
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return Stat{}, false
	}
	pidStr, ok := strings.CutSuffix(s[:i], " ")
	if !ok || !strings.HasPrefix(s[j+1:], " ") {
		return Stat{}, false
	}
	f := strings.FieldsFunc(s[j+1:], isSep)
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, false
	}
	var st Stat
	var ok1, ok2, ok3, ok4 bool
	st.PID, ok1 = refID(pidStr)
	st.PPID, ok2 = refID(f[1])
	st.PGRP, ok3 = refID(f[2])
	st.Session, ok4 = refID(f[3])
	start, err := strconv.ParseUint(f[19], 10, 64)
	if !ok1 || !ok2 || !ok3 || !ok4 || err != nil || st.PID == 0 {
		return Stat{}, false
	}
	st.Comm, st.State, st.StartTicks = s[i+1:j], f[0][0], start
	return st, true
}

// formatStat writes s as the kernel would, with zeros in the fields
// ParseStat ignores.
func formatStat(s Stat) []byte {
	b := fmt.Appendf(nil, "%d (%s) ", s.PID, s.Comm)
	b = append(b, s.State) // a byte, not a rune: %c would encode 0x80-0xff in UTF-8
	return fmt.Appendf(b, " %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n",
		s.PPID, s.PGRP, s.Session, s.StartTicks)
}

func FuzzParseStat(f *testing.F) {
	addSeeds(f, "stat")
	f.Add([]byte("1 () S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Add([]byte("1 ((((((((((( ) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseStat(b)
		want, ok := refParseStat(string(b))
		if (err == nil) != ok || got != want {
			t.Fatalf("ParseStat = %+v, %v; reference = %+v, %v", got, err, want, ok)
		}
		if err != nil {
			return
		}
		if got.State == ' ' || got.State == '\t' || got.State == '\n' {
			return // a separator cannot be written back as the state
		}
		again, err := ParseStat(formatStat(got))
		if err != nil || again != got {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, got)
		}
	})
}

func refPort(s string) (uint16, bool) {
	addr, port, ok := strings.Cut(s, ":")
	if !ok || len(addr) != 8 && len(addr) != 32 || len(port) != 4 ||
		strings.Trim(addr, "0123456789abcdefABCDEF") != "" {
		return 0, false
	}
	p, err := strconv.ParseUint(port, 16, 16)
	return uint16(p), err == nil
}

func refParseNet(s string, udp bool) (SocketTable, bool) {
	t := SocketTable{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.FieldsFunc(line, isSep)
		if len(f) == 0 || f[0] == "sl" {
			continue
		}
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			return nil, false
		}
		local, ok1 := refPort(f[1])
		remote, ok2 := refPort(f[2])
		st, err1 := strconv.ParseUint(f[3], 16, 8)
		ino, err2 := strconv.ParseUint(f[9], 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return nil, false
		}
		keep := st == 0x0A
		if udp {
			keep = st == 0x07 && remote == 0 && local != 0
		}
		if keep && ino != 0 {
			t[ino] = local
		}
	}
	return t, true
}

func fuzzNet(f *testing.F, parse func([]byte, SocketTable) error, udp bool) {
	addSeeds(f, "net")
	f.Add([]byte(tcpHeader + tcpListen))
	f.Add([]byte(udpHeader + udpLine))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := SocketTable{}
		err := parse(b, got)
		want, ok := refParseNet(string(b), udp)
		if (err == nil) != ok {
			t.Fatalf("error %v; reference ok = %v", err, ok)
		}
		if ok && !maps.Equal(got, want) {
			t.Fatalf("got %v; reference %v", got, want)
		}
	})
}

func FuzzParseNetTCP(f *testing.F) { fuzzNet(f, ParseNetTCP, false) }

func FuzzParseNetUDP(f *testing.F) { fuzzNet(f, ParseNetUDP, true) }
