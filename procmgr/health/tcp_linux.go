package health

import (
	"context"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// connect opens a TCP connection to ap and closes it, returning the
// system's error (connection refused) or ctx's.
//
// It is the check's cost, paid by every managed process every interval,
// so it is made of the fewest system calls that keep a thread free: a
// non-blocking connect, then a poll that asks without waiting whether the
// handshake is over, which on loopback it nearly always is (the kernel
// answers the SYN before connect returns). Only a handshake still on its
// way waits, in the runtime's poller like any Go socket. Half as much CPU
// as net.Dialer, which sets options, registers the socket with the poller
// and asks for both addresses, for every check.
func connect(ctx context.Context, ap netip.AddrPort) error {
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	switch err := unix.Connect(fd, sa); err {
	case nil:
		reset(fd)
		return nil
	case unix.EINPROGRESS:
	default:
		unix.Close(fd)
		return err
	}
	if connected(fd) {
		err := soError(fd)
		if err == nil {
			reset(fd)
		} else {
			unix.Close(fd)
		}
		return err
	}
	return awaitConnect(ctx, fd)
}

// awaitConnect waits in the runtime's poller for the connect on fd to
// finish, or for ctx to end; it owns fd. Apart from connect, whose frame
// it would swell: a check runs on a new goroutine, whose first stack a
// deep frame would make the runtime copy to a larger one, every check.
//
//go:noinline
func awaitConnect(ctx context.Context, fd int) error {
	// A non-blocking fd given to os.NewFile joins the runtime's poller;
	// the file owns it from here.
	f := os.NewFile(uintptr(fd), "tcp check")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	// Only ctx ends the wait, so that a timeout is ctx's (health.Run
	// tells it by its cause): a deadline in the past wakes the wait.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var soErr error
	werr := rc.Write(func(fd uintptr) bool {
		if !connected(int(fd)) {
			return false
		}
		soErr = soError(int(fd))
		return true
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr != nil {
		return werr
	}
	if soErr == nil {
		// As reset does, before f's Close.
		_ = rc.Control(func(fd uintptr) { setLingerZero(int(fd)) })
	}
	return soErr
}

// reset closes fd's established connection with a reset rather than the
// orderly close: no FIN exchange, and no socket left in TIME_WAIT on the
// host for a minute after each check (with 100 processes checked every
// 10 s, 600 of them at any time). Load balancers' TCP checks close the
// same way; a server sees the reset after its accept, as it would a
// client gone.
func reset(fd int) {
	setLingerZero(fd)
	unix.Close(fd)
}

// setLingerZero makes fd's close send a reset.
func setLingerZero(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// connected says, without waiting, whether fd's connect is over (done or
// failed).
func connected(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0
}

// soError is the outcome of fd's finished connect.
func soError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}
