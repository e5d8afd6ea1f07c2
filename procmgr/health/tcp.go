package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
)

// TCP passes when a TCP connection to Addr (host:port) is accepted. It
// shows that the program listens and its accept queue is not full, which
// is all a connect can show; the connection is closed at once.
type TCP struct {
	Addr string
}

var _ Check = TCP{}

func (c TCP) String() string { return "tcp " + c.Addr }

// Check connects to c.Addr and closes the connection. An address of
// numbers (the usual 127.0.0.1:port) takes the cheap way (connect); a
// host name, or an IPv6 address with a zone, is dialled by the net
// package.
func (c TCP) Check(ctx context.Context) error {
	if ap, err := netip.ParseAddrPort(c.Addr); err == nil && ap.Addr().Zone() == "" {
		if err := connect(ctx, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())); err != nil {
			return bareNetError(err)
		}
		return nil
	}
	return dial(ctx, c.Addr)
}

// dial connects to addr through the net package and closes the
// connection. Apart from Check, whose frame its Dialer would swell (see
// awaitConnect).
//
//go:noinline
func dial(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return bareNetError(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, as connect's close (see reset)
	}
	return conn.Close()
}

// bareNetError strips a dial error down to the system's reason ("connection
// refused"): the address is in the check's name already.
func bareNetError(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}
