package procfs

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
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

// TestKinErr: which failures of a pidfd query drop the process (gone),
// turn the fast path off for good (the kernel or its policy never
// answers), or only fail this listing (passing trouble), which must not
// be taken for a gone process: that would lose its place in the tree.
func TestKinErr(t *testing.T) {
	tests := []struct {
		err         error
		unsupported []unix.Errno
		gone, never bool
	}{
		{unix.ESRCH, nil, true, false},
		{unix.ENOSYS, nil, false, true},
		{unix.EPERM, nil, false, true}, // seccomp, an LSM
		{unix.EACCES, nil, false, true},
		{unix.ENOTTY, []unix.Errno{unix.ENOTTY, unix.EINVAL}, false, true},
		{unix.EINVAL, []unix.Errno{unix.ENOTTY, unix.EINVAL}, false, true},
		{unix.EINVAL, nil, false, false},
		{unix.EMFILE, nil, false, false},
		{unix.ENOMEM, nil, false, false},
	}
	for _, tt := range tests {
		got := kinErr(tt.err, tt.unsupported...)
		if gone := errors.Is(got, errProcessGone); gone != tt.gone {
			t.Errorf("kinErr(%v, %v) = %v: gone %v, want %v", tt.err, tt.unsupported, got, gone, tt.gone)
		}
		if never := errors.Is(got, ErrNoPidfdInfo); never != tt.never {
			t.Errorf("kinErr(%v, %v) = %v: unsupported %v, want %v", tt.err, tt.unsupported, got, never, tt.never)
		}
	}
}

// TestKinOfOutOfFds: with no fd to spare, kinOf fails with the reason,
// not as if the process were gone.
func TestKinOfOutOfFds(t *testing.T) {
	if _, err := Default.AllKin(); errors.Is(err, ErrNoPidfdInfo) {
		t.Skipf("kernel without PIDFD_GET_INFO (Linux 6.13): %v", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 3 // below the fds the test process holds: no new fd fits
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	_, err := kinOf(os.Getpid())
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, unix.EMFILE) || errors.Is(err, errProcessGone) || errors.Is(err, ErrNoPidfdInfo) {
		t.Errorf("kinOf out of fds: %v, want EMFILE, neither gone nor unsupported", err)
	}
	if _, err := Default.AllKin(); err != nil {
		t.Errorf("AllKin once fds are back: %v (the fast path must not be off for good)", err)
	}
}
