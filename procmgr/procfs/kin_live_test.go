package procfs

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"
)

// TestLiveAllKinAgreesWithStatFiles: what the pidfds say of a process is
// what its stat and status files say, for processes in their own group,
// in their own session, and run by another user.
func TestLiveAllKinAgreesWithStatFiles(t *testing.T) {
	if _, err := Default.AllKin(); errors.Is(err, ErrNoPidfdInfo) {
		t.Skipf("kernel without PIDFD_GET_INFO (Linux 6.13): %v", err)
	}
	children := []int{
		startChild(t, &syscall.SysProcAttr{Setpgid: true}, "sleep", "30").Process.Pid,
		startChild(t, &syscall.SysProcAttr{Setsid: true}, "sleep", "30").Process.Pid,
		startChild(t, nil, "sleep", "30").Process.Pid, // in the test's group
	}
	if os.Getuid() == 0 {
		children = append(children, startChild(t,
			&syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}, "sleep", "30").Process.Pid)
	} else {
		t.Log("not root: no child run as another user")
	}
	kin, err := Default.AllKin()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(kin, func(a, b Kin) int { return a.PID - b.PID }) {
		t.Error("AllKin is not sorted by pid")
	}
	for _, pid := range append([]int{1, os.Getpid()}, children...) {
		i := slices.IndexFunc(kin, func(k Kin) bool { return k.PID == pid })
		if i < 0 {
			t.Errorf("AllKin lacks pid %d", pid)
			continue
		}
		st, err := Default.Stat(pid)
		if err != nil {
			t.Fatal(err)
		}
		uid, err := Default.RealUID(pid)
		if err != nil {
			t.Fatal(err)
		}
		want := Kin{PID: pid, PPID: st.PPID, PGRP: st.PGRP, RUID: uid}
		if kin[i] != want {
			t.Errorf("AllKin says %+v; stat and status say %+v", kin[i], want)
		}
	}
}

func TestAllKinNeedsTheHostsProc(t *testing.T) {
	if _, err := fixtureFS.AllKin(); !errors.Is(err, ErrNoPidfdInfo) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("AllKin on a fixture tree: %v, want ErrNoPidfdInfo", err)
	}
}

func TestKinOf(t *testing.T) {
	got := KinOf([]Stat{{PID: 7, PPID: 1, PGRP: 7, State: 'S'}})
	if want := []Kin{{PID: 7, PPID: 1, PGRP: 7, RUID: -1}}; !slices.Equal(got, want) {
		t.Errorf("KinOf = %+v, want %+v", got, want)
	}
}
