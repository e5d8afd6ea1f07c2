package cgroup

import (
	"errors"
	"strings"
	"testing"
)

const (
	hybridMounts = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	unifiedMounts = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	v1Mounts = `31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
`
	roMounts = `35 24 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
`
	escapedMounts = `50 24 0:40 / /mnt/my\040cgroup\134x rw,relatime - cgroup2 none rw
`
)

func TestParseMountInfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []Mount
		wantErr string
	}{
		{"hybrid", hybridMounts, []Mount{
			{"/", "/sys/fs/cgroup", "rw,relatime", "tmpfs", "rw,mode=755"},
			{"/", "/sys/fs/cgroup/cpu", "rw,relatime", "cgroup", "rw,cpu"},
			{"/", "/sys/fs/cgroup/systemd", "rw,relatime", "cgroup", "rw,name=systemd"},
			{"/", "/sys/fs/cgroup/unified", "rw,relatime", "cgroup2", "rw"}}, ""},
		{"unified with optional fields", unifiedMounts, []Mount{
			{"/", "/", "rw,relatime", "ext4", "rw"},
			{"/", "/sys/fs/cgroup", "rw,nosuid,nodev,noexec,relatime", "cgroup2", "rw,nsdelegate,memory_recursiveprot"}}, ""},
		{"escaped point", escapedMounts, []Mount{{"/", `/mnt/my cgroup\x`, "rw,relatime", "cgroup2", "rw"}}, ""},
		{"empty", "", nil, ""},
		{"no separator", "1 2 3:4 / /x rw shared:1 ext4 /dev/x rw\n", nil, "line 1"},
		{"short after separator", "1 2 3:4 / /x rw - ext4\n", nil, "line 1"},
		{"bad escape", "1 2 3:4 / /x\\04 rw - ext4 a rw\n", nil, "three octal digits"},
		{"escape too large", "1 2 3:4 / /x\\777 rw - ext4 a rw\n", nil, "above"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMountInfo([]byte(tc.in))
			if !wantErr(t, err, tc.wantErr) {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("mount %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func FuzzParseMountInfo(f *testing.F) {
	for _, s := range []string{hybridMounts, unifiedMounts, escapedMounts, "1 2 3 / /\\ - a", "\\\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMountInfo(b)
		if err != nil && ms != nil {
			t.Fatalf("mounts with an error: %v", err)
		}
		for _, m := range ms {
			if m.FSType == "" || m.Point == "" {
				t.Fatalf("empty field in %+v", m)
			}
		}
	})
}

func TestParseSelfCgroup(t *testing.T) {
	for _, tc := range []struct{ in, want, wantErr string }{
		{"4:memory:/x\n0::/\n", "/", ""},
		{"0::/system.slice/ocp-agent.service\n", "/system.slice/ocp-agent.service", ""},
		{"1:cpu:/\n", "", "cgroup v1 only"},
		{"0::relative\n", "", "not absolute"},
	} {
		got, err := ParseSelfCgroup([]byte(tc.in))
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) || got != tc.want {
			t.Errorf("%q: %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestResolve(t *testing.T) {
	const svc = "0::/system.slice/ocp-agent.service\n"
	for _, tc := range []struct {
		name, setting, mounts, self string
		systemd                     bool
		wantRoot, wantReason        string
		wantErr                     string
	}{
		{"hybrid auto", "auto", hybridMounts, "0::/\n", false, "/sys/fs/cgroup/unified/ocp-agent", "", ""},
		{"empty is auto", "", unifiedMounts, "0::/\n", false, "/sys/fs/cgroup/ocp-agent", "", ""},
		{"systemd service", "auto", unifiedMounts, svc, true, "/sys/fs/cgroup/system.slice/ocp-agent.service", "Delegate=yes", ""},
		{"service cgroup without systemd", "auto", unifiedMounts, svc, false, "/sys/fs/cgroup/ocp-agent", "", ""},
		{"systemd, not a service", "auto", unifiedMounts, "0::/user.slice/session-1.scope\n", true, "/sys/fs/cgroup/ocp-agent", "", ""},
		{"v1 only", "auto", v1Mounts, "1:cpu:/\n", false, "", "no cgroup2 mount", ""},
		{"read-only", "auto", roMounts, "0::/\n", false, "", "read-only", ""},
		{"off", "off", unifiedMounts, "0::/\n", false, "", "off in the config", ""},
		{"path", "/sys/fs/cgroup/unified/x/", hybridMounts, "0::/\n", false, "/sys/fs/cgroup/unified/x", "", ""},
		{"path on v1", "/sys/fs/cgroup/cpu/x", hybridMounts, "0::/\n", false, "", "", "not under a cgroup2 mount"},
		{"path on tmpfs", "/sys/fs/cgroup/x", hybridMounts, "0::/\n", false, "", "", "not under a cgroup2 mount"},
		{"mount root itself", "/sys/fs/cgroup", unifiedMounts, "0::/\n", false, "", "", "root itself"},
		{"path read-only", "/sys/fs/cgroup/x", roMounts, "0::/\n", false, "", "", "read-only"},
		{"bad setting", "yes", unifiedMounts, "0::/\n", false, "", "", "want auto, off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Resolve(tc.setting, Host{MountInfo: []byte(tc.mounts), SelfCgroup: []byte(tc.self), Systemd: tc.systemd})
			if !wantErr(t, err, tc.wantErr) {
				return
			}
			if p.Root != tc.wantRoot || !strings.Contains(p.Reason, tc.wantReason) {
				t.Errorf("plan %+v, want root %q, reason with %q", p, tc.wantRoot, tc.wantReason)
			}
		})
	}
}

// TestProcPath: a cgroup directory as /proc/PID/cgroup names it, through
// the mount holding it.
func TestProcPath(t *testing.T) {
	p, err := Resolve("auto", Host{MountInfo: []byte(hybridMounts), SelfCgroup: []byte("0::/\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := procPath(p, p.Root+"/web"); got != "/ocp-agent/web" {
		t.Errorf("hybrid auto: %q, want /ocp-agent/web", got)
	}
	for _, tc := range []struct {
		name, mount, mountRoot, dir, want string
	}{
		{"whole hierarchy", "/sys/fs/cgroup", "/", "/sys/fs/cgroup/ocp-agent/web", "/ocp-agent/web"},
		{"part of it mounted", "/sys/fs/cgroup", "/kubepods/pod1", "/sys/fs/cgroup/ocp-agent/web", "/kubepods/pod1/ocp-agent/web"},
		{"mount point with a slash", "/sys/fs/cgroup/", "/", "/sys/fs/cgroup/ocp-agent", "/ocp-agent"},
		{"not under the mount", "/sys/fs/cgroup/unified", "/", "/sys/fs/cgroup/unifiedx/web", ""},
		{"mount root unknown", "/sys/fs/cgroup", "", "/sys/fs/cgroup/ocp-agent", ""},
	} {
		if got := procPath(Plan{Mount: tc.mount, MountRoot: tc.mountRoot}, tc.dir); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDirName(t *testing.T) {
	for _, tc := range []struct{ alias, dir string }{
		{"obstat2", "obstat2"}, {"ob.proxy", "ob.proxy"}, {"memory.x", "_memory.x"},
		{"cgroup.procs", "_cgroup.procs"}, {"cpu-hog", "cpu-hog"}, {"1a", "1a"},
		{"", ""}, {"_x", ""}, {"ocp_agentd", ""}, {"a/b", ""}, {"..", ""}, {strings.Repeat("a", 65), ""},
	} {
		d, err := DirName(tc.alias)
		if d != tc.dir || (err == nil) != (tc.dir != "") {
			t.Errorf("DirName(%q) = %q, %v; want %q", tc.alias, d, err, tc.dir)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadAlias) {
				t.Errorf("DirName(%q): %v is not ErrBadAlias", tc.alias, err)
			}
			continue
		}
		if a, ok := AliasOf(d); !ok || a != tc.alias {
			t.Errorf("AliasOf(%q) = %q, %v; want %q", d, a, ok, tc.alias)
		}
	}
	for _, d := range []string{AgentLeaf, "_obstat2", "memory.x", "cgroup.procs", "x/y"} {
		if a, ok := AliasOf(d); ok {
			t.Errorf("AliasOf(%q) = %q, want none", d, a)
		}
	}
}

func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"", 0, true}, {"2G", 2 << 30, true}, {"512m", 512 << 20, true}, {"1024", 1024, true}, {"1T", 1 << 40, true},
		{"0", 0, false}, {"G", 0, false}, {"-1G", 0, false}, {"+1G", 0, false}, {"1.5G", 0, false}, {"2GB", 0, false},
		{"99999999999999999999", 0, false}, {"20000000000T", 0, false},
	} {
		got, err := ParseMemoryMax(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseMemoryMax(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"200000 100000", "200000 100000"}, {"50000", "50000 100000"}, {" 1000  1000 ", "1000 1000"},
		{"999 100000", "!"}, {"1000 999", "!"}, {"1000 1000001", "!"}, {"max 100000", "!"}, {"1 2 3", "!"}, {"-5", "!"},
	} {
		got, err := ParseCPUMax(tc.in)
		if tc.want == "!" {
			if err == nil || !strings.Contains(err.Error(), "cpu_max") {
				t.Errorf("ParseCPUMax(%q) = %q, %v; want an error", tc.in, got, err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("ParseCPUMax(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseMemoryMax(f *testing.F) {
	for _, s := range []string{"2G", "1", "", "18446744073709551615", "16777216T"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMemoryMax(s)
		if err == nil && s != "" && n == 0 {
			t.Fatalf("%q: 0 without an error", s)
		}
	})
}

// wantErr fails t unless err contains want ("" for no error), and says
// whether there is a result to check.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" && err != nil {
		t.Fatal(err)
	}
	if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	return want == ""
}
