package cgroup

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Host is what Resolve needs to know of the machine, read by ReadHost on
// Linux and given by hand in tests.
type Host struct {
	MountInfo  []byte // /proc/self/mountinfo
	SelfCgroup []byte // /proc/self/cgroup
	// Systemd says the agent runs as a systemd service: systemd is PID 1,
	// or $INVOCATION_ID or $NOTIFY_SOCKET is set.
	Systemd bool
}

// Plan is where the agent's cgroups go. Root is "" when cgroups are off,
// and Reason then says why.
type Plan struct {
	Root   string // the agent's root cgroup directory
	Mount  string // the cgroup2 mount point holding it
	Self   string // the directory of the agent's own cgroup ("" if not visible)
	Reason string // why cgroups are off, or a note on the choice
	// MountRoot is the cgroup mounted at Mount ("/": the whole
	// hierarchy), named as /proc/PID/cgroup names cgroups.
	MountRoot string
}

// Resolve turns the config's `cgroup` setting into a Plan:
//   - "off": none.
//   - "auto" (or ""): the first cgroup2 mount that is not read-only; under
//     systemd with the agent in a ".service" cgroup, that cgroup itself
//     (the unit must say Delegate=yes); else <mount>/ocp-agent. No usable
//     cgroup2 is not an error: the plan is off, with the reason.
//   - an absolute path: it must be under a cgroup2 mount, else an error.
func Resolve(setting string, h Host) (Plan, error) {
	switch {
	case setting == "off":
		return Plan{Reason: "cgroup: off in the config"}, nil
	case setting == "auto" || setting == "":
	case filepath.IsAbs(setting):
		return resolvePath(filepath.Clean(setting), h)
	default:
		return Plan{}, fmt.Errorf("cgroup %q: want auto, off or an absolute path under a cgroup2 mount", short(setting))
	}
	ms, err := ParseMountInfo(h.MountInfo)
	if err != nil {
		return Plan{Reason: err.Error()}, nil
	}
	var m *Mount
	for i := range ms {
		if ms[i].FSType == "cgroup2" {
			if ms[i].ReadOnly() {
				if m == nil {
					err = fmt.Errorf("cgroup2 at %s is mounted read-only", ms[i].Point)
				}
				continue
			}
			m = &ms[i]
			break
		}
	}
	if m == nil {
		if err == nil {
			err = fmt.Errorf("no cgroup2 mount (a cgroup v1 host)")
		}
		return Plan{Reason: err.Error()}, nil
	}
	p := Plan{Mount: m.Point, MountRoot: m.Root, Self: selfDir(*m, h.SelfCgroup)}
	if h.Systemd && strings.HasSuffix(p.Self, ".service") {
		p.Root = p.Self
		p.Reason = "the agent's own systemd service cgroup (Delegate=yes)"
		return p, nil
	}
	p.Root = filepath.Join(m.Point, "ocp-agent")
	return p, nil
}

func resolvePath(dir string, h Host) (Plan, error) {
	ms, err := ParseMountInfo(h.MountInfo)
	if err != nil {
		return Plan{}, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	var best *Mount
	for i := range ms {
		m := &ms[i]
		if under(dir, m.Point) && (best == nil || len(m.Point) >= len(best.Point)) {
			best = m
		}
	}
	if best == nil || best.FSType != "cgroup2" {
		return Plan{}, fmt.Errorf("cgroup %s: not under a cgroup2 mount", dir)
	}
	if best.ReadOnly() {
		return Plan{}, fmt.Errorf("cgroup %s: cgroup2 at %s is mounted read-only", dir, best.Point)
	}
	if dir == best.Point {
		return Plan{}, fmt.Errorf("cgroup %s: is the cgroup2 root itself; name a directory below it", dir)
	}
	return Plan{Root: dir, Mount: best.Point, MountRoot: best.Root, Self: selfDir(*best, h.SelfCgroup)}, nil
}

// selfDir is the directory of the agent's own cgroup in mount m, or ""
// when it is not visible there.
func selfDir(m Mount, selfCgroup []byte) string {
	p, err := ParseSelfCgroup(selfCgroup)
	if err != nil {
		return ""
	}
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(m.Root, "/"))
	if !ok || rel != "" && rel[0] != '/' {
		return ""
	}
	return filepath.Join(m.Point, rel)
}

// procPath is how /proc/PID/cgroup names the cgroup of directory dir,
// which is under the mount of p; "" when it cannot say.
func procPath(p Plan, dir string) string {
	rel, ok := strings.CutPrefix(dir, strings.TrimSuffix(p.Mount, "/"))
	if !ok || p.MountRoot == "" || rel != "" && rel[0] != '/' {
		return ""
	}
	return path.Join(p.MountRoot, rel)
}

// under says whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
